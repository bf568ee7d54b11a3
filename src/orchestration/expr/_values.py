"""Values as expr sees them: JSON-like data (None, bool, int, float, str, list, dict).

Integers stay Python ints, so amounts from a payload remain exact (Go decodes every JSON number as
a float64); Go's `int`/`float64` rules apply otherwise: arithmetic between ints stays int, `/` and
`**` give floats, int and float compare by value. `bool` is never a number here, unlike Python.
"""

from __future__ import annotations

import math
import operator
from typing import TypeGuard

from ._errors import OperationError
from ._limits import Meter


def is_int(value: object) -> TypeGuard[int]:
    """An integer, not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> TypeGuard[int | float]:
    """An int or a float, not a bool."""
    return isinstance(value, float) or is_int(value)


def go_type(value: object) -> str:
    """The Go type expr would name in an error (`%T`): `<nil>`, `float64`, `map[string]interface {}`."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return type(value).__name__


def go_kind(value: object) -> str:
    """The Go reflect kind of a value (`slice`, `map`, `invalid` for nil), as some builtins report it."""
    kinds = {"<nil>": "invalid", "[]interface {}": "slice", "map[string]interface {}": "map"}
    name = go_type(value)
    return kinds.get(name, name)


def int_text(value: int) -> str:
    """An int in decimal; refused past Python's conversion limit (4300 digits), never raised as ValueError."""
    try:
        return str(value)
    except ValueError:
        raise OperationError("integer too large to print") from None


def to_float(value: object) -> float:
    """A number as a float64; an int too large for one becomes ±inf, as Go's conversion saturates."""
    if isinstance(value, float):
        return value
    if is_int(value):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    raise OperationError(f"invalid operation: float({go_type(value)})")


def to_int(value: object) -> int:
    """A number as an int, truncating floats (runtime.ToInt)."""
    if is_int(value):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise OperationError(f"invalid operation: int({value})")
        return int(value)
    raise OperationError(f"invalid operation: int({go_type(value)})")


def equal(left: object, right: object, meter: Meter, depth: int = 0) -> bool:
    """`==` (runtime.Equal): numbers by value, lists and maps element by element, nil only to nil."""
    meter.step()
    if is_number(left) and is_number(right):
        return left == right
    if isinstance(left, list) and isinstance(right, list):
        meter.check_depth(depth + 1)
        return len(left) == len(right) and all(equal(a, b, meter, depth + 1) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        meter.check_depth(depth + 1)
        return left.keys() == right.keys() and all(equal(left[k], right[k], meter, depth + 1) for k in left)
    if type(left) is not type(right):
        return False
    return left == right


def compare(op: str, left: object, right: object) -> bool:
    """`<`, `>`, `<=` or `>=` of two numbers or two strings (runtime.Less and friends)."""
    if (is_number(left) and is_number(right)) or (isinstance(left, str) and isinstance(right, str)):
        return bool(_ORDERS[op](left, right))
    raise OperationError(f"invalid operation: {go_type(left)} {op} {go_type(right)}")


_ORDERS = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}


def need_bool(value: object, operation: str) -> bool:
    """`value` if it is a bool; expr asserts bool for `and`, `or`, `not`, conditions and predicates."""
    if isinstance(value, bool):
        return value
    raise OperationError(f"invalid operation: {operation} expects bool, got {go_type(value)}")


def utf8(text: str) -> bytes:
    """The UTF-8 bytes Go would hold for `text` (a lone surrogate becomes U+FFFD, as Go decodes it)."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return valid_text(text).encode()


def valid_text(text: str) -> str:
    """`text` with any lone surrogate replaced by U+FFFD, for what needs valid UTF-8."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text
