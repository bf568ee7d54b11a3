"""Numscript for the fake Ledger: the one program shape the orchestration sends, compiled as the Ledger compiles it.

The orchestration only ever sends (FLOWS-2026 §21.1)

    send [<ASSET> <AMOUNT>] (
      source = @<a> allowing unbounded overdraft
      destination = @<b>
    )

with or without the overdraft clause. `compile_send` turns such a text into a `Send`, or raises `CompilationFailed`
with the message the Ledger's 400 `COMPILATION_FAILED` answer carries.

Checked against formancehq/ledger v2.2.x (the release whose other messages the fake uses; the default, machine
interpreter — the experimental `numscript` interpreter answers `INTERPRETER_PARSE` instead):

* tokens: the lexer rules of internal/machine/script/NumScript.g4, with ANTLR's longest match, first rule on ties,
  and its error recovery (`token recognition error at: '…'`, one character skipped after the failing one). So
  newlines are tokens (`[\\r\\n]+`): the statement must span lines, and a blank line holding spaces between the
  `source` and `destination` lines is a syntax error, as in the Ledger; a `//` comment swallows its newline;
* the statement: `send <monetary> ( NEWLINE source = … NEWLINE destination = … NEWLINE )`, the two lines in either
  order; `@world allowing unbounded overdraft` and the compiler's type errors (asset/monetary/account) worded as
  internal/machine/script/compiler/{compiler,source,destination}.go word them;
* the message: controller_default.go `failed to compile script: %w`, errors.go `compilation error: %s`, the
  log processor's `unexpected error while forging log: %w`, and compiler/error.go `CompileErrorList.Error()`
  rendered exactly, including the logrusorgru/aurora v2.0.3 colour codes it always emits (ESC[31m red, ESC[34m
  blue, ESC[90m grey);
* `vars` given in the request for a program declaring none: `extraneous variable $<name>` (program.go).

Approximated:

* parser error texts use ANTLR's wording (`no viable alternative at input …`, `missing X at …`, `extraneous
  input … expecting X`, `mismatched input … expecting X`) but the expected sets and the choice between them are
  worked out for this one statement only, and only the first parser error is listed (ANTLR's recovery may add
  more); lexer errors are all listed;
* Numscript the Ledger would run but this fake does not (vars blocks, several statements, allotments, `max`,
  `kept`, `allowing overdraft up to`, arithmetic, variables) is refused the same way, with a message starting
  `fake stack:` at the first such token;
* account and asset literals are then checked against the fake's `_ADDRESS`/`_ASSET` patterns (the Ledger's lexer
  allows `-` in addresses and any `[A-Z/0-9]+` asset; its compiler checks neither); a mismatch is a compilation
  failure worded like machine.ValidateAccountAddress/ValidateAsset;
* columns and slices count code points where the Go code mixes runes and bytes (differs for non-ASCII only).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

# -- result and failure ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """The one posting a compiled program makes: `amount` of `asset` from `source` to `destination`."""

    asset: str
    amount: int
    source: str
    destination: str
    unbounded: bool  # `allowing unbounded overdraft` on the source


class CompilationFailed(Exception):
    """The program does not compile; `message` is the Ledger's errorMessage for it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_PREFIX = "unexpected error while forging log: failed to compile script: compilation error: "
_VARS_PREFIX = "unexpected error while forging log: failed to execute program: failed to set vars from JSON: "


def check_vars(variables: dict[str, object]) -> None:
    """The programs here declare no variable, so any given one is extraneous (the Ledger names one of them)."""
    if variables:
        raise CompilationFailed(f"{_VARS_PREFIX}extraneous variable ${sorted(variables)[0]}")


# -- tokens ----------------------------------------------------------------------------------------------------

