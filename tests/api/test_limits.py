"""The bounds every body goes through: nesting depth, storable text, JSON-only values, YAML aliases."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration.api._bodies import parse_event, parse_json, parse_variables, parse_workflow_body
from orchestration.errors import ValidationFailed
from orchestration.limits import MAX_DEPTH, check_json_nesting, check_storable

DEEP = f"deeper than the limit of {MAX_DEPTH} levels"


def nested_array(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_json_nested_ten_thousand_deep_is_refused_before_parsing() -> None:
    for parse in (parse_json, parse_variables, parse_event):
        with pytest.raises(ValidationFailed, match=DEEP):
            parse(nested_array(10_000))


def test_json_at_the_depth_limit_is_read_and_one_more_is_not() -> None:
    assert parse_json(nested_array(MAX_DEPTH)) == json.loads(nested_array(MAX_DEPTH))
    with pytest.raises(ValidationFailed, match=DEEP):
        parse_json(nested_array(MAX_DEPTH + 1))
    mixed = b'{"a":' * (MAX_DEPTH - 1) + b"[]" + b"}" * (MAX_DEPTH - 1)
    assert parse_json(mixed)


def test_brackets_inside_strings_are_not_nesting() -> None:
    body = json.dumps({"name": "[" * 500 + '\\"{' * 500, "stages": []}).encode()
    assert parse_json(body)["stages"] == []


def test_an_unclosed_document_is_refused() -> None:
    with pytest.raises(ValidationFailed, match=DEEP):
        parse_json(b"[" * 4_000_000)
    with pytest.raises(ValidationFailed, match="unmarshalling json body"):
        parse_json(b'"' + b'\\"' * 1_000_000)  # a string that never ends: the scan stays linear


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
)


@given(JSON_VALUES, st.lists(st.sampled_from(["list", "object"]), max_size=2 * MAX_DEPTH))
@settings(max_examples=200, deadline=None)
def test_nesting_scan_agrees_with_the_parser(inner: object, wrappers: list[str]) -> None:
    document = inner
    for wrapper in wrappers:
        document = [document] if wrapper == "list" else {"[{": document}
    text = json.dumps(document)
    depth = _depth(document)
    if depth <= MAX_DEPTH:
        check_json_nesting(text)
    else:
        with pytest.raises(ValidationFailed):
            check_json_nesting(text)


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"name": "\\ud800"}', "'$.name' contains a lone UTF-16 surrogate"),
        (b'{"stages": [{"noop": {"\\udfff": 1}}]}', "a key of '$.stages[0].noop' contains a lone UTF-16 surrogate"),
        (b'{"name": "a\\u0000b"}', "'$.name' contains a NUL character"),
        (b'{"stages": [{"wait_event": {"event": ["\\u0000"]}}]}', "'$.stages[0].wait_event.event[0]' contains a NUL"),
        ('{"name": "\ud800"}'.encode("utf-8", "surrogatepass"), "lone UTF-16 surrogate"),
    ],
)
def test_text_that_cannot_be_stored_is_refused_and_located(body: bytes, where: str) -> None:
    with pytest.raises(ValidationFailed, match=r"which cannot be stored") as refused:
        parse_json(body)
    assert where in refused.value.message


def test_surrogate_pairs_and_escaped_backslashes_are_ordinary_text() -> None:
    assert parse_json(b'{"name": "\\ud83d\\ude00 \\\\u0000"}') == {"name": "\U0001f600 \\u0000"}


@pytest.mark.parametrize("number", [b"1e400", b"-1e400", b"1E999"])
def test_json_numbers_too_large_for_a_float_are_refused(number: bytes) -> None:
    with pytest.raises(ValidationFailed, match="out of range"):
        parse_json(b'{"a": ' + number + b"}")


def test_walk_refuses_values_json_cannot_spell() -> None:
    for value, message in ((float("nan"), "JSON numbers are finite"), ({"a": {1, 2}}, "has no JSON equivalent")):
        with pytest.raises(ValidationFailed, match=message):
            check_storable(value)
    with pytest.raises(ValidationFailed, match=DEEP):
        check_storable(json.loads(nested_array(MAX_DEPTH + 1)))
    check_storable(json.loads(nested_array(MAX_DEPTH)))


@pytest.mark.parametrize(
    "media_type",
    ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/vnd.yaml", "Text/YAML; charset=utf-8"],
)
def test_yaml_is_read_with_every_yaml_media_type(media_type: str) -> None:
    assert parse_workflow_body(b"name: y\nstages: []\n", media_type) == {"name": "y", "stages": []}


def test_yaml_sent_as_json_gets_a_hint() -> None:
    for body in (b"name: y\nstages: []\n", b"---\nstages: []\n", b"- noop: {}\n"):
        with pytest.raises(ValidationFailed, match="send it with Content-Type: application/yaml"):
            parse_workflow_body(body, "application/json")
    with pytest.raises(ValidationFailed) as plain:
        parse_json(b"{not json")
    assert "YAML" not in plain.value.message


def test_yaml_aliases_are_refused_so_billion_laughs_cannot_expand() -> None:
    laughs = b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        laughs += f"{level}: &{level} [{', '.join([f'*{previous}'] * 9)}]\n".encode()
    with pytest.raises(ValidationFailed, match=r"aliases are not accepted \(\*a at line 2"):
        parse_workflow_body(laughs, "application/yaml")
    with pytest.raises(ValidationFailed, match="aliases are not accepted"):
        parse_workflow_body(b"a: &x [*x]\n", "application/yaml")  # a cycle
    assert parse_workflow_body(b"a: &x [1]\n", "application/yaml") == {"a": [1]}  # an anchor alone is harmless


def test_yaml_nested_ten_thousand_deep_is_refused_before_composing() -> None:
    with pytest.raises(ValidationFailed, match=DEEP):
        parse_workflow_body(nested_array(500), "application/yaml")
    with pytest.raises(ValidationFailed, match="nesting depth|deeper than"):  # libyaml stops at 1,000 itself
        parse_workflow_body(nested_array(10_000), "application/yaml")
    block = "".join("  " * i + "a:\n" for i in range(MAX_DEPTH + 1)).encode()
    with pytest.raises(ValidationFailed, match=DEEP):
        parse_workflow_body(block, "application/yaml")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"a: !!binary aGVsbG8=", "could not determine a constructor"),
        (b"a: !!set {x}", "could not determine a constructor"),
        (b"a: !!timestamp 2001-01-01", "could not determine a constructor"),
        (b"a: !!python/object:os.system x", "could not determine a constructor"),
        (b"a: .inf", "JSON numbers are finite"),
        (b"a: .nan", "JSON numbers are finite"),
        (b'a: "\\0"', "contains a NUL character"),
        (b"a: " + b"1" * 5000, "unmarshalling yaml"),
        (b"a: 1\n---\nb: 2\n", "unmarshalling yaml"),
    ],
)
def test_yaml_values_that_json_cannot_hold_are_refused(body: bytes, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        parse_workflow_body(body, "application/yaml")


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_any_text_as_a_body_parses_or_is_a_validation_error(text: str) -> None:
    raw = text.encode("utf-8", "surrogatepass")
    for media_type in ("application/json", "application/yaml"):
        try:
            document = parse_workflow_body(raw, media_type)
        except ValidationFailed:
            continue
        json.dumps(document, allow_nan=False).encode("utf-8")  # storable and readable back
