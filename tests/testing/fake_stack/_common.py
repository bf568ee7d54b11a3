"""Helpers shared by the fake services: JSON answers, errors, RFC 3339 times, fingerprints."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import Response

JSON = Any  # a decoded JSON value; big integers stay exact Python ints (json.loads never rounds them)


@dataclass
class Answer:
    """One HTTP answer, kept as data so the idempotency store can replay it verbatim."""

    status: int
    body: JSON = None
    headers: dict[str, str] = field(default_factory=dict)
    empty: bool = False  # True: no body at all (204, or the Wallets' bare 404)

    def to_response(self) -> Response:
        if self.empty or self.status == 204:
            return Response(status_code=self.status, headers=self.headers)
        return Response(json_dumps(self.body), status_code=self.status, headers=self.headers,
                        media_type="application/json")


class ServiceError(Exception):
    """A Formance-style error answer: `{"errorCode": code, "errorMessage": message}` with `status`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message

    def answer(self) -> Answer:
        # go-libs api.ErrorResponse: errorCode/errorMessage (details omitted when empty).
        return Answer(self.status, {"errorCode": self.code, "errorMessage": self.message})


def json_dumps(value: JSON) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def parse_json(raw: bytes) -> JSON:
    """Decode a body; raises ValueError. Python's json keeps integers of any size exact."""
    return json.loads(raw.decode("utf-8"))


def is_int(value: object) -> bool:
    """True for a JSON integer (bool is an int subclass in Python but `true` is no amount)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_str_map(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def fingerprint(kind: str, payload: JSON) -> str:
    """Stable hash of a parsed input, like the Ledger's idempotency hash: key order and spacing don't count."""
    canonical = json.dumps([kind, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$")


def parse_time(text: str) -> datetime:
    """RFC 3339 (nanoseconds allowed) → aware UTC datetime rounded to µs, as go-libs `time.ParseTime` does."""
    m = _RFC3339.match(text)
    if not m:
        raise ValueError(f"invalid date {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    nanos = int((m.group(7) or "0").ljust(9, "0"))
    micros, rest = divmod(nanos, 1000)
    if rest >= 500:  # Go's Round: halves away from zero
        micros += 1
    tz = m.group(8)
    offset = timedelta(0) if tz in ("Z", "z") else (1 if tz[0] == "+" else -1) * timedelta(
        hours=int(tz[1:3]), minutes=int(tz[4:6]))
    base = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return base + timedelta(microseconds=micros) - offset


def format_time(value: datetime) -> str:
    """Go's RFC3339Nano of a µs-precision UTC time: trailing zeros of the fraction dropped."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def now() -> datetime:
    return datetime.now(UTC)
