"""`compile_expr`: source text to `Program`, failing only on syntax (expr's compile step
without an environment: unknown names and functions compile, and fail, if ever, when run).

lark parses; this module bounds the input before and the tree after, and turns lark's failures
into expr's messages (`unexpected token Identifier("b")`, `unexpected token EOF`, ...).
"""

from __future__ import annotations

import functools

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ._ast import Program, deepest
from ._builder import Builder
from ._errors import STACK_EXHAUSTED, ExprError, located
from ._grammar import GRAMMAR
from ._limits import DEFAULT_LIMITS, Limits
from ._literals import LiteralError, check_number, go_quote, string_value

_BRACKETS = {"LPAR", "RPAR", "LSQB", "RSQB", "LBRACE", "RBRACE"}
_IDENTIFIERS = {"NAME", "PRED_NAME", "TRUE", "FALSE", "NIL"}
_MAP_KEY_START = {"NAME", "PRED_NAME", "TRUE", "FALSE", "NIL", "NUMBER", "STRING", "LPAR", "RBRACE"}
# The builder recurses along lark's tree, which has up to two levels per level of the AST
# (parentheses add two levels and no node, a closure's block adds a few); bounding the tree at
# twice `max_depth` keeps the builder's stack in proportion. The AST is then held to `max_depth`.
_TREE_LEVELS_PER_DEPTH = 2


class _LexFailure(Exception):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


def _checked_number(token: Token) -> Token:
    try:
        check_number(str(token))
    except LiteralError as error:
        raise _LexFailure(error.message, (token.start_pos or 0) + error.offset) from None
    return token


def _checked_string(token: Token) -> Token:
    try:
        string_value(str(token))
    except LiteralError as error:
        raise _LexFailure(error.message, (token.start_pos or 0) + error.offset) from None
    return token


def _unclosed_comment(token: Token) -> Token:
    raise _LexFailure("unclosed comment", token.end_pos or 0)


@functools.cache
def _parser() -> Lark:
    return Lark(
        GRAMMAR,
        parser="lalr",
        lexer="basic",
        maybe_placeholders=True,
        lexer_callbacks={"NUMBER": _checked_number, "STRING": _checked_string, "UNCLOSED_COMMENT": _unclosed_comment},
    )


def compile_expr(source: str, *, limits: Limits = DEFAULT_LIMITS) -> Program:
    """Compile an expression without knowledge of its environment.

    Args:
        source: The expression, in expr-lang syntax.
        limits: Bounds on the source's length and nesting.

    Returns:
        The compiled program, for `evaluate`.

    Raises:
        ExprError: The source is not a valid expression, too long or too deeply nested.
    """
    try:
        return _compile(source, limits)
    except RecursionError:  # only when called from an already deep stack: nesting is bounded
        raise ExprError(STACK_EXHAUSTED) from None


def _compile(source: str, limits: Limits) -> Program:
    if len(source) > limits.max_source_length:
        raise ExprError(f"expression too long ({len(source)} characters, at most {limits.max_source_length})")
    try:
        tree = _parser().parse(source)
    except _LexFailure as failure:
        raise located(failure.message, source, failure.offset) from None
    except UnexpectedCharacters as error:
        raise _unexpected_character(source, error) from None
    except UnexpectedToken as error:
        raise _unexpected_token(source, error) from None
    except UnexpectedInput as error:  # pragma: no cover - the LALR parser raises only the two above
        raise located("syntax error", source, error.pos_in_stream or 0) from None
    _check_tree_depth(source, tree, limits.max_depth * _TREE_LEVELS_PER_DEPTH)
    root = Builder(source, limits).build(tree)
    too_deep = deepest(root, limits.max_depth)
    if too_deep is not None:
        raise located(_too_deep(limits.max_depth), source, too_deep.pos)
    return Program(source, root)


def _too_deep(limit: int) -> str:
    return f"expression nested too deeply (more than {limit} levels)"


def _check_tree_depth(source: str, tree: Tree[Token], limit: int) -> None:
    stack: list[tuple[Tree[Token] | Token | None, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Token):
            if depth > limit:
                raise located(_too_deep(limit // _TREE_LEVELS_PER_DEPTH), source, node.start_pos or 0)
        elif isinstance(node, Tree):
            stack.extend((child, depth + 1) for child in node.children)


def _unexpected_character(source: str, error: UnexpectedCharacters) -> ExprError:
    offset = error.pos_in_stream or 0
    char = source[offset]
    if char in "\"'":
        end = source.find("\n", offset)
        return located("literal not terminated", source, end if end >= 0 else len(source))
    if char == "`":
        return located("literal not terminated", source, len(source))
    return located(f"unrecognized character: {_go_rune(char)}", source, offset)


def _go_rune(char: str) -> str:
    """`char` as Go's `%#U` shows it: `U+0040 '@'`."""
    code = f"U+{ord(char):04X}"
    return f"{code} '{char}'" if char.isprintable() else code


def _unexpected_token(source: str, error: UnexpectedToken) -> ExprError:
    token = error.token
    if token.type == "$END":
        # expr's EOF token sits on the last character.
        offset = max(len(source) - 1, 0)
        if source.rstrip().endswith(".") and not source.rstrip().endswith(".."):
            return located("unexpected end of expression", source, offset)
        return located("unexpected token EOF", source, offset)
    offset = token.start_pos or 0
    description = f"unexpected token {_describe(token)}"
    expected = set(error.expected)
    if expected <= _MAP_KEY_START and "STRING" in expected:
        previous = source[:offset].rstrip()[-1:]
        if not (token.type == "COMMA" and previous == ","):
            description = (
                "a map key must be a quoted string, a number, a identifier, "
                f"or an expression enclosed in parentheses ({description})"
            )
    return located(description, source, offset)


def _describe(token: Token) -> str:
    """A token as expr's `Token.String` shows it: `Identifier("b")`, `Operator(",")`."""
    if token.type in _IDENTIFIERS:
        kind = "Identifier"
    elif token.type == "NUMBER":
        kind = "Number"
    elif token.type == "STRING":
        return f"String({go_quote(string_value(str(token)))})"
    elif token.type in _BRACKETS:
        kind = "Bracket"
    else:
        kind = "Operator"
    return f"{kind}({go_quote(str(token))})"