# Token names as the grammar's literal/symbolic names display them in ANTLR messages.
STAR, UP_TO, UNBOUNDED, COMMA = "'*'", "'allowing overdraft up to'", "'allowing unbounded overdraft'", "','"
NEWLINE, WS, COMMENT, LINE_COMMENT = "NEWLINE", "WHITESPACE", "MULTILINE_COMMENT", "LINE_COMMENT"
VARS, META, SET_TX_META, SET_ACCOUNT_META = "'vars'", "'meta'", "'set_tx_meta'", "'set_account_meta'"
PRINT, FAIL, SEND, SOURCE, FROM, MAX = "'print'", "'fail'", "'send'", "'source'", "'from'", "'max'"
DESTINATION, TO, ALLOCATE, OP_ADD, OP_SUB = "'destination'", "'to'", "'allocate'", "'+'", "'-'"
LPAREN, RPAREN, LBRACK, RBRACK, LBRACE, RBRACE, EQ = "'('", "')'", "'['", "']'", "'{'", "'}'", "'='"
STRING, PORTION, REMAINING, KEPT, BALANCE, SAVE = "STRING", "PORTION", "'remaining'", "'kept'", "'balance'", "'save'"
NUMBER, PERCENT, VARIABLE, ACCOUNT, ASSET, EOF = "NUMBER", "'%'", "VARIABLE_NAME", "ACCOUNT", "ASSET", "<EOF>"

_KEYWORDS = ["vars", "meta", "set_tx_meta", "set_account_meta", "print", "fail", "send", "source", "from", "max",
             "destination", "to", "allocate", "+", "-", "(", ")", "[", "]", "{", "}", "=", "account", "asset",
             "number", "monetary", "portion", "string"]
_LITERALS = {ASSET: "asset", NUMBER: "number", ACCOUNT: "account", STRING: "string", PORTION: "portion"}
_STATEMENTS = {VARS, SET_TX_META, SET_ACCOUNT_META, PRINT, FAIL, SEND, SAVE}
_SKIPPED = {WS, COMMENT, LINE_COMMENT}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    line: int
    col: int
    start: int  # offset in the source


Scan = Callable[[str, int], tuple[int, int]]  # (length of the longest match or -1, length of the longest live prefix)


def _literal(word: str) -> Scan:
    def scan(s: str, i: int) -> tuple[int, int]:
        k = 0
        while k < len(word) and i + k < len(s) and s[i + k] == word[k]:
            k += 1
        return (k if k == len(word) else -1), k
    return scan


def _count(s: str, i: int, chars: str) -> int:
    j = i
    while j < len(s) and s[j] in chars:
        j += 1
    return j - i


def _run(chars: str) -> Scan:
    def scan(s: str, i: int) -> tuple[int, int]:
        n = _count(s, i, chars)
        return (n or -1), n
    return scan


_DIGITS = "0123456789"
_SEGMENT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"


def _comment(s: str, i: int) -> tuple[int, int]:
    """MULTILINE_COMMENT: `/*` … `*/`, nested (ANTLR matches the nested alternative, the longer one)."""
    if not s.startswith("/*", i):
        return -1, 1 if s.startswith("/", i) else 0
    depth, j = 1, i + 2
    while j < len(s):
        if s.startswith("/*", j):
            depth, j = depth + 1, j + 2
        elif s.startswith("*/", j):
            depth, j = depth - 1, j + 2
            if depth == 0:
                return j - i, j - i
        else:
            j += 1
    return -1, len(s) - i


def _line_comment(s: str, i: int) -> tuple[int, int]:
    """LINE_COMMENT: `//` up to and including the newline(s) after it; none before the end → no token."""
    if not s.startswith("//", i):
        return -1, 1 if s.startswith("/", i) else 0
    j = i + 2
    while j < len(s) and s[j] not in "\r\n":
        j += 1
    if j == len(s):
        return -1, j - i
    j += _count(s, j, "\r\n")
    return j - i, j - i


def _string(s: str, i: int) -> tuple[int, int]:
    """STRING: `"` ( `\\"` | ~[\\r\\n"] )* `"` — a quote after a backslash may be either escaped or closing."""
    if not s.startswith('"', i):
        return -1, 0
    best, j = -1, i + 1
    while j < len(s) and s[j] not in "\r\n":
        if s[j] == '"':
            best = j + 1 - i
            if s[j - 1] != "\\" or j - 1 == i:
                return best, best
        j += 1
    return best, j - i


