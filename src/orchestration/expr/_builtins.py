"""expr's builtin functions on strings and numbers (builtin/builtin.go, builtin/lib.go), and the
table of every builtin taking plain arguments. Closure builtins (`all`, `map`, ...) are in
`_closures.py`; `link` is the caller's.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable
from typing import cast

from ._arguments import Builtin, arity, text_argument
from ._collections import COLLECTION_BUILTINS
from ._errors import OperationError
from ._json import from_json, to_json
from ._limits import Meter
from ._stringify import format_value
from ._values import go_type, is_int, is_number, to_float, to_int, utf8

# unicode.IsSpace, which strings.TrimSpace uses (Python's str.isspace also takes \x1c-\x1f).
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
_GO_SPACE += "\u2028\u2029\u202f\u205f\u3000"
_TYPE_NAMES = {
    "<nil>": "nil",
    "bool": "bool",
    "int": "int",
    "float64": "float",
    "string": "string",
    "[]interface {}": "array",
    "map[string]interface {}": "map",
}
_ATOI = re.compile(r"[+-]?[0-9]+")
_PARSE_FLOAT = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)", re.IGNORECASE)


def _len(args: list[object], meter: Meter) -> object:
    arity("len", args, 1)
    value = args[0]
    if isinstance(value, list | dict | str):
        return len(value)  # a string's length counts characters (runes), as expr's Len does
    raise OperationError(f"invalid argument for len (type {go_type(value)})")


def _type(args: list[object], meter: Meter) -> object:
    arity("type", args, 1)
    return _TYPE_NAMES.get(go_type(args[0]), "unknown")


def _abs(args: list[object], meter: Meter) -> object:
    arity("abs", args, 1)
    value = args[0]
    if is_number(value):
        return -value if value < 0 else value  # Go keeps -0.0
    raise OperationError(f"invalid argument for abs (type {go_type(value)})")


def _rounding(name: str, function: Callable[[float], float]) -> Builtin:
    def builtin(args: list[object], meter: Meter) -> object:
        arity(name, args, 1)
        value = args[0]
        if is_int(value):
            return to_float(value)
        if isinstance(value, float):
            return function(value) if math.isfinite(value) else value
        raise OperationError(f"invalid argument for {name} (type {go_type(value)})")

    return builtin


def _round_half_away(value: float) -> float:
    # Go's math.Round; Python's round() rounds half to even.
    whole = float(math.trunc(value))
    return whole + math.copysign(1.0, value) if abs(value - whole) >= 0.5 else whole


def _int(args: list[object], meter: Meter) -> object:
    arity("int", args, 1)
    value = args[0]
    if isinstance(value, str):
        # Atoi's syntax; Python's own int() also takes spaces, underscores and other digits.
        if not _ATOI.fullmatch(value) or len(value) > meter.limits.max_int_bits:
            raise OperationError(f"invalid operation: int({value})")
        return meter.check_int(int(value))
    return to_int(value)


def _float(args: list[object], meter: Meter) -> object:
    arity("float", args, 1)
    value = args[0]
    if isinstance(value, str):
        number = float(value) if _PARSE_FLOAT.fullmatch(value) else None
        if number is None or (math.isinf(number) and "inf" not in value.lower()):
            raise OperationError(f"invalid operation: float({value})")
        return number
    return to_float(value)


def _string(args: list[object], meter: Meter) -> object:
    arity("string", args, 1)
    return format_value(args[0], meter)


def _trim(args: list[object], meter: Meter) -> object:
    arity("trim", args, 1, 2)
    text = text_argument("trim", args[0])
    return text.strip(_GO_SPACE if len(args) == 1 else text_argument("trim", args[1]))


def _trim_affix(name: str, remove: Callable[[str, str], str]) -> Builtin:
    def builtin(args: list[object], meter: Meter) -> object:
        arity(name, args, 1, 2)
        affix = " " if len(args) == 1 else text_argument(name, args[1])
        return remove(text_argument(name, args[0]), affix)

    return builtin


def _case(name: str, convert: Callable[[str], str]) -> Builtin:
    def builtin(args: list[object], meter: Meter) -> object:
        arity(name, args, 1)
        text = text_argument(name, args[0])
        meter.allocate(len(text))
        return convert(text)

    return builtin


def _splitter(name: str, keep_separator: bool) -> Builtin:
    def builtin(args: list[object], meter: Meter) -> object:
        arity(name, args, 2, 3)
        text, separator = text_argument(name, args[0]), text_argument(name, args[1])
        limit = to_int(args[2]) if len(args) == 3 else -1
        meter.allocate(len(text) + (text.count(separator) if separator else len(text)) + 1)
        return split(text, separator, limit, keep_separator)

    return builtin


def split(text: str, separator: str, limit: int, keep_separator: bool) -> list[object]:
    """Go's strings.SplitN / SplitAfterN: at most `limit` parts (all when negative, none when 0)."""
    if limit == 0:
        return []
    if separator == "":  # one part per character, the last taking the rest
        if 0 < limit < len(text):
            return [*text[: limit - 1], text[limit - 1 :]]
        return list(text)
    parts = text.split(separator, limit - 1 if limit > 0 else -1)
    if keep_separator:
        parts = [part + separator for part in parts[:-1]] + parts[-1:]
    return list(parts)


