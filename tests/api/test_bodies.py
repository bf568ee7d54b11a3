"""Request bodies: JSON as Go decodes it, YAML that converts to the same JSON, precise errors."""

from __future__ import annotations

import pytest

from orchestration.api._bodies import parse_event, parse_json, parse_variables, parse_workflow_body
from orchestration.errors import ValidationFailed


def test_integers_of_any_size_stay_exact() -> None:
    assert parse_json(b'{"a": 123456789012345678901234567890}') == {"a": 123456789012345678901234567890}


@pytest.mark.parametrize("raw", [b"", b"  \n", b"{", b"NaN", b'{"a": Infinity}', b"\xff"])
def test_invalid_json_is_a_validation_error(raw: bytes) -> None:
    with pytest.raises(ValidationFailed, match="unmarshalling json body"):
        parse_json(raw)


def test_yaml_keeps_dates_and_times_as_strings() -> None:
    body = parse_workflow_body(b"stages:\n- delay:\n    until: 2030-01-01T00:00:00Z\n", "text/vnd.yaml; charset=utf-8")
    assert body == {"stages": [{"delay": {"until": "2030-01-01T00:00:00Z"}}]}


def test_yaml_only_with_its_media_type() -> None:
    with pytest.raises(ValidationFailed, match="unmarshalling json body"):
        parse_workflow_body(b"stages: []", "text/plain")
    with pytest.raises(ValidationFailed, match="unmarshalling yaml"):
        parse_workflow_body(b"stages: [", "text/vnd.yaml")


@pytest.mark.parametrize(("raw", "expected"), [(b"", {}), (b"null", {}), (b'{"a":"1"}', {"a": "1"})])
def test_run_variables(raw: bytes, expected: dict[str, str]) -> None:
    assert parse_variables(raw) == expected


@pytest.mark.parametrize("raw", [b'{"a":1}', b"[]", b'"x"', b'{"a":null}'])
def test_run_variables_must_be_strings(raw: bytes) -> None:
    with pytest.raises(ValidationFailed):
        parse_variables(raw)


def test_event_needs_a_name() -> None:
    assert parse_event(b'{"name":"go","other":1}') == "go"
    for raw in (b"{}", b'{"name":""}', b'{"name":1}', b"[]"):
        with pytest.raises(ValidationFailed):
            parse_event(raw)