def _portion(s: str, i: int) -> tuple[int, int]:
    """PORTION: digits ` `? `/` ` `? digits | digits (`.` digits)? `%`."""
    d = _count(s, i, _DIGITS)
    if not d:
        return -1, 0
    best, live = -1, d
    j = i + d + (1 if s.startswith(" ", i + d) else 0)
    if s.startswith("/", j):
        j += 1 + (1 if s.startswith(" ", j + 1) else 0)
        tail = _count(s, j, _DIGITS)
        live = max(live, j + tail - i)
        best = j + tail - i if tail else best
    elif j > i + d:
        live = max(live, j - i)
    j = i + d
    if s.startswith(".", j):
        tail = _count(s, j + 1, _DIGITS)
        j = j + 1 + tail
        live = max(live, j - i)
        if tail and s.startswith("%", j):
            best = max(best, j + 1 - i)
            live = max(live, j + 1 - i)
    elif s.startswith("%", j):
        best = max(best, j + 1 - i)
        live = max(live, j + 1 - i)
    return best, live


def _variable(s: str, i: int) -> tuple[int, int]:
    """VARIABLE_NAME: `$` [a-z_]+ [a-z0-9_]*."""
    if not s.startswith("$", i):
        return -1, 0
    if not s[i + 1:i + 2] or s[i + 1] not in "abcdefghijklmnopqrstuvwxyz_":
        return -1, 1
    n = 1 + _count(s, i + 1, "abcdefghijklmnopqrstuvwxyz0123456789_")
    return n, n


def _account(s: str, i: int) -> tuple[int, int]:
    """ACCOUNT: `@` [a-zA-Z0-9_-]+ (`:` [a-zA-Z0-9_-]+)*."""
    if not s.startswith("@", i):
        return -1, 0
    n = _count(s, i + 1, _SEGMENT)
    if not n:
        return -1, 1
    end = i + 1 + n
    while s.startswith(":", end):
        n = _count(s, end + 1, _SEGMENT)
        if not n:
            return end - i, end + 1 - i
        end += 1 + n
    return end - i, end - i


# In grammar order: the parser's implicit literals first, then the lexer rules as written (ties: first wins).
_RULES: list[tuple[str, Scan]] = [
    (STAR, _literal("*")), (UP_TO, _literal("allowing overdraft up to")),
    (UNBOUNDED, _literal("allowing unbounded overdraft")), (COMMA, _literal(",")),
    (NEWLINE, _run("\r\n")), (WS, _run(" \t")), (COMMENT, _comment), (LINE_COMMENT, _line_comment),
    *((f"'{word}'", _literal(word)) for word in _KEYWORDS),
    (STRING, _string), (PORTION, _portion), (REMAINING, _literal("remaining")), (KEPT, _literal("kept")),
    (BALANCE, _literal("balance")), (SAVE, _literal("save")), (NUMBER, _run(_DIGITS)), (PERCENT, _literal("%")),
    (VARIABLE, _variable), (ACCOUNT, _account), (ASSET, _run("ABCDEFGHIJKLMNOPQRSTUVWXYZ/0123456789")),
]


@dataclass(frozen=True)
class _Error:
    start_line: int
    start_col: int
    end_line: int
    end_col: int
    msg: str
    offset: int  # where in the source it was raised, to order lexer and parser errors


