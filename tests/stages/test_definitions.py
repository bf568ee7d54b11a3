"""Stage definitions: what `POST /workflows` accepts (spec §17.2 items 7–11, Q-14) and the
resolver vectors of spec §17.7 item 63; plus the `parse_stage` / `run_stage` doors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from orchestration.stages import (
    STAGES,
    StageConfigError,
    StageDefinitionError,
    check_definition,
    parse_stage,
    resolve_stage,
    run_stage,
)
from orchestration.stages import _schema as schema
from orchestration.stages.delay import DelayConfig
from orchestration.stages.send import SendConfig
from orchestration.stages.update import UpdateConfig
from orchestration.stages.wait_event import WaitEventConfig
from tests.stages.fake_context import FakeContext
from tests.testing.shared import shared_dir

UTC = UTC
EXAMPLE_NAMES = [
    "delay", "failing-workflow", "ledger-to-ledger", "ledger-to-wallet", "payin-to-wallet",
    "update-account-metadata", "wait_event", "wallet-to-payout", "workflow",
]


def definition_error(stages: list[object]) -> str:
    with pytest.raises(StageDefinitionError) as info:
        check_definition(stages)
    return info.value.message


# --------------------------------------------------------------------------------------------
# parse_stage


def test_parse_stage_splits_type_and_body() -> None:
    assert parse_stage({"delay": {"duration": "1s"}}) == ("delay", {"duration": "1s"})
    assert parse_stage({"noop": None}) == ("noop", None)


@pytest.mark.parametrize(
    ("element", "message"),
    [
        ({}, "empty specification"),
        ({"noop": {}, "delay": {"duration": "1s"}}, "a specification should have only one name"),
        ({"foo": {}}, "unable to resolve schema foo"),
        ({"Delay": {}}, "unable to resolve schema Delay"),
    ],
)
def test_parse_stage_rejects(element: object, message: str) -> None:
    with pytest.raises(StageDefinitionError) as info:
        parse_stage(element)
    assert info.value.message == message


@pytest.mark.parametrize("element", ["delay", ["noop"], None, 3])
def test_parse_stage_rejects_elements_that_are_not_objects(element: object) -> None:
    with pytest.raises(StageDefinitionError, match="must be an object"):
        parse_stage(element)


def test_stages_registry_is_complete() -> None:
    assert set(STAGES) == {"noop", "delay", "wait_event", "update", "send"}


# --------------------------------------------------------------------------------------------
# check_definition: rejected at creation (§17.2 items 7–10)


def test_stage_body_that_is_not_an_object_is_rejected() -> None:
    # §17.2 item 7 (`{"stages":[{"send":"x"}]}`); empty or broken JSON bodies are the API's to reject.
    assert definition_error([{"send": "x"}]) == "stage 0 (send): expected map but was string"
    assert definition_error([{"delay": "1s"}]) == "stage 0 (delay): expected map but was string"
    assert definition_error([{"noop": []}]) == "stage 0 (noop): expected map but was []interface {}"


def test_unknown_stage_type_is_rejected() -> None:
    assert "unable to resolve schema foo" in definition_error([{"foo": {}}])


def test_empty_and_double_specifications_are_rejected() -> None:
    assert "empty specification" in definition_error([{}])
    assert "a specification should have only one name" in definition_error(
        [{"noop": {}, "delay": {"duration": "1s"}}]
    )


@pytest.mark.parametrize(
    ("stage", "fields"),
    [
        ({"send": {}}, ["'Source'", "expected map but was <nil>"]),
        ({"send": None}, ["'Source'", "expected map but was <nil>"]),
        ({"send": {"source": {}}}, ["'Destination'", "<nil>"]),
        ({"delay": {"duration": 5}}, ["'Duration'", "expected uint or interpolated string but was float64"]),
        ({"delay": {"duration": "abc"}}, ["'Duration'", "duration value"]),
        ({"delay": {"until": "tomorrow"}}, ["'Until'", "rfc3339"]),
        (
            {"send": {"source": {}, "destination": {}, "amount": {"amount": "abc"}}},
            ["'Amount': resolving field 'Amount'", "unable to parse 'abc' as big int"],
        ),
        ({"send": {"source": {}, "destination": {}, "amount": {"amount": 100.9}}}, ["'Amount'", "integer"]),
        ({"update": {"account": {"id": "a", "metadata": {"k": 1}}}}, ["'Account'", "'Metadata'"]),
        ({"wait_event": {"event": {}}}, ["'Event'", "expected string"]),
    ],
)
def test_type_errors_are_rejected_at_creation(stage: object, fields: list[str]) -> None:
    message = definition_error([stage])
    assert all(part in message for part in fields), message


def test_unresolved_waiting_validation_is_rejected_even_at_creation() -> None:
    #
    stage = {"send": {"source": {}, "destination": {"payment": {"waitingValidation": "${x}"}}}}
    assert "'WaitingValidation'" in definition_error([stage])


def test_the_message_names_the_failing_stage() -> None:
    message = definition_error([{"noop": {}}, {"wait_event": {"event": "e"}}, {"delay": {"duration": "abc"}}])
    assert message == (
        "stage 2 (delay): resolving field 'Duration': unable to resolve field 'Duration' to duration value"
    )
    assert definition_error([{"noop": {}}, {}]) == "stage 1: empty specification"


# --------------------------------------------------------------------------------------------
# check_definition: accepted at creation (§17.2 item 11, Q-14)


@pytest.mark.parametrize(
    "stages",
    [
        None,
        [],
        [{"wait_event": {}}],
        [{"delay": {}}],
        [{"update": {}}],
        [{"send": {"source": {}, "destination": {}}}],
        [{"noop": {}}, {"noop": None}, {"noop": {"anything": [1, 2]}}],
        [{"delay": None}, {"wait_event": None}, {"update": None}],
        [{"delay": {"duration": "1s", "until": "2030-01-01T00:00:00Z"}}],  # fails only at start
        [{"delay": {"duration": "${d}"}}, {"delay": {"until": "${u}"}}],
        [{"send": {"source": {}, "destination": {}, "amount": {"amount": "${amount}"}, "timestamp": "${ts}"}}],
        [{"send": {"source": {}, "destination": {}, "amount": {"amount": 100.0}}}],
        [{"send": {"source": {"wallet": {}}, "destination": {"payment": {"waitingValidation": "true"}}}}],
    ],
)
def test_structurally_valid_definitions_are_accepted(stages: list[object] | None) -> None:
    check_definition(stages)


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_upstream_examples_are_accepted(name: str) -> None:
    path = shared_dir() / "reference" / "examples" / f"{name}.yaml"
    check_definition(yaml.safe_load(path.read_text())["stages"])


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | st.sampled_from(["${x}", "1s"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(
        st.sampled_from(["source", "destination", "wallet", "account", "payment", "amount", "id", "name", "asset",
                         "metadata", "timestamp", "duration", "until", "event", "ledger", "waitingValidation"]),
        children,
        max_size=4,
    ),
    max_leaves=12,
)


@given(st.lists(st.dictionaries(st.sampled_from(sorted(STAGES) + ["foo"]), JSON, max_size=2), max_size=3))
def test_any_json_definition_is_accepted_or_rejected_with_a_definition_error(stages: list[object]) -> None:
    try:
        check_definition(stages)
    except StageDefinitionError:
        pass


@given(st.sampled_from(sorted(STAGES)), JSON, st.dictionaries(st.sampled_from(["x", "d"]), st.text(max_size=6)))
def test_any_json_config_resolves_or_raises_a_config_error(kind: str, raw: object, variables: dict[str, str]) -> None:
    try:
        resolved = resolve_stage(kind, raw, variables)
    except StageConfigError:
        return
    assert resolved.kind == kind
    json.dumps(resolved.history_input, allow_nan=False)  # always JSON-ready


# --------------------------------------------------------------------------------------------
# §17.7 item 63: resolver vectors


def test_send_with_two_destinations_resolves_but_fails_validation() -> None:
    raw = {
        "source": {"account": {"id": "bar"}},
        "destination": {"wallet": {"id": "foo"}, "account": {"id": "foo"}},
        "amount": {"amount": 100, "asset": "USD"},
    }
    config = schema.resolve(SendConfig, raw, {})
    assert config.source.account is not None and config.source.account.ledger == "default"
    assert config.destination.account is not None and config.destination.account.ledger == "default"
    assert config.destination.wallet is not None and config.destination.wallet.balance == "main"
    assert config.amount is not None and (config.amount.amount, config.amount.asset) == (100, "USD")
    assert schema.validate(config, "Send")
    with pytest.raises(StageConfigError, match="wallet or account or payment"):
        resolve_stage("send", raw, {})


def test_send_with_empty_destination_wallet_resolves_but_fails_validation() -> None:
    raw = {"source": {"account": {"id": "bar"}}, "destination": {"wallet": {}}}
    config = schema.resolve(SendConfig, raw, {})
    wallet = config.destination.wallet
    assert wallet is not None and (wallet.id, wallet.name, wallet.balance) == ("", "", "main")
    with pytest.raises(StageConfigError, match="id or name"):
        resolve_stage("send", raw, {})


def test_send_interpolates_every_string_leaf() -> None:
    raw = {
        "source": {"payment": {"id": "${paymentID}", "psp": "test"}},
        "destination": {"account": {"id": "test:${var1}:test:${var2}:test:${var3}:test"}},
        "amount": {"amount": "${amount}", "asset": "EUR/2"},
    }
    variables = {"paymentID": "test", "var1": "001", "var2": "003", "var3": "f5649", "amount": "2819"}
    config = resolve_stage("send", raw, variables).config
    assert isinstance(config, SendConfig)
    assert config.source.payment is not None and config.source.payment.id == "test"
    assert config.destination.account is not None
    assert config.destination.account.id == "test:001:test:003:test:f5649:test"
    assert config.destination.account.ledger == "default"
    assert config.amount is not None and (config.amount.amount, config.amount.asset) == (2819, "EUR/2")


@pytest.mark.parametrize(
    ("timestamp", "variables"),
    [
        ("2024-05-02T10:11:12.123456789Z", {}),
        ("${timestamp}", {"timestamp": "2024-05-02T10:11:12.123456789Z"}),
    ],
)
def test_send_metadata_and_timestamp(timestamp: str, variables: dict[str, str]) -> None:
    raw = {
        "source": {"account": {"id": "world"}},
        "destination": {"account": {"id": "bank"}},
        "amount": {"amount": 100, "asset": "USD"},
        "metadata": {"foo": "bar"},
        "timestamp": timestamp,
    }
    config = resolve_stage("send", raw, variables).config
    assert isinstance(config, SendConfig)
    assert config.metadata == {"foo": "bar"}
    assert config.timestamp == datetime(2024, 5, 2, 10, 11, 12, 123457, tzinfo=UTC)


def test_delay_vectors() -> None:
    until = resolve_stage("delay", {"until": "2030-01-01T00:00:00Z"}, {}).config
    assert until == DelayConfig(duration=None, until=datetime(2030, 1, 1, tzinfo=UTC))
    assert resolve_stage("delay", {"duration": "10s"}, {}).config == DelayConfig(
        duration=timedelta(seconds=10), until=None
    )
    assert schema.resolve(DelayConfig, {}, {}) == DelayConfig(duration=None, until=None)
    for raw in ({}, {"duration": "10s", "until": "2030-01-01T00:00:00Z"}):
        with pytest.raises(StageConfigError, match="duration or until"):
            resolve_stage("delay", raw, {})


def test_update_vector() -> None:
    raw = {
        "account": {
            "id": "merchant:${merchantID}",
            "ledger": "demo",
            "metadata": {"formanceAccountID": "${paymentAccountID}"},
        }
    }
    config = resolve_stage("update", raw, {"merchantID": "1234", "paymentAccountID": "ABCD"}).config
    assert isinstance(config, UpdateConfig) and config.account is not None
    assert (config.account.id, config.account.ledger) == ("merchant:1234", "demo")
    assert config.account.metadata == {"formanceAccountID": "ABCD"}


def test_wait_event_vectors() -> None:
    assert resolve_stage("wait_event", {"event": "test"}, {}).config == WaitEventConfig(event="test")
    for raw in ({}, {"other": "test"}):
        with pytest.raises(StageConfigError, match="'WaitEvent.Event'"):
            resolve_stage("wait_event", raw, {})


# --------------------------------------------------------------------------------------------
# run_stage


async def test_run_stage_runs_noop() -> None:
    ctx = FakeContext()
    await run_stage(ctx, resolve_stage("noop", {}, {}))
    assert not ctx.touched_the_world
