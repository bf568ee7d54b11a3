"""Go duration syntax (spec §5.3): `time.ParseDuration` and `Duration.String()`.

Workflow definitions and command-line flags written for the Go service use Go durations
(`"5s"`, `"1m30s"`), and the stage history shows them back in Go's canonical form
(`{"duration": "50ms"}`), so both directions follow Go exactly, including its overflow rules.
Go durations are int64 nanoseconds; Python's `timedelta` stops at microseconds, so parsed values
are rounded to the nearest microsecond.
"""

from __future__ import annotations

from datetime import timedelta

_MAX_NS = 1 << 63  # magnitude bound of an int64 nanosecond count (inclusive only when negative)

_UNITS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # MICRO SIGN, what Go prints
    "\u03bcs": 1_000,  # GREEK SMALL LETTER MU, also accepted by Go
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}

_NS_PER_US = 1_000
_NS_PER_S = 1_000_000_000


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_digit(char: str) -> bool:
    # Not str.isdigit(): Go only knows ASCII digits.
    return "0" <= char <= "9"


def _leading_int(text: str) -> tuple[int, str] | None:
    """Consume leading ASCII digits; None when the value exceeds 2**63 (Go's overflow)."""
    value = 0
    i = 0
    while i < len(text) and _is_digit(text[i]):
        if value > _MAX_NS // 10:
            return None
        value = value * 10 + ord(text[i]) - ord("0")
        if value > _MAX_NS:
            return None
        i += 1
    return value, text[i:]


def _leading_fraction(text: str) -> tuple[int, float, str]:
    """Consume leading digits as a fraction: (digits value, 10**kept digits, rest).

    Digits beyond int64 precision are consumed but ignored, as in Go.
    """
    value = 0
    scale = 1.0
    overflow = False
    i = 0
    while i < len(text) and _is_digit(text[i]):
        if not overflow:
            if value > (_MAX_NS - 1) // 10:
                overflow = True
            else:
                candidate = value * 10 + ord(text[i]) - ord("0")
                if candidate > _MAX_NS:
                    overflow = True
                else:
                    value = candidate
                    scale *= 10
        i += 1
    return value, scale, text[i:]


def parse_go_duration_ns(text: str) -> int:
    """Parse a Go duration string into a signed number of nanoseconds.

    Args:
        text: e.g. `"1m30s"`, `"-1.5h"`, `"300ms"`, `"0"`.

    Returns:
        The duration in nanoseconds (always within the int64 range).

    Raises:
        ValueError: the text is not a Go duration, or it overflows int64 nanoseconds.
    """
    original = text
    invalid = ValueError(f"time: invalid duration {_quote(original)}")
    negative = False
    if text and text[0] in "+-":
        negative = text[0] == "-"
        text = text[1:]
    if text == "0":  # the only number allowed without a unit
        return 0
    if not text:
        raise invalid
    total = 0
    while text:
        if not (text[0] == "." or _is_digit(text[0])):
            raise invalid
        before = len(text)
        leading = _leading_int(text)
        if leading is None:
            raise invalid
        whole, text = leading
        has_int = before != len(text)
        fraction, scale, has_frac = 0, 1.0, False
        if text and text[0] == ".":
            text = text[1:]
            before = len(text)
            fraction, scale, text = _leading_fraction(text)
            has_frac = before != len(text)
        if not has_int and not has_frac:  # "." alone
            raise invalid
        end = 0
        while end < len(text) and not (text[end] == "." or _is_digit(text[end])):
            end += 1
        if end == 0:
            raise ValueError(f"time: missing unit in duration {_quote(original)}")
        unit_name, text = text[:end], text[end:]
        unit = _UNITS.get(unit_name)
        if unit is None:
            raise ValueError(f"time: unknown unit {_quote(unit_name)} in duration {_quote(original)}")
        if whole > _MAX_NS // unit:
            raise invalid
        whole *= unit
        if fraction > 0:
            # Go computes the fractional part in float64; doing the same keeps results identical.
            whole += int(float(fraction) * (float(unit) / scale))
            if whole > _MAX_NS:
                raise invalid
        total += whole
        if total > _MAX_NS:
            raise invalid
    if negative:
        return -total
    if total > _MAX_NS - 1:
        raise invalid
    return total


def parse_go_duration(text: str) -> timedelta:
    """Parse a Go duration string (Go `time.ParseDuration`) into a `timedelta`.

    Sub-microsecond parts are rounded to the nearest microsecond, halves away from zero
    (Go `Duration.Round`).

    Args:
        text: e.g. `"10s"`, `"1m30s"`, `"1.5h"`, `"-2m"`, `"300ms"`, `"0"`. No days.

    Returns:
        The duration.

    Raises:
        ValueError: the text is not a Go duration, or it overflows int64 nanoseconds.
    """
    ns = parse_go_duration_ns(text)
    micros, rest = divmod(abs(ns), _NS_PER_US)
    if rest >= _NS_PER_US // 2:
        micros += 1
    return timedelta(microseconds=-micros if ns < 0 else micros)


def _fraction(value: int, precision: int) -> tuple[str, int]:
    """Go `fmtFrac`: the last `precision` digits of `value` as `.ddd` without trailing zeros."""
    digits = ""
    printing = False
    for _ in range(precision):
        digit = value % 10
        printing = printing or digit != 0
        if printing:
            digits = str(digit) + digits
        value //= 10
    return ("." + digits if printing else ""), value


def format_go_duration_ns(ns: int) -> str:
    """Render nanoseconds like Go's `Duration.String()` (`1h0m0s`, `1.5s`, `50ms`, `0s`)."""
    magnitude = abs(ns)
    sign = "-" if ns < 0 else ""
    if magnitude == 0:
        return "0s"
    if magnitude < _NS_PER_S:
        # Below one second Go switches to the largest unit that keeps an integer part.
        if magnitude < 1_000:
            precision, unit = 0, "ns"
        elif magnitude < 1_000_000:
            precision, unit = 3, "\u00b5s"
        else:
            precision, unit = 6, "ms"
        frac, whole = _fraction(magnitude, precision)
        return f"{sign}{whole}{frac}{unit}"
    frac, seconds = _fraction(magnitude, 9)
    text = f"{seconds % 60}{frac}s"
    minutes = seconds // 60
    if minutes > 0:
        text = f"{minutes % 60}m{text}"
        hours = minutes // 60
        if hours > 0:  # Go stops at hours: days can have different lengths
            text = f"{hours}h{text}"
    return sign + text


def format_go_duration(value: timedelta) -> str:
    """Render a `timedelta` like Go's `Duration.String()`.

    Args:
        value: the duration (any size; Go itself is limited to about ±292 years).

    Returns:
        The canonical Go form, e.g. `10s`, `1m30s`, `1h0m0s`, `1.5s`, `50ms`, `1µs`, `0s`, `-2m0s`.
    """
    micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    return format_go_duration_ns(micros * _NS_PER_US)
