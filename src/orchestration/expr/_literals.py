"""Number and string literals, read as expr's lexer and parser read them.

Number syntax (parser.go, parseSecondary): underscores are ignored; `0x`/`0o`/`0b` prefixes give
integers; a `.` or `e` gives a float; anything else is a decimal integer. Integer literals are
int64, as in Go. String escapes are those of lexer/utils.go (`unescape`).
"""

from __future__ import annotations

import math
import re

from ._grammar import NUMBER_PREFIX

_NUMBER_PREFIX = re.compile(NUMBER_PREFIX)
_INT64_MAX = (1 << 63) - 1


class LiteralError(Exception):
    """A malformed literal; `offset` is relative to the start of the literal's token."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


def check_number(text: str) -> None:
    """Reject a number followed by letters or digits, as expr's lexer does (`bad number syntax`)."""
    match = _NUMBER_PREFIX.match(text)
    end = match.end() if match else 0
    if end < len(text):
        raise LiteralError(f"bad number syntax: {go_quote(text[: end + 1])}", end)


def number_value(text: str) -> int | float:
    """The value of a number literal; `LiteralError` (offset 0) when Go could not parse it."""
    value = text.replace("_", "")
    lower = value.lower()
    if lower.startswith("0x"):
        return _int_literal(value, 16, "hex")
    if "." in lower or "e" in lower:
        return _float_literal(value)
    if lower.startswith("0b"):
        return _int_literal(value, 2, "binary")
    if lower.startswith("0o"):
        return _int_literal(value, 8, "octal")
    return _int_literal(value, 10, "integer")


def _int_literal(value: str, base: int, kind: str) -> int:
    digits = value[2:] if base != 10 else value
    try:
        number = int(digits, base)
    except ValueError:
        reason = _strconv_error("ParseInt", value, "invalid syntax")
        raise LiteralError(f"invalid {kind} literal: {reason}", 0) from None
    if number > _INT64_MAX:
        raise LiteralError(f"invalid {kind} literal: {_strconv_error('ParseInt', value, 'value out of range')}", 0)
    return number


def _float_literal(value: str) -> float:
    if not re.fullmatch(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", value):
        raise LiteralError(f"invalid float literal: {_strconv_error('ParseFloat', value, 'invalid syntax')}", 0)
    number = float(value)
    if math.isinf(number):
        raise LiteralError(f"invalid float literal: {_strconv_error('ParseFloat', value, 'value out of range')}", 0)
    return number


def _strconv_error(function: str, value: str, reason: str) -> str:
    return f"strconv.{function}: parsing {go_quote(value)}: {reason}"


_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
_HEX_DIGITS = "0123456789abcdefABCDEF"


def string_value(text: str) -> str:
    """The value of a string literal token (quotes included); `LiteralError` on a bad escape.

    Raw strings (backquotes) take no escapes; a doubled backquote stands for one.
    """
    quote = text[0]
    if quote == "`":
        return text[1:-1].replace("``", "`")
    # Go normalizes the newlines of quoted strings before unescaping (lexer/utils.go).
    body = text[1:-1].replace("\r\n", "\n").replace("\r", "\n")
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        i += 1
        if char != "\\":
            out.append(char)
            continue
        escape = body[i] if i < len(body) else ""
        offset = i + 1  # in the token: the opening quote comes first
        i += 1
        if escape in _SIMPLE_ESCAPES or escape == quote:
            out.append(_SIMPLE_ESCAPES.get(escape, escape))
        elif escape and escape in "01234567":
            digits = body[i - 1 : i + 2]
            if len(digits) < 3 or any(d not in "01234567" for d in digits):
                raise LiteralError("invalid char escape", offset + _first_bad(digits, "01234567"))
            if escape not in "0123":
                raise LiteralError("unable to unescape string", len(text) - 1)
            out.append(chr(int(digits, 8)))
            i += 2
        elif escape in ("x", "u", "U"):
            code, used = _hex_escape(body, i, escape, offset)
            out.append(_rune(code, len(text) - 1))
            i += used
        else:
            raise LiteralError("invalid char escape", offset)
    return "".join(out)


def _hex_escape(body: str, start: int, escape: str, offset: int) -> tuple[int, int]:
    """(code point, characters consumed after the escape letter) of `\\x..`, `\\u....`, `\\u{..}`, `\\U........`."""
    if escape == "u" and body[start : start + 1] == "{":
        close = body.find("}", start)
        digits = body[start + 1 : close] if close >= 0 else body[start + 1 :]
        if close < 0 or not 1 <= len(digits) <= 6 or any(d not in _HEX_DIGITS for d in digits):
            raise LiteralError("invalid char escape", offset + 1 + _first_bad(digits, _HEX_DIGITS))
        return int(digits, 16), close - start + 1
    width = {"x": 2, "u": 4, "U": 8}[escape]
    digits = body[start : start + width]
    if len(digits) < width or any(d not in _HEX_DIGITS for d in digits):
        raise LiteralError("invalid char escape", offset + 1 + _first_bad(digits, _HEX_DIGITS))
    return int(digits, 16), width


def _first_bad(digits: str, allowed: str) -> int:
    return next((n for n, d in enumerate(digits) if d not in allowed), len(digits))


def _rune(code: int, offset: int) -> str:
    if code > 0x10FFFF:
        raise LiteralError("unable to unescape string", offset)
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"  # Go's utf8.EncodeRune writes surrogates as U+FFFD
    return chr(code)


def go_quote(text: str) -> str:
    """`text` as Go's `%#v`/`strconv.Quote` shows a string."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char in _GO_SHORT_ESCAPES:
            out.append(_GO_SHORT_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_GO_SHORT_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