def _replace(args: list[object], meter: Meter) -> object:
    arity("replace", args, 3, 4)
    text, old, new = (text_argument("replace", value) for value in args[:3])
    limit = to_int(args[3]) if len(args) == 4 else -1
    count = text.count(old) if old else len(text) + 1
    if limit >= 0:
        count = min(count, limit)
    meter.allocate(len(text) + count * max(len(new) - len(old), 0))
    return text.replace(old, new, limit)


def _repeat(args: list[object], meter: Meter) -> object:
    arity("repeat", args, 2)
    text, times = text_argument("repeat", args[0]), to_int(args[1])
    if times < 0:
        raise OperationError(f"invalid argument for repeat (expected positive integer, got {times})")
    meter.allocate(len(text) * times)
    return text * times


def _join(args: list[object], meter: Meter) -> object:
    arity("join", args, 1, 2)
    items, glue = args[0], "" if len(args) == 1 else text_argument("join", args[1])
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise OperationError(f"invalid argument for join (type {go_type(items)})")
    texts = cast(list[str], items)
    meter.allocate(sum(len(text) for text in texts) + len(glue) * max(len(texts) - 1, 0))
    return glue.join(texts)


def _search(name: str, find: Callable[[bytes, bytes], int]) -> Builtin:
    # strings.Index counts bytes of UTF-8, not characters.
    def builtin(args: list[object], meter: Meter) -> object:
        arity(name, args, 2)
        return find(utf8(text_argument(name, args[0])), utf8(text_argument(name, args[1])))

    return builtin


def _test(name: str, test: Callable[[str, str], bool]) -> Builtin:
    def builtin(args: list[object], meter: Meter) -> object:
        arity(name, args, 2)
        return test(text_argument(name, args[0]), text_argument(name, args[1]))

    return builtin


def _to_json(args: list[object], meter: Meter) -> object:
    arity("toJSON", args, 1)
    return to_json(args[0], meter)


def _from_json(args: list[object], meter: Meter) -> object:
    arity("fromJSON", args, 1)
    return from_json(text_argument("fromJSON", args[0]), meter)


def _to_base64(args: list[object], meter: Meter) -> object:
    arity("toBase64", args, 1)
    data = utf8(text_argument("toBase64", args[0]))
    meter.allocate(len(data) * 4 // 3 + 4)
    return base64.b64encode(data).decode()


def _from_base64(args: list[object], meter: Meter) -> object:
    arity("fromBase64", args, 1)
    text = text_argument("fromBase64", args[0])
    meter.allocate(len(text))
    try:
        return base64.b64decode(text, validate=True).decode(errors="replace")
    except (binascii.Error, ValueError):
        raise OperationError("illegal base64 data") from None


BUILTINS: dict[str, Builtin] = {
    "len": _len,
    "type": _type,
    "abs": _abs,
    "ceil": _rounding("ceil", lambda value: float(math.ceil(value))),
    "floor": _rounding("floor", lambda value: float(math.floor(value))),
    "round": _rounding("round", _round_half_away),
    "int": _int,
    "float": _float,
    "string": _string,
    "trim": _trim,
    "trimPrefix": _trim_affix("trimPrefix", str.removeprefix),
    "trimSuffix": _trim_affix("trimSuffix", str.removesuffix),
    "upper": _case("upper", str.upper),
    "lower": _case("lower", str.lower),
    "split": _splitter("split", keep_separator=False),
    "splitAfter": _splitter("splitAfter", keep_separator=True),
    "replace": _replace,
    "repeat": _repeat,
    "join": _join,
    "indexOf": _search("indexOf", bytes.find),
    "lastIndexOf": _search("lastIndexOf", bytes.rfind),
    "hasPrefix": _test("hasPrefix", str.startswith),
    "hasSuffix": _test("hasSuffix", str.endswith),
    "toJSON": _to_json,
    "fromJSON": _from_json,
    "toBase64": _to_base64,
    "fromBase64": _from_base64,
    **COLLECTION_BUILTINS,
}
