"""Results as instance variables (spec §11.6): Go's `encoding/json` for floats, `fmt` otherwise."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestration.expr import ExprError, Limits, stringify
from orchestration.expr._limits import Meter
from orchestration.expr._stringify import format_value, go_float, json_float


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("as is", "as is"),
        ("", ""),
        (1200000.0, "1200000"),
        (100.0, "100"),
        (3.14, "3.14"),
        (1e-7, "1e-7"),
        (1.5e-8, "1.5e-8"),
        (1e-6, "0.000001"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (12345678901234567890.0, "12345678901234567000"),
        (-2.5, "-2.5"),
        (-0.0, "-0"),
        (5e-324, "5e-324"),
        (3, "3"),
        (1200000, "1200000"),
        (12345678901234567890, "12345678901234567890"),  # payload integers stay exact
        (True, "true"),
        (False, "false"),
        (None, "<nil>"),
        (["a", "b"], "[a b]"),
        ([1, 1.5, None, [True]], "[1 1.5 <nil> [true]]"),
        ([1200000.0], "[1.2e+06]"),  # fmt's %v inside containers
        ({"k": "v", "a": {"b": []}}, "map[a:map[b:[]] k:v]"),
        ({}, "map[]"),
    ],
)
def test_stringify_as_the_go_service(value: object, text: str) -> None:
    assert stringify(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1200000.0, "1.2e+06"),
        (123456.0, "123456"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1e100, "1e+100"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
        (0.0, "0"),
    ],
)
def test_fmt_floats(value: float, text: str) -> None:
    assert go_float(value) == text


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_json_has_no_nan_or_infinity(value: float) -> None:
    with pytest.raises(ExprError, match="^json: unsupported value: "):
        stringify(value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_json_floats_read_back_exactly(value: float) -> None:
    assert float(json_float(value)) == value
    assert float(go_float(value)) == value


def test_stringify_is_bounded() -> None:
    with pytest.raises(ExprError, match="^memory budget exceeded"):
        stringify(["x" * 1000] * 2000)
    deep: list[object] = []
    for _ in range(300):
        deep = [deep]
    with pytest.raises(ExprError, match="^value nested too deeply"):
        stringify(deep)
    assert stringify([[[]]], limits=Limits(max_value_depth=3)) == "[[[]]]"


def test_format_value_charges_its_output() -> None:
    meter = Meter(Limits())
    assert format_value({"a": [1, "xy"]}, meter) == "map[a:[1 xy]]"
    assert meter.memory > 0