def _display(text: str) -> str:
    return text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def _lex(s: str) -> tuple[list[_Token], list[_Error]]:
    tokens: list[_Token] = []
    errors: list[_Error] = []
    pos, line, col = 0, 1, 0

    def advance(to: int) -> None:
        nonlocal pos, line, col
        for ch in s[pos:to]:
            line, col = (line + 1, 0) if ch == "\n" else (line, col + 1)
        pos = to

    while pos < len(s):
        kind, length, live = "", -1, 0
        for name, scan in _RULES:
            matched, alive = scan(s, pos)
            if matched > length:
                kind, length = name, matched
            live = max(live, alive)
        if length > 0:
            if kind not in _SKIPPED:
                tokens.append(_Token(kind, s[pos:pos + length], line, col, pos))
            advance(pos + length)
            continue
        # No rule matched: ANTLR reports the text up to the failing character and skips that character.
        failing = pos + live
        errors.append(_Error(line, col, line, col, f"token recognition error at: '{_display(s[pos:failing + 1])}'",
                             pos))
        advance(min(failing + 1, len(s)))
    tokens.append(_Token(EOF, "<EOF>", line, col, len(s)))
    return tokens, errors


# -- the statement ---------------------------------------------------------------------------------------------

_EXPRESSION_START = {LBRACK, STRING, PORTION, NUMBER, VARIABLE, ACCOUNT, ASSET}
_SCRIPT_START = "{NEWLINE, 'vars', 'set_tx_meta', 'set_account_meta', 'print', 'fail', 'send', 'save'}"
_UNSUPPORTED = "fake stack: only one `send [ASSET AMOUNT]` from one @account to one @account is interpreted"


class _Syntax(Exception):
    def __init__(self, error: _Error) -> None:
        super().__init__(error.msg)
        self.error = error


def _at(token: _Token, msg: str) -> _Error:
    """A parser error on a token, spanning it as ErrorListener.SyntaxError does (end column inside the token)."""
    return _Error(token.line, token.col, token.line, token.col + len(token.text) - 1, msg, token.start)


def _spanning(first: _Token, last: _Token, msg: str) -> _Error:
    """A compiler (logic) error over a parse-tree node, as compiler.LogicError spans it."""
    return _Error(first.line, first.col, last.line, last.col + len(last.text), msg, first.start)


