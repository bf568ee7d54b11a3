"""`${name}` interpolation (spec §5.2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestration.stages._interpolate import interpolate

VARIABLES = {"var1": "001", "var2": "003", "a": "A", " a ": "spaced", "b": "${a}", "slash": "\\1"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("test:${var1}:test:${var2}", "test:001:test:003"),
        ("${var1}", "001"),
        ("${undefined}", ""),  # no error: the field default applies afterwards
        ("x${undefined}y", "xy"),
        ("${ a }", "spaced"),  # the key is not trimmed
        ("${}", "${}"),  # not a placeholder
        ("$a {a} $(a)", "$a {a} $(a)"),
        ("$${a}", "$A"),
        ("${a}}", "A}"),
        ("${a${b}", ""),  # no nesting: the key is "a${b"
        ("${b}", "${a}"),  # one pass: a value is never interpolated again
        ("${slash}", "\\1"),  # values are inserted literally
        ("${a}${a}", "AA"),
        ("", ""),
    ],
)
def test_interpolate(text: str, expected: str) -> None:
    assert interpolate(text, VARIABLES) == expected


def test_multiline_key_is_looked_up_verbatim() -> None:
    assert interpolate("${x\ny}", {"x\ny": "ok"}) == "ok"


@given(st.text().filter(lambda text: "${" not in text))
def test_text_without_placeholders_is_unchanged(text: str) -> None:
    assert interpolate(text, VARIABLES) == text


@given(st.text(alphabet=st.characters(blacklist_characters="}"), min_size=1), st.text())
def test_any_defined_key_is_replaced_by_its_value(key: str, value: str) -> None:
    assert interpolate("<${" + key + "}>", {key: value}) == f"<{value}>"
