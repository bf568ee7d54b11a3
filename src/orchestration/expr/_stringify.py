"""Values as text, the way the Go service prints them.

* `stringify` is how a trigger variable becomes an instance variable (spec §11.6): a float goes
  through `encoding/json` (`1200000`, `3.14`, `1e-7`, `1e+21`), anything else through `fmt.Sprint`.
* `format_value` is `fmt.Sprint`/`%v` (expr's `string()` builtin, error messages, nested values):
  floats in `%g` style (`1.2e+06`), lists as `[a b]`, maps as `map[k:v]` with sorted keys, nil as
  `<nil>`.

Both produce Go's shortest round-trip digits, which Python's `repr(float)` also produces.
"""

from __future__ import annotations

import math

from ._errors import STACK_EXHAUSTED, ExprError, OperationError
from ._limits import DEFAULT_LIMITS, Limits, Meter
from ._values import go_type, int_text, is_int


def stringify(value: object, *, limits: Limits = DEFAULT_LIMITS) -> str:
    """The string a trigger variable takes for an evaluation result (spec §11.6).

    Args:
        value: A result of `evaluate`.
        limits: Bounds on the output's size (`max_memory` characters) and the value's nesting.

    Returns:
        Strings as they are; floats as Go's `encoding/json` writes them (`1200000`, `1e-7`);
        integers in decimal; `true`/`false`; `<nil>`; lists and maps as Go's `fmt` (`[a b]`,
        `map[k:v]`).

    Raises:
        ExprError: The value is NaN or infinite (not representable in JSON), too large or too deep.
    """
    try:
        if isinstance(value, str):
            return value
        if isinstance(value, float):
            return json_float(value)
        return format_value(value, Meter(limits))
    except OperationError as error:
        raise ExprError(error.message) from None
    except RecursionError:  # only when called from an already deep stack: nesting is bounded
        raise ExprError(STACK_EXHAUSTED) from None


def format_value(value: object, meter: Meter) -> str:
    """`value` as Go's `fmt.Sprint` prints it, charging the output to `meter`."""
    parts: list[str] = []
    _format(value, meter, parts, 0)
    return "".join(parts)


def _format(value: object, meter: Meter, parts: list[str], depth: int) -> None:
    if isinstance(value, list):
        meter.check_depth(depth + 1)
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(" ")
            _format(item, meter, parts, depth + 1)
        parts.append("]")
        meter.allocate(len(value) + 2)
    elif isinstance(value, dict):
        meter.check_depth(depth + 1)
        parts.append("map[")
        for index, key in enumerate(sorted(value, key=str)):
            if index:
                parts.append(" ")
            parts.append(f"{key}:")
            meter.allocate(len(str(key)) + 1)
            _format(value[key], meter, parts, depth + 1)
        parts.append("]")
        meter.allocate(len(value) + 4)
    else:
        text = _scalar(value)
        meter.allocate(len(text))
        parts.append(text)


def _scalar(value: object) -> str:
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_int(value):
        return int_text(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return value
    raise OperationError(f"unsupported value of type {go_type(value)}")


def describe(value: object) -> str:
    """A value in an error message: scalars as `%v` prints them, containers by their Go type."""
    if isinstance(value, list | dict):
        return go_type(value)
    try:
        return _scalar(value)
    except OperationError:
        return go_type(value)


def _digits(value: float) -> tuple[str, int]:
    """Shortest round-trip digits of |value| and the decimal point position: 0.DIGITS × 10**point."""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    stripped = digits.lstrip("0")
    point = len(whole) + int(exponent or 0) - (len(digits) - len(stripped))
    stripped = stripped.rstrip("0")
    return (stripped, point) if stripped else ("0", 1)


def _exponent_form(digits: str, point: int) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exponent = point - 1
    return f"{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def _decimal_form(digits: str, point: int) -> str:
    if point <= 0:
        return "0." + "0" * -point + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def _special(value: float) -> str | None:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return None


def go_float(value: float) -> str:
    """A float as `%v` prints it (strconv 'g', shortest): `3.14`, `1.2e+06`, `1e-05`, `+Inf`."""
    special = _special(value)
    if special is not None:
        return special
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0"
    digits, point = _digits(value)
    # strconv.FormatFloat 'g' with the shortest precision switches to an exponent below 1e-4 and
    # from 1e+06 on (eprec = 6).
    if point - 1 < -4 or point - 1 >= 6:
        return sign + _exponent_form(digits, point)
    return sign + _decimal_form(digits, point)


def json_float(value: float) -> str:
    """A float as `encoding/json` writes it: `1200000`, `3.14`, `1e-7`, `1e+21`."""
    special = _special(value)
    if special is not None:
        raise OperationError(f"json: unsupported value: {special}")
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0"
    digits, point = _digits(value)
    if abs(value) < 1e-6 or abs(value) >= 1e21:
        text = _exponent_form(digits, point)
        # encoding/json cleans up e-09 to e-9 (negative exponents only).
        if text[-4:-1] == "e-0":
            text = text[:-2] + text[-1]
        return sign + text
    return sign + _decimal_form(digits, point)
