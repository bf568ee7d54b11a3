"""The request schemas of the OpenAPI document match what the server accepts.

What a schema allows must be accepted (schemathesis sends it and expects no 400), and what
the server refuses must be outside the schema; the stage schemas must name every field of the
stage configurations, and nothing else.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration import stages
from orchestration.api._contract import REQUEST_SCHEMAS, TEXT, UUID
from orchestration.service import is_canonical_id
from orchestration.service.workflows import MAX_STAGES
from orchestration.stages._schema import _key, _spec


def schema_named(ref: dict[str, str]) -> str:
    return ref["$ref"].rsplit("/", 1)[1]


def config_schemas() -> list[tuple[str, type[Any]]]:
    """Each stage schema with the config class it documents, following nested objects."""
    found: list[tuple[str, type[Any]]] = []
    pending = [
        (schema_named(ref), stages.STAGES[stages.StageKind(kind)].config)
        for kind, ref in REQUEST_SCHEMAS["StageDefinition"]["properties"].items()
    ]
    while pending:
        name, config = pending.pop()
        found.append((name, config))
        for field in dataclasses.fields(config):
            documented = REQUEST_SCHEMAS[name]["properties"][_key(field)]
            if "$ref" in documented:
                nested = _spec(field).nested
                assert nested is not None, f"{name}.{_key(field)} is documented as an object"
                pending.append((schema_named(documented), nested))
    return found


def pattern(schema: str, field: str) -> str:
    found: str = REQUEST_SCHEMAS[schema]["properties"][field]["pattern"]
    return found


def accepted_at_creation(stage: dict[str, Any]) -> bool:
    try:
        stages.check_definition([stage])
    except stages.StageDefinitionError:
        return False
    return True


def test_every_stage_type_has_a_schema() -> None:
    kinds = REQUEST_SCHEMAS["StageDefinition"]["properties"]
    assert set(kinds) == {kind.value for kind in stages.STAGES}
    assert REQUEST_SCHEMAS["WorkflowDefinition"]["properties"]["stages"]["maxItems"] == MAX_STAGES


def test_stage_schemas_name_exactly_the_config_fields() -> None:
    documented = config_schemas()
    assert len(set(documented)) == len({name for name, _ in documented}) == 13  # one class per schema
    for name, config in documented:
        properties = set(REQUEST_SCHEMAS[name].get("properties", {}))
        keys = {_key(field) for field in dataclasses.fields(config)}
        aliases = {alias for field in dataclasses.fields(config) if (alias := _spec(field).alias)}
        assert properties == keys | aliases, name


def draw(schema: str, field: str) -> st.SearchStrategy[str]:
    return st.from_regex(pattern(schema, field), fullmatch=True)


@given(draw("DelayStage", "duration"))
@settings(max_examples=300, deadline=None)
def test_every_documented_duration_is_accepted(text: str) -> None:
    assert accepted_at_creation({"delay": {"duration": text}}), text


@given(draw("DelayStage", "until"))
@settings(max_examples=300, deadline=None)
def test_every_documented_date_is_accepted(text: str) -> None:
    assert accepted_at_creation({"delay": {"until": text}}), text


@given(draw("SendAmount", "amount") | st.integers())
@settings(max_examples=300, deadline=None)
def test_every_documented_amount_is_accepted(amount: str | int) -> None:
    assert accepted_at_creation({"send": {"source": {}, "destination": {}, "amount": {"amount": amount}}})


@given(draw("DestinationPayment", "type"))
@settings(max_examples=100, deadline=None)
def test_every_documented_transfer_type_is_accepted(kind: str) -> None:
    assert accepted_at_creation({"send": {"source": {}, "destination": {"payment": {"type": kind}}}}), kind


@given(draw("DestinationPayment", "waitingValidation") | st.booleans())
@settings(max_examples=100, deadline=None)
def test_every_documented_flag_is_accepted(flag: str | bool) -> None:
    stage = {"send": {"source": {}, "destination": {"payment": {"waitingValidation": flag}}}}
    assert accepted_at_creation(stage)


@pytest.mark.parametrize(
    ("schema", "field", "text"),
    [
        ("DelayStage", "duration", "abc"),
        ("DelayStage", "duration", "5"),
        ("DelayStage", "duration", "5 s"),
        ("DelayStage", "duration", "9999999999h"),
        ("DelayStage", "until", "2024-01-01"),
        ("DelayStage", "until", "2024-02-30T00:00:00Z"),
        ("DelayStage", "until", "2024-01-01t00:00:00z"),
        ("DelayStage", "until", "0000-01-01T00:00:00Z"),
        ("SendAmount", "amount", "1.5"),
        ("SendAmount", "amount", "1_000"),
        ("DestinationPayment", "waitingValidation", ""),
        ("DestinationPayment", "waitingValidation", "${unset}"),
        ("DestinationPayment", "waitingValidation", "yes"),
        ("DestinationPayment", "type", "WIRE"),
        ("DestinationPayment", "type", " PAYOUT"),
        ("LedgerAccount", "allowOverdraft", "${x}"),
    ],
)
def test_what_the_server_refuses_is_outside_the_schema(schema: str, field: str, text: str) -> None:
    assert re.search(pattern(schema, field), text) is None
    stages_by_schema: dict[str, dict[str, Any]] = {
        "DelayStage": {"delay": {field: text}},
        "SendAmount": {"send": {"source": {}, "destination": {}, "amount": {"amount": text}}},
        "DestinationPayment": {"send": {"source": {}, "destination": {"payment": {field: text}}}},
        "LedgerAccount": {"send": {"source": {"account": {field: text}}, "destination": {}}},
    }
    stage = stages_by_schema[schema]
    assert not accepted_at_creation(stage)


@pytest.mark.parametrize("text", ["", "${d}", "0", "-1.5h", "1h30m", "300ms", "2\u00b5s"])
def test_documented_durations_include_the_zero_forms_and_variables(text: str) -> None:
    assert re.search(pattern("DelayStage", "duration"), text) and accepted_at_creation({"delay": {"duration": text}})


def test_text_and_ids() -> None:
    assert re.search(TEXT, "any text, even \ud83d\ude00 or \\u0000") and not re.search(TEXT, "a\x00b")
    assert re.search(UUID, "0e1b1c3a-1111-4111-8111-111111111111")
    assert is_canonical_id("0e1b1c3a-1111-4111-8111-111111111111")
    for not_an_id in ("0E1B1C3A-1111-4111-8111-111111111111", "0e1b1c3a-1111-4111-8111-111111111111\n", "x", ""):
        assert not is_canonical_id(not_an_id)
