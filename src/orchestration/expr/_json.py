"""`toJSON` and `fromJSON` as expr's builtins do them with Go's `encoding/json`.

`toJSON` is `json.MarshalIndent(v, "", "  ")`: sorted map keys, Go's number forms (`1200000`,
`1e-7`), HTML-safe escapes (`<` is `\\u003c`), NaN and infinities refused. `fromJSON` keeps
integers exact, like the event payload itself (Go would decode them as float64).
"""

from __future__ import annotations

import json
import math

from ._errors import OperationError
from ._limits import Meter
from ._stringify import json_float
from ._values import go_type, int_text, is_int

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def to_json(value: object, meter: Meter) -> str:
    """`value` as Go's `json.MarshalIndent(value, "", "  ")`, charging the output to `meter`."""
    parts: list[str] = []
    _encode(value, meter, parts, 0)
    return "".join(parts)


def _encode(value: object, meter: Meter, parts: list[str], depth: int) -> None:
    if isinstance(value, list | dict):
        meter.check_depth(depth + 1)
        if not value:
            parts.append("[]" if isinstance(value, list) else "{}")
            return
        inner = "\n" + "  " * (depth + 1)
        parts.append("[" if isinstance(value, list) else "{")
        items = value if isinstance(value, list) else sorted(value, key=str)
        for index, item in enumerate(items):
            parts.append(("," if index else "") + inner)
            meter.allocate(len(inner) + 1)
            if isinstance(value, dict):
                parts.append(_string(str(item), meter) + ": ")
                item = value[item]
            _encode(item, meter, parts, depth + 1)
        parts.append("\n" + "  " * depth + ("]" if isinstance(value, list) else "}"))
        return
    text = _scalar(value, meter)
    meter.allocate(len(text))
    parts.append(text)


def _scalar(value: object, meter: Meter) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_int(value):
        return int_text(value)
    if isinstance(value, float):
        return json_float(value)
    if isinstance(value, str):
        return _string(value, meter)
    raise OperationError(f"json: unsupported type: {go_type(value)}")


def _string(text: str, meter: Meter) -> str:
    meter.allocate(len(text) + 2)
    out = ['"']
    for char in text:
        escaped = _ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif char < " ":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def from_json(text: str, meter: Meter) -> object:
    """Decode a JSON document; integers stay ints, NaN and out-of-range numbers are refused."""
    meter.allocate(len(text))
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as error:
        raise OperationError(f"invalid JSON: {error.msg} (at character {error.pos})") from None
    except ValueError as error:  # an integer of more than 4300 digits
        raise OperationError(f"invalid JSON: {error}") from None
    except RecursionError:
        raise OperationError("invalid JSON: nested too deeply") from None


def _refuse_constant(name: str) -> object:
    raise OperationError(f"invalid JSON: {name} is not a JSON value")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise OperationError(f"json: cannot unmarshal number {text} into Go value of type float64")
    return number