@dataclass
class _Parsed:
    send: _Token
    mon_first: _Token
    mon_last: _Token
    asset: _Token | None  # None: the amount is a bare literal, not a monetary
    amount: _Token | None
    source: _Token
    overdraft: _Token | None
    destination: _Token
    close: _Token


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens, self.pos = tokens, 0

    def la(self, k: int = 1) -> _Token:
        return self.tokens[min(self.pos + k - 1, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.la()
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return token

    def fail(self, token: _Token, msg: str) -> _Syntax:
        return _Syntax(_at(token, msg))

    def beyond(self, token: _Token) -> _Syntax:
        return self.fail(token, _UNSUPPORTED)

    def expect(self, kind: str, follow: set[str]) -> _Token:
        """`match(kind)` with ANTLR's single-token deletion/insertion diagnosis on a mismatch."""
        token = self.la()
        if token.kind == kind:
            return self.take()
        if self.la(2).kind == kind:
            raise self.fail(token, f"extraneous input '{_display(token.text)}' expecting {kind}")
        if token.kind in follow:
            raise self.fail(token, f"missing {kind} at '{_display(token.text)}'")
        raise self.fail(token, f"mismatched input '{_display(token.text)}' expecting {kind}")

    def no_viable(self, first: int, offending: _Token) -> _Syntax:
        text = "".join(t.text for t in self.tokens[first:self.tokens.index(offending) + 1])
        if self.tokens[first].kind == EOF:
            text = "<EOF>"
        return self.fail(offending, f"no viable alternative at input '{_display(text)}'")

    def operand(self, opening: frozenset[str] = frozenset(), trailing: frozenset[str] = frozenset()) -> _Token:
        """One literal (an account, normally). Valid Numscript richer than that — variables, nested monetaries,
        arithmetic, and the `opening`/`trailing` constructs of this position — is beyond the fake."""
        token = self.la()
        if token.kind in opening | {VARIABLE, LBRACK}:
            raise self.beyond(token)
        if token.kind not in _LITERALS:
            raise self.no_viable(self.pos, token)
        self.take()
        if self.la().kind in trailing | {OP_ADD, OP_SUB}:
            raise self.beyond(self.la())
        return token

    def script(self) -> _Parsed:
        while self.la().kind == NEWLINE:
            self.take()
        first = self.la()
        if first.kind in _STATEMENTS - {SEND}:
            raise self.beyond(first)
        if first.kind != SEND:
            verb = "extraneous" if self.la(2).kind in _STATEMENTS | {NEWLINE} else "mismatched"
            raise self.fail(first, f"{verb} input '{_display(first.text)}' expecting {_SCRIPT_START}")
        parsed = self.send()
        while self.la().kind == NEWLINE:
            self.take()
            if self.la().kind in _STATEMENTS:
                raise self.beyond(self.la())
        last = self.la()
        if last.kind != EOF:
            verb = "extraneous" if self.la(2).kind in (NEWLINE, EOF) else "mismatched"
            raise self.fail(last, f"{verb} input '{_display(last.text)}' expecting {{<EOF>, NEWLINE}}")
        return parsed

    def send(self) -> _Parsed:
        send = self.take()
        mon_first = self.la()
        asset: _Token | None = None
        amount: _Token | None = None
        if mon_first.kind == LBRACK:
            # `[asset amount]` (an expression) or `[asset *]` (monetaryAll): ANTLR predicts between them, so
            # a bracket that fits neither is a "no viable alternative" over the tokens it read.
            start = self.pos
            inner = self.la(2)
            if inner.kind in (VARIABLE, LBRACK):
                raise self.beyond(inner)
            if inner.kind not in _LITERALS:
                raise self.no_viable(start, inner)
            after = self.la(3)
            if after.kind in (STAR, OP_ADD, OP_SUB):
                raise self.beyond(after)
            if after.kind != NUMBER:
                raise self.no_viable(start, after)
            for _ in range(3):
                self.take()
            asset, amount = inner, after
            mon_last = self.expect(RBRACK, {LPAREN, OP_ADD, OP_SUB})
            if self.la().kind in (OP_ADD, OP_SUB):
                raise self.beyond(self.la())
        elif mon_first.kind in {*_LITERALS, VARIABLE}:
            mon_last = self.operand()
        else:
            raise self.no_viable(self.pos, mon_first)
        self.expect(LPAREN, {NEWLINE})
        self.expect(NEWLINE, {SOURCE, DESTINATION})
        order = self.la()
        if order.kind not in (SOURCE, DESTINATION):
            raise self.no_viable(self.pos, order)
        overdraft: _Token | None = None
        if order.kind == SOURCE:
            source, overdraft = self.source_line()
            self.expect(NEWLINE, {DESTINATION})
            destination = self.destination_line()
        else:
            destination = self.destination_line()
            self.expect(NEWLINE, {SOURCE})
            source, overdraft = self.source_line()
        self.expect(NEWLINE, {RPAREN})
        close = self.expect(RPAREN, {NEWLINE, EOF})
        return _Parsed(send, mon_first, mon_last, asset, amount, source, overdraft, destination, close)

    def source_line(self) -> tuple[_Token, _Token | None]:
        self.expect(SOURCE, {EQ})
        self.expect(EQ, _EXPRESSION_START | {LBRACE, MAX})
        source = self.operand(opening=frozenset({LBRACE, MAX}), trailing=frozenset({UP_TO}))
        overdraft = self.take() if self.la().kind == UNBOUNDED else None
        return source, overdraft

    def destination_line(self) -> _Token:
        self.expect(DESTINATION, {EQ})
        self.expect(EQ, _EXPRESSION_START | {LBRACE})
        return self.operand(opening=frozenset({LBRACE}))


# -- compile ---------------------------------------------------------------------------------------------------


def compile_send(text: str, *, address: re.Pattern[str], asset: re.Pattern[str]) -> Send:
    """Compile `text` like the Ledger; `address`/`asset` are the patterns the fake Ledger accepts."""
    tokens, errors = _lex(text)
    parsed: _Parsed | None = None
    try:
        parsed = _Parser(tokens).script()
    except _Syntax as syntax:
        errors = sorted([*errors, syntax.error], key=lambda e: e.offset)
    if errors or parsed is None:
        raise CompilationFailed(_PREFIX + _render(errors, text))
    logic = _check(parsed, address, asset)
    if logic is not None:
        raise CompilationFailed(_PREFIX + _render([logic], text))
    assert parsed.asset is not None and parsed.amount is not None
    return Send(parsed.asset.text, int(parsed.amount.text), parsed.source.text[1:], parsed.destination.text[1:],
                parsed.overdraft is not None)


def _check(p: _Parsed, address: re.Pattern[str], asset: re.Pattern[str]) -> _Error | None:
    """The compiler's type checks, in its order (monetary, source, destination), then the fake's patterns."""
    if p.asset is not None and p.asset.kind != ASSET:
        return _spanning(p.mon_first, p.mon_last, f"the expression in monetary literal should be of type 'asset' "
                                                  f"instead of '{_LITERALS[p.asset.kind]}'")
    if p.asset is None:
        return _spanning(p.send, p.close, f"send monetary: the expression should be of type 'monetary' instead of "
                                          f"'{_LITERALS[p.mon_first.kind]}'")
    last = p.overdraft or p.source
    if p.source.kind != ACCOUNT:
        return _spanning(p.source, last, "wrong type: expected account or allocation as destination")
    if p.source.text == "@world" and p.overdraft is not None:
        return _spanning(p.source, last, "@world is already set to an unbounded overdraft")
    if p.destination.kind != ACCOUNT:
        return _spanning(p.destination, p.destination, "wrong type: expected account as destination")
    if not asset.match(p.asset.text):
        return _spanning(p.asset, p.asset, f"asset should respect pattern '{asset.pattern}'")
    for account in (p.source, p.destination):
        if not address.match(account.text[1:]):
            return _spanning(account, account, f"accounts should respect pattern {address.pattern}")
    return None


# -- CompileErrorList.Error() ----------------------------------------------------------------------------------

_RED, _BLUE, _GREY, _CLEAR = "\x1b[31m", "\x1b[34m", "\x1b[90m", "\x1b[0m"


def _render(errors: list[_Error], source: str) -> str:
    """internal/machine/script/compiler/error.go, line for line (aurora colours always on)."""
    lines = source.replace("\t", " ").replace("\r\n", "\n").split("\n")
    lines = [line + "\n" for line in lines[:-1]] + [lines[-1] + "\n"]
    out: list[str] = []
    for e in errors:
        pad = int(math.log10(max(e.end_line, 1))) + 1
        out.append(f"{_RED}-->{_CLEAR} error:{e.start_line}:{e.start_col}\n")
        out.append(f"{' ' * pad} {_BLUE}|{_CLEAR}\n")
        for number in range(e.start_line, e.end_line + 1):
            line = lines[min(number, len(lines)) - 1]
            before = after = ""
            start = 0
            if number == e.start_line:
                before, line, start = line[:e.start_col], line[e.start_col:], e.start_col
            if number == e.end_line:
                cut = min(e.end_col - start + 1, len(line) - 1)  # the newline stays in the grey tail
                after, line = line[max(cut, 0):], line[:max(cut, 0)]
            out.append(f"{_RED}{number:0{pad}d} | {_CLEAR}{_GREY}{before}{_CLEAR}{line}{_GREY}{after}{_CLEAR}")
        last_line = lines[min(e.end_line, len(lines)) - 1]
        start = next((i for i, ch in enumerate(last_line) if ch != " "), -1)
        span = e.end_col - start + 1
        if e.start_line == e.end_line:
            start, span = e.start_col, e.end_col - e.start_col
        span = span or 1
        out.append(f"{' ' * pad} {_BLUE}|{_CLEAR} {' ' * start}{_RED}{'^' * span}{_CLEAR} {e.msg}\n")
    return "".join(out)
