"""Go duration syntax (spec §5.3): parsing like `time.ParseDuration`, printing like `Duration.String()`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestration.durations import (
    format_go_duration,
    format_go_duration_ns,
    parse_go_duration,
    parse_go_duration_ns,
)

NS = 1
US = 1_000
MS = 1_000_000
S = 1_000_000_000
M = 60 * S
H = 60 * M
MAX_NS = (1 << 63) - 1
MIN_NS = -(1 << 63)


# Vectors of Go's own time package tests (TestParseDuration).
@pytest.mark.parametrize(
    ("text", "expected_ns"),
    [
        ("0", 0),
        ("5s", 5 * S),
        ("30s", 30 * S),
        ("1478s", 1478 * S),
        ("-5s", -5 * S),
        ("+5s", 5 * S),
        ("-0", 0),
        ("+0", 0),
        ("5.0s", 5 * S),
        ("5.6s", 5 * S + 600 * MS),
        ("5.s", 5 * S),
        (".5s", 500 * MS),
        ("1.0s", S),
        ("1.00s", S),
        ("1.004s", S + 4 * MS),
        ("1.0040s", S + 4 * MS),
        ("100.00100s", 100 * S + 1 * MS),
        ("10ns", 10 * NS),
        ("11us", 11 * US),
        ("12\u00b5s", 12 * US),
        ("12\u03bcs", 12 * US),
        ("13ms", 13 * MS),
        ("14s", 14 * S),
        ("15m", 15 * M),
        ("16h", 16 * H),
        ("3h30m", 3 * H + 30 * M),
        ("10.5s4m", 4 * M + 10 * S + 500 * MS),
        ("-2m3.4s", -(2 * M + 3 * S + 400 * MS)),
        ("1h2m3s4ms5us6ns", 1 * H + 2 * M + 3 * S + 4 * MS + 5 * US + 6 * NS),
        ("39h9m14.425s", 39 * H + 9 * M + 14 * S + 425 * MS),
        ("52763797000ns", 52763797000 * NS),
        ("0.3333333333333333333h", 20 * M),
        ("9007199254740993ns", (1 << 53) + 1),
        ("9223372036854775807ns", MAX_NS),
        ("9223372036854775.807us", MAX_NS),
        ("9223372036s854ms775us807ns", MAX_NS),
        ("-9223372036854775808ns", MIN_NS),
        ("-9223372036854775.808us", MIN_NS),
        ("-9223372036s854ms775us808ns", MIN_NS),
        ("0.100000000000000000000h", 6 * M),
        ("0.830103483285477580700h", 49 * M + 48 * S + 372539827 * NS),
    ],
)
def test_parse_matches_go(text: str, expected_ns: int) -> None:
    assert parse_go_duration_ns(text) == expected_ns


@pytest.mark.parametrize(
    "text",
    [
        "",
        "3",
        "-",
        "s",
        ".",
        "-.",
        ".s",
        "+.s",
        "1d",  # no days
        "1 s",
        " 1s",
        "1S",
        "\x85\x85",
        "\xffff",
        "hello \xffff world",
        "\ufffd",
        "\ufffd hello \ufffd world",
        "\u0661s",  # a non-ASCII digit
        "9223372036854775810ns",
        "9223372036854775808ns",
        "-9223372036854775809ns",
        "9223372036855s",
        "9223372036854775807ns9223372036854775807ns",
    ],
)
def test_parse_rejects_what_go_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="time: "):
        parse_go_duration(text)


def test_parse_error_messages_name_the_problem() -> None:
    with pytest.raises(ValueError, match='missing unit in duration "3"'):
        parse_go_duration("3")
    with pytest.raises(ValueError, match='unknown unit "d" in duration "1d"'):
        parse_go_duration("1d")
    with pytest.raises(ValueError, match='invalid duration "abc"'):
        parse_go_duration("abc")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1m30s", timedelta(minutes=1, seconds=30)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        ("-2m", timedelta(minutes=-2)),
        ("300ms", timedelta(milliseconds=300)),
        ("1499ns", timedelta(microseconds=1)),
        ("1500ns", timedelta(microseconds=2)),  # halves round away from zero, like Go's Round
        ("-1500ns", timedelta(microseconds=-2)),
        ("499ns", timedelta(0)),
        ("2562047h47m16.854775807s", timedelta(microseconds=9223372036854776)),
    ],
)
def test_parse_rounds_to_the_microsecond(text: str, expected: timedelta) -> None:
    assert parse_go_duration(text) == expected


# Vectors of Go's own time package tests (TestDurationString).
@pytest.mark.parametrize(
    ("ns", "expected"),
    [
        (0, "0s"),
        (1 * NS, "1ns"),
        (1100 * NS, "1.1\u00b5s"),
        (2200 * US, "2.2ms"),
        (3300 * MS, "3.3s"),
        (4 * M + 5 * S, "4m5s"),
        (4 * M + 5001 * MS, "4m5.001s"),
        (5 * H + 6 * M + 7001 * MS, "5h6m7.001s"),
        (8 * M + 1 * NS, "8m0.000000001s"),
        (MAX_NS, "2562047h47m16.854775807s"),
        (MIN_NS, "-2562047h47m16.854775808s"),
    ],
)
def test_format_matches_go(ns: int, expected: str) -> None:
    assert format_go_duration_ns(ns) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(milliseconds=50), "50ms"),  # what the conformance suite reads back
        (timedelta(seconds=10), "10s"),
        (timedelta(minutes=1, seconds=30), "1m30s"),
        (timedelta(hours=1), "1h0m0s"),
        (timedelta(seconds=1.5), "1.5s"),
        (timedelta(0), "0s"),
        (timedelta(minutes=-2), "-2m0s"),
        (timedelta(microseconds=1), "1\u00b5s"),
        (timedelta(days=2), "48h0m0s"),
    ],
)
def test_format_timedelta(value: timedelta, expected: str) -> None:
    assert format_go_duration(value) == expected


@given(st.text())
def test_any_text_parses_or_raises_value_error(text: str) -> None:
    try:
        result = parse_go_duration(text)
    except ValueError:
        return
    assert isinstance(result, timedelta)


@given(st.from_regex(r"[+-]?([0-9]{0,25}(\.[0-9]{0,25})?(ns|us|µs|μs|ms|s|m|h|d)?)+", fullmatch=True))
def test_duration_like_text_parses_or_raises_value_error(text: str) -> None:
    try:
        ns = parse_go_duration_ns(text)
    except ValueError:
        return
    assert MIN_NS <= ns <= MAX_NS


@given(st.integers(min_value=MIN_NS, max_value=MAX_NS))
def test_format_then_parse_gives_back_the_nanoseconds(ns: int) -> None:
    assert parse_go_duration_ns(format_go_duration_ns(ns)) == ns


@given(st.integers(min_value=MIN_NS // US + 1, max_value=MAX_NS // US))
def test_format_then_parse_gives_back_the_timedelta(micros: int) -> None:
    value = timedelta(microseconds=micros)
    assert parse_go_duration(format_go_duration(value)) == value
