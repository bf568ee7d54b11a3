"""Binary and unary operators, member access and slicing, with the semantics of expr's runtime
(vm/runtime/runtime.go and the generated helpers) and its error messages.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ._errors import OperationError
from ._limits import Meter
from ._regex import matches
from ._stringify import describe
from ._values import compare, equal, go_type, is_int, is_number, to_float, to_int, utf8, valid_text


def _mismatch(op: str, left: object, right: object) -> OperationError:
    return OperationError(f"invalid operation: {go_type(left)} {op} {go_type(right)}")


def add(left: object, right: object, meter: Meter) -> object:
    if is_int(left) and is_int(right):
        return meter.check_int(left + right)
    if is_number(left) and is_number(right):
        return to_float(left) + to_float(right)
    if isinstance(left, str) and isinstance(right, str):
        meter.allocate(len(left) + len(right))
        return left + right
    raise _mismatch("+", left, right)


def subtract(left: object, right: object, meter: Meter) -> object:
    if is_int(left) and is_int(right):
        return meter.check_int(left - right)
    if is_number(left) and is_number(right):
        return to_float(left) - to_float(right)
    raise _mismatch("-", left, right)


def multiply(left: object, right: object, meter: Meter) -> object:
    if is_int(left) and is_int(right):
        return meter.check_int(left * right)
    if is_number(left) and is_number(right):
        return to_float(left) * to_float(right)
    raise _mismatch("*", left, right)


def divide(left: object, right: object, meter: Meter) -> object:
    """`/` always divides as float64, by IEEE rules (`1 / 0` is `+Inf`)."""
    if not (is_number(left) and is_number(right)):
        raise _mismatch("/", left, right)
    dividend, divisor = to_float(left), to_float(right)
    if divisor == 0:
        if dividend == 0 or math.isnan(dividend):
            return math.nan
        return math.copysign(math.inf, dividend) * math.copysign(1.0, divisor)
    return dividend / divisor


def modulo(left: object, right: object, meter: Meter) -> object:
    """`%` on integers only, truncated like Go's (`-7 % 3` is `-1`)."""
    if not (is_int(left) and is_int(right)):
        raise _mismatch("%", left, right)
    assert isinstance(left, int) and isinstance(right, int)
    if right == 0:
        raise OperationError("runtime error: integer divide by zero")
    remainder = abs(left) % abs(right)
    return -remainder if left < 0 else remainder


def power(left: object, right: object, meter: Meter) -> object:
    """`**` and `^`: Go's `math.Pow` on float64 (runtime.Exponent)."""
    if not (is_number(left) and is_number(right)):
        raise _mismatch("**", left, right)
    base, exponent = to_float(left), to_float(right)
    odd = math.isfinite(exponent) and exponent % 2 == 1
    try:
        return math.pow(base, exponent)
    except OverflowError:
        return -math.inf if base < 0 and odd else math.inf
    except ValueError:  # Python refuses what Go's Pow defines: Pow(±0, y<0) = ±Inf, Pow(x<0, y) = NaN
        if base == 0:
            return math.copysign(math.inf, base) if odd else math.inf
        return math.nan


def negate(value: object) -> object:
    if is_number(value):
        return -value
    raise OperationError(f"invalid operation: - {go_type(value)}")


def make_range(low: object, high: object, meter: Meter) -> object:
    """`low..high`, both ends included; empty when `high < low`."""
    start, stop = to_int(low), to_int(high)
    meter.allocate(max(stop - start + 1, 0))
    return list(range(start, stop + 1))


def member_of(needle: object, container: object, meter: Meter) -> object:
    """`needle in container`: an element of a list, a key of a map; nothing is in nil."""
    if container is None:
        return False
    if isinstance(container, list):
        return any(equal(needle, item, meter) for item in container)
    if isinstance(container, dict):
        key = "" if needle is None else needle  # Go looks a nil key up as the zero key ""
        if isinstance(key, str):
            return key in container
        raise OperationError(f"cannot use {go_type(needle)} as a key of {go_type(container)}")
    raise OperationError(f'operator "in" not defined on {go_type(container)}')


def _string_test(op: str, test: Callable[[str, str], bool]) -> Callable[[object, object, Meter], object]:
    def operator(left: object, right: object, meter: Meter) -> object:
        if left is None or right is None:  # vm.go: nil on either side is simply false
            return False
        if isinstance(left, str) and isinstance(right, str):
            return test(left, right)
        raise _mismatch(op, left, right)

    return operator


def equals(left: object, right: object, meter: Meter) -> object:
    return equal(left, right, meter)


def not_equals(left: object, right: object, meter: Meter) -> object:
    return not equal(left, right, meter)


def _ordering(op: str) -> Callable[[object, object, Meter], object]:
    return lambda left, right, meter: compare(op, left, right)


# Operators whose operands are both evaluated; the evaluator short-circuits `and`, `or` and `??`
# and hands `matches` its regular-expression bound.
BINARY: dict[str, Callable[[object, object, Meter], object]] = {
    "+": add,
    "-": subtract,
    "*": multiply,
    "/": divide,
    "%": modulo,
    "**": power,
    "^": power,
    "==": equals,
    "!=": not_equals,
    "<": _ordering("<"),
    ">": _ordering(">"),
    "<=": _ordering("<="),
    ">=": _ordering(">="),
    "..": make_range,
    "in": member_of,
    "contains": _string_test("contains", lambda text, part: part in text),
    "startsWith": _string_test("startsWith", str.startswith),
    "endsWith": _string_test("endsWith", str.endswith),
}


def regex_match(text: object, pattern: object, max_length: int) -> object:
    """`text matches pattern`; nil on either side is false."""
    if text is None or pattern is None:
        return False
    if isinstance(text, str) and isinstance(pattern, str):
        return matches(valid_text(text), valid_text(pattern), max_length)
    raise _mismatch("matches", text, pattern)


def fetch(target: object, key: object) -> object:
    """`target[key]` and `target.key` (runtime.Fetch): a missing map key is nil, nil has no members."""
    if isinstance(target, dict):
        if key is None:
            key = ""
        if isinstance(key, str):
            return target.get(key)
    elif isinstance(target, list):
        return target[_index(key, len(target))]
    elif isinstance(target, str):
        # Go indexes a string's UTF-8 bytes and yields a byte (a number).
        data = utf8(target)
        return data[_index(key, len(data))]
    raise OperationError(f"cannot fetch {describe(key)} from {go_type(target)}")


def _index(key: object, length: int) -> int:
    index = to_int(key)
    if index < 0:
        index += length
    if not 0 <= index < length:
        raise OperationError(f"index out of range: {index} (array length is {length})")
    return index


def slice_of(target: object, start: object, stop: object, meter: Meter) -> object:
    """`target[start:stop]` (runtime.Slice): bounds clamp, negative bounds count from the end."""
    if isinstance(target, list):
        length = len(target)
    elif isinstance(target, str):
        length = len(utf8(target))
    else:
        raise OperationError(f"cannot slice {go_type(target)}")
    low = 0 if start is None else to_int(start)
    high = length if stop is None else to_int(stop)
    low = max(low + length if low < 0 else low, 0)
    high = min(max(high + length if high < 0 else high, 0), length)
    low = min(low, high)
    meter.allocate(high - low)
    if isinstance(target, list):
        return target[low:high]
    # Go slices the UTF-8 bytes; a cut through a character leaves U+FFFD.
    return utf8(target)[low:high].decode(errors="replace")
