"""RFC 3339 dates in stage configurations (spec §5.1 "timestamp"), read and written like Go."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from orchestration.stages._errors import StageConfigError

ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)
"""Go's zero `time.Time`: what an optional timestamp that interpolates to `""` becomes (Q-30)."""

# Go's strict RFC 3339: uppercase `T` and `Z`, two-digit fields, any number of fraction digits
# (`.` or `,`), and a zone that is always present.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 date (fraction optional, zone required) like Go's `time.Parse`.

    Args:
        text: e.g. `2024-05-02T10:11:12Z`, `2024-05-02T12:11:12.123456789+02:00`.

    Returns:
        An aware UTC datetime, rounded to the microsecond (halves up, as Go's `Round`).

    Raises:
        StageConfigError: not RFC 3339, out of range, or outside years 1–9999.
    """
    match = _RFC3339.fullmatch(text)
    error = StageConfigError("expected date as rfc3339 format")
    if match is None:
        raise error
    year, month, day, hour, minute, second = (int(group) for group in match.groups()[:6])
    nanos = int(((match.group(7) or "") + "000000000")[:9])  # Go ignores digits past the 9th
    try:
        moment = datetime(year, month, day, hour, minute, second)
        moment += timedelta(microseconds=(nanos + 500) // 1000)
        if match.group(8) is None:
            offset_hours, offset_minutes = int(match.group(10)), int(match.group(11))
            if offset_hours > 23 or offset_minutes > 59:
                raise error
            offset = timedelta(hours=offset_hours, minutes=offset_minutes)
            moment = moment - offset if match.group(9) == "+" else moment + offset
    except (ValueError, OverflowError):
        raise error from None
    return moment.replace(tzinfo=UTC)


def format_rfc3339(value: datetime) -> str:
    """Render a datetime as RFC 3339 UTC with a `Z`, trailing zeros of the fraction trimmed (Go's RFC3339Nano).

    Args:
        value: an aware datetime (a naive one is taken as UTC).

    Returns:
        e.g. `2024-05-02T10:11:12.1234Z`, `2024-05-02T10:11:12Z`, `0001-01-01T00:00:00Z`.
    """
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    text = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}".rstrip("0")
    return text + "Z"
