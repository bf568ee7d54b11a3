"""Stage configuration resolution (spec §5.1, §5.4), requirements (§5.5) and history input (§5.6)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from orchestration.stages import StageConfigError, resolve_stage
from orchestration.stages import _schema as schema
from orchestration.stages._timestamp import ZERO_TIME
from orchestration.stages.delay import DelayConfig
from orchestration.stages.send import SendConfig
from orchestration.stages.update import UpdateConfig

UTC = UTC
VARIABLES = {"x": "value", "amount": "2819", "d": "1s", "yes": "TRUE", "ts": "2024-05-02T10:11:12.123456Z"}


@dataclass(frozen=True, kw_only=True)
class Inner:
    name: str = schema.string("Name")


@dataclass(frozen=True, kw_only=True)
class Probe:
    """One field of every kind of the §5.1 table."""

    text: str = schema.string("Text", default="dflt")
    plain: str = schema.string("Plain")
    maybe_text: str | None = schema.string("MaybeText", optional=True)
    number: int | None = schema.big_int("Number", optional=True)
    wait: timedelta | None = schema.duration("Wait", optional=True)
    flag: bool = schema.boolean("Flag", default=True)
    when: datetime | None = schema.timestamp("When", optional=True)
    labels: dict[str, str] | None = schema.string_map("Labels")
    inner: Inner = schema.nested("Inner", Inner)
    maybe: Inner | None = schema.nested("Maybe", Inner, optional=True)


def probe(**raw: object) -> Probe:
    return schema.resolve(Probe, {"inner": {}, **raw}, VARIABLES)


def probe_error(**raw: object) -> str:
    with pytest.raises(StageConfigError) as info:
        probe(**raw)
    return info.value.message


# --------------------------------------------------------------------------------------------
# §5.1 string


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("a ${x}", "a value"), ("", "dflt"), ("${undefined}", "dflt"), (None, "dflt"), ("  ", "  ")],
)
def test_string_is_interpolated_and_empty_takes_the_default(raw: object, expected: str) -> None:
    assert probe(text=raw).text == expected


def test_absent_string_takes_its_default_or_empty() -> None:
    resolved = probe()
    assert (resolved.text, resolved.plain, resolved.maybe_text) == ("dflt", "", None)


def test_optional_string_that_interpolates_to_empty_is_set() -> None:
    assert probe(maybe_text="${undefined}").maybe_text == ""


@pytest.mark.parametrize(
    ("raw", "type_name"),
    [(5, "float64"), (1.5, "float64"), (True, "bool"), ({}, "map[string]interface {}"), ([], "[]interface {}")],
)
def test_string_rejects_other_json_types(raw: object, type_name: str) -> None:
    assert probe_error(text=raw) == f"resolving field 'Text': expected string but was {type_name}"


# --------------------------------------------------------------------------------------------
# §5.1 big integer (Q-19, DESIGN §4: exact, never rounded)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123", 123),
        ("-1", -1),
        ("+5", 5),
        ("007", 7),
        ("${amount}", 2819),
        ("", None),  # a null amount, not an error
        ("${undefined}", None),
        ("123456789012345678901234567890", 123456789012345678901234567890),
        (100, 100),
        (2**80 + 1, 2**80 + 1),
        (-3, -3),
        (100.0, 100),
        (1e3, 1000),
        (float(2**53), 2**53),
        (Decimal("100"), 100),
        (Decimal("1E+30"), 10**30),
        (None, None),
    ],
)
def test_big_int_is_exact(raw: object, expected: int | None) -> None:
    assert probe(number=raw).number == expected


@pytest.mark.parametrize("raw", ["abc", "1.5", "1e3", " 1", "1 ", "1_000", "0x10", "\u0661", "--1", "+"])
def test_big_int_string_must_be_base_10_digits(raw: str) -> None:
    assert probe_error(number=raw) == f"resolving field 'Number': unable to parse '{raw}' as big int"


@pytest.mark.parametrize("raw", [100.9, -0.5, 1.5, Decimal("1.5"), float("inf"), float("nan")])
def test_non_integral_number_is_an_error_not_truncated(raw: object) -> None:
    message = probe_error(number=raw)
    assert message.startswith("resolving field 'Number': expected an integer but was")


def test_integral_float_beyond_2_pow_53_is_an_error_not_rounded() -> None:
    assert "cannot be read exactly" in probe_error(number=1e30)


@pytest.mark.parametrize("raw", [True, {}, []])
def test_big_int_rejects_other_json_types(raw: object) -> None:
    assert probe_error(number=raw).startswith("resolving field 'Number': expected integer or string but was")


# --------------------------------------------------------------------------------------------
# §5.1 duration


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10s", timedelta(seconds=10)),
        ("${d}", timedelta(seconds=1)),
        ("", timedelta(0)),  # set to zero, not unset
        ("${undefined}", timedelta(0)),
        (None, None),
    ],
)
def test_duration(raw: object, expected: timedelta | None) -> None:
    assert probe(wait=raw).wait == expected


def test_bad_duration_text_is_an_error() -> None:
    assert probe_error(wait="abc") == (
        "resolving field 'Wait': unable to resolve field 'Duration' to duration value"
    )


@pytest.mark.parametrize(("raw", "type_name"), [(5, "float64"), (True, "bool"), ({}, "map[string]interface {}")])
def test_duration_rejects_numbers_and_others(raw: object, type_name: str) -> None:
    assert probe_error(wait=raw) == (
        f"resolving field 'Wait': expected uint or interpolated string but was {type_name}"
    )


# --------------------------------------------------------------------------------------------
# §5.1 bool


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(False, False), (True, True), ("true", True), ("FALSE", False), ("${yes}", True), (None, True)],
)
def test_bool(raw: object, expected: bool) -> None:
    assert probe(flag=raw).flag is expected


@pytest.mark.parametrize("raw", ["", "${undefined}", "yes", "1", " true"])
def test_bool_text_must_be_true_or_false_even_when_empty(raw: str) -> None:
    # an undefined variable is an error here, the default is not used.
    assert probe_error(flag=raw) == "resolving field 'Flag': unable to resolve field 'bool' to bool value"


@pytest.mark.parametrize("raw", [1, {}, []])
def test_bool_rejects_other_json_types(raw: object) -> None:
    assert "resolving field 'Flag': expected uint or interpolated string but was " in probe_error(flag=raw)


# --------------------------------------------------------------------------------------------
# §5.1 timestamp


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-02T10:11:12Z", datetime(2024, 5, 2, 10, 11, 12, tzinfo=UTC)),
        ("${ts}", datetime(2024, 5, 2, 10, 11, 12, 123456, tzinfo=UTC)),
        ("2024-05-02T10:11:12.123456789Z", datetime(2024, 5, 2, 10, 11, 12, 123457, tzinfo=UTC)),
        ("2024-05-02T10:11:12.1234565Z", datetime(2024, 5, 2, 10, 11, 12, 123457, tzinfo=UTC)),  # halves up
        ("2024-05-02T10:11:12.1234564999Z", datetime(2024, 5, 2, 10, 11, 12, 123456, tzinfo=UTC)),
        ("2024-12-31T23:59:59.9999996Z", datetime(2025, 1, 1, tzinfo=UTC)),  # rounding carries over
        ("2024-05-02T12:11:12+02:00", datetime(2024, 5, 2, 10, 11, 12, tzinfo=UTC)),
        ("2024-05-02T00:11:12-01:30", datetime(2024, 5, 2, 1, 41, 12, tzinfo=UTC)),
        ("2024-05-02T10:11:12,5Z", datetime(2024, 5, 2, 10, 11, 12, 500000, tzinfo=UTC)),
        ("", ZERO_TIME),  # the zero date, not unset
        ("${undefined}", ZERO_TIME),
        (None, None),
    ],
)
def test_timestamp_is_utc_rounded_to_the_microsecond(raw: object, expected: datetime | None) -> None:
    resolved = probe(when=raw).when
    assert resolved == expected
    if resolved is not None:
        assert resolved.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "raw",
    [
        "2024-05-02",
        "2024-05-02T10:11:12",  # the zone is required
        "2024-05-02 10:11:12Z",
        "2024-05-02t10:11:12Z",
        "2024-05-02T10:11:12z",
        "2024-02-30T10:11:12Z",
        "2024-05-02T24:00:00Z",
        "2024-05-02T10:11:60Z",
        "2024-05-02T10:11:12+24:00",
        "0000-01-01T00:00:00Z",  # before year 1: not representable
        "0001-01-01T00:00:00+01:00",
        "yesterday",
    ],
)
def test_bad_timestamp_is_an_error(raw: str) -> None:
    assert probe_error(when=raw) == "resolving field 'When': expected date as rfc3339 format"


def test_timestamp_rejects_numbers() -> None:
    assert probe_error(when=1714644672) == "resolving field 'When': expected string but was float64"


# --------------------------------------------------------------------------------------------
# §5.1 map string→string


def test_map_values_are_interpolated_keys_are_not() -> None:
    assert probe(labels={"k": "${x}", "${x}": "v", "n": None}).labels == {"k": "value", "${x}": "v", "n": ""}


def test_absent_map_stays_null() -> None:
    assert probe().labels is None


def test_map_must_be_an_object() -> None:
    assert probe_error(labels="x") == "resolving field 'Labels': expecting map, got type: string"


def test_map_values_must_be_strings() -> None:
    message = probe_error(labels={"count": 1})
    assert message.startswith("resolving field 'Labels': ") and "'count'" in message and "float64" in message


# --------------------------------------------------------------------------------------------
# §5.1 nested objects


def test_non_optional_object_must_be_present() -> None:
    with pytest.raises(StageConfigError, match=r"^resolving field 'Inner': expected map but was <nil>$"):
        schema.resolve(Probe, {}, {})


def test_object_must_be_a_map() -> None:
    assert probe_error(inner="x") == "resolving field 'Inner': expected map but was string"
    assert probe_error(maybe=[]) == "resolving field 'Maybe': expected map but was []interface {}"


def test_optional_object_is_unset_when_absent_and_set_when_empty() -> None:
    assert probe().maybe is None
    assert probe(maybe=None).maybe is None
    assert probe(maybe={}).maybe == Inner(name="")


def test_errors_are_wrapped_once_per_level() -> None:
    assert probe_error(inner={"name": 1}) == (
        "resolving field 'Inner': resolving field 'Name': expected string but was float64"
    )


def test_unknown_keys_are_ignored() -> None:
    assert probe(inner={"name": "n", "other": 1}, extra=[1]).inner == Inner(name="n")


def test_null_body_reads_as_empty_object() -> None:
    assert schema.resolve(DelayConfig, None, {}) == DelayConfig(duration=None, until=None)


def test_spec_error_example_for_a_bad_amount() -> None:
    raw = {"source": {}, "destination": {}, "amount": {"amount": "abc", "asset": "USD"}}
    with pytest.raises(StageConfigError) as info:
        schema.resolve(SendConfig, raw, {})
    assert info.value.message == "resolving field 'Amount': resolving field 'Amount': unable to parse 'abc' as big int"


# --------------------------------------------------------------------------------------------
# §5.4 defaults


def test_send_defaults_apply_to_absent_and_empty_values() -> None:
    raw = {
        "source": {"wallet": {"id": "w", "balance": "${undefined}"}},
        "destination": {"payment": {"psp": "stripe", "metadata": ""}},
    }
    config = schema.resolve(SendConfig, raw, {})
    assert config.source.wallet is not None and config.source.wallet.balance == "main"
    payment = config.destination.payment
    assert payment is not None
    assert (payment.metadata, payment.waiting_validation, payment.connector_id) == ("formanceAccountID", False, None)
    accounts = schema.resolve(
        SendConfig, {"source": {"account": {"id": "a"}}, "destination": {"account": {"id": "b", "ledger": "${l}"}}}, {}
    )
    assert accounts.source.account is not None and accounts.source.account.ledger == "default"
    assert accounts.destination.account is not None and accounts.destination.account.ledger == "default"


def test_update_ledger_defaults_to_main() -> None:
    # `main` here, `default` in send.
    config = schema.resolve(UpdateConfig, {"account": {"id": "a", "metadata": {}}}, {})
    assert config.account is not None and config.account.ledger == "main"


def test_waiting_validation_reads_bool_and_text() -> None:
    raw = {"source": {}, "destination": {"payment": {"waitingValidation": "${v}"}}}
    config = schema.resolve(SendConfig, raw, {"v": "true"})
    assert config.destination.payment is not None and config.destination.payment.waiting_validation is True


# --------------------------------------------------------------------------------------------
# §5.5 requirements


def resolve_error(kind: str, raw: object, variables: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(StageConfigError) as info:
        resolve_stage(kind, raw, variables or {})
    return info.value.message.split("\n")


def test_required_message_is_go_validator_style() -> None:
    assert resolve_error("wait_event", {}) == [
        "Key: 'WaitEvent.Event' Error:Field validation for 'Event' failed on the 'required' tag"
    ]


def test_required_string_that_interpolates_to_empty_fails() -> None:
    assert resolve_error("wait_event", {"event": "${undefined}"}) == [
        "Key: 'WaitEvent.Event' Error:Field validation for 'Event' failed on the 'required' tag"
    ]


def test_one_of_with_two_members_set_reports_each_member() -> None:
    raw = {"source": {"account": {"id": "a"}}, "destination": {"wallet": {"id": "w"}, "account": {"id": "b"}}}
    assert resolve_error("send", raw) == [
        f"Key: 'Send.Destination.{key}' Error:Field validation for '{key}' failed on the "
        "'wallet or account or payment' tag"
        for key in ("wallet", "account", "payment")
    ]


def test_one_of_with_no_member_set_fails() -> None:
    lines = resolve_error("send", {"source": {}, "destination": {"account": {"id": "b"}}})
    assert len(lines) == 3 and all("Key: 'Send.Source." in line for line in lines)


def test_nested_violations_are_all_reported() -> None:
    raw = {"source": {"wallet": {}}, "destination": {"account": {"id": "${undefined}"}}}
    lines = resolve_error("send", raw)
    assert "Key: 'Send.Source.Wallet.id' Error:Field validation for 'id' failed on the 'id or name' tag" in lines
    assert "Key: 'Send.Source.Wallet.name' Error:Field validation for 'name' failed on the 'id or name' tag" in lines
    assert "Key: 'Send.Destination.Account.ID' Error:Field validation for 'ID' failed on the 'required' tag" in lines
    assert len(lines) == 3


def test_source_payment_id_is_required() -> None:
    lines = resolve_error("send", {"source": {"payment": {}}, "destination": {"account": {"id": "b"}}})
    assert lines == ["Key: 'Send.Source.Payment.ID' Error:Field validation for 'ID' failed on the 'required' tag"]


@pytest.mark.parametrize("raw", [{}, {"duration": "1s", "until": "2030-01-01T00:00:00Z"}])
def test_delay_needs_exactly_one_of_duration_and_until(raw: object) -> None:
    assert resolve_error("delay", raw) == [
        "Key: 'Delay.duration' Error:Field validation for 'duration' failed on the 'duration or until' tag",
        "Key: 'Delay.until' Error:Field validation for 'until' failed on the 'duration or until' tag",
    ]


def test_delay_duration_that_interpolates_to_empty_counts_as_set() -> None:
    # zero duration, the stage completes at once (spec §17.3 item 29, run with no body).
    assert resolve_stage("delay", {"duration": "${d}"}, {}).history_input == {"duration": "0s"}


def test_update_requires_account_and_its_fields() -> None:
    assert resolve_error("update", {}) == [
        "Key: 'Update.account' Error:Field validation for 'account' failed on the 'account' tag"
    ]
    assert resolve_error("update", {"account": {}}) == [
        "Key: 'Update.Account.ID' Error:Field validation for 'ID' failed on the 'required' tag",
        "Key: 'Update.Account.Metadata' Error:Field validation for 'Metadata' failed on the 'required' tag",
    ]


def test_update_metadata_may_be_empty_but_not_null() -> None:
    assert resolve_stage("update", {"account": {"id": "a", "metadata": {}}}, {}).history_input == {
        "account": {"id": "a", "ledger": "main", "metadata": {}}
    }
    assert "Update.Account.Metadata" in resolve_error("update", {"account": {"id": "a", "metadata": None}})[0]


def test_resolution_errors_come_before_requirement_checks() -> None:
    assert resolve_error("delay", {"duration": "xyz"}) == [
        "resolving field 'Duration': unable to resolve field 'Duration' to duration value"
    ]


def test_unknown_kind_is_a_config_error() -> None:
    assert resolve_error("foo", {}) == ["unable to resolve schema foo"]


# --------------------------------------------------------------------------------------------
# §5.6 history input


def test_integration_example_gives_exactly_the_spec_json() -> None:
    config = json.loads(
        '{"send":{"source":{"account":{"id":"world","ledger":"default"}},"destination":{"account":{"id":"bank",'
        '"ledger":"default"}},"amount":{"amount":100,"asset":"EUR/2"},"metadata":{"foo":"${userID}"},'
        '"timestamp":"${timestamp}"}}'
    )
    resolved = resolve_stage(
        "send", config["send"], {"userID": "bar", "timestamp": "2024-05-02T10:11:12.123456Z"}
    )
    assert resolved.history_name == "RunSend"
    # FLOWS-2026 §20.3: a ledger account always shows its bridge and overdraft.
    assert json.dumps(resolved.history_input, separators=(",", ":")) == (
        '{"source":{"account":{"id":"world","ledger":"default","throughAccount":"world","allowOverdraft":false}},'
        '"destination":{"account":{"id":"bank","ledger":"default","throughAccount":"world","allowOverdraft":false}},'
        '"amount":{"amount":100,"asset":"EUR/2"},"metadata":{"foo":"bar"},"timestamp":"2024-05-02T10:11:12.123456Z"}'
    )


def test_the_newest_send_options_example_gives_exactly_the_spec_json() -> None:  # FLOWS-2026 §20.3
    config = json.loads(
        '{"send":{"source":{"account":{"id":"users:${u}","ledger":"main","throughAccount":"liabilities:payouts-pending",'
        '"allowOverdraft":true}},"destination":{"payment":{"psp":"wise","type":"PAYOUT","sourceAccount":"${src}"}},'
        '"amount":{"amount":"${amount}","asset":"EUR/2"}}}'
    )
    resolved = resolve_stage("send", config["send"], {"u": "1", "src": "wise-acc", "amount": "1000"})
    assert json.dumps(resolved.history_input, separators=(",", ":")) == (
        '{"source":{"account":{"id":"users:1","ledger":"main","throughAccount":"liabilities:payouts-pending",'
        '"allowOverdraft":true}},"destination":{"payment":{"psp":"wise","type":"PAYOUT","sourceAccount":"wise-acc",'
        '"metadata":"formanceAccountID","waitingValidation":false}},"amount":{"amount":1000,"asset":"EUR/2"},'
        '"timestamp":null}'
    )


def test_payment_sources_and_destinations_show_their_defaults() -> None:  # FLOWS-2026 §28.1 #66
    raw = {"source": {"payment": {"id": "p1", "ledger": "", "holdingAccount": "${none}", "throughAccount": ""}},
           "destination": {"payment": {"psp": "stripe", "connectorID": "c1"}}}
    assert resolve_stage("send", raw, {}).history_input == {
        "source": {"payment": {"id": "p1", "throughAccount": "world", "allowOverdraft": False}},
        "destination": {"payment": {"psp": "stripe", "type": "TRANSFER", "metadata": "formanceAccountID",
                                    "waitingValidation": False, "connectorId": "c1"}},
        "timestamp": None,
    }


@pytest.mark.parametrize("kind", ["TRANSFER", "payout", "Payout", "${t}"])
def test_transfer_types_any_case(kind: str) -> None:
    raw = {"source": {"wallet": {"id": "w"}}, "destination": {"payment": {"psp": "wise", "type": kind}}}
    resolved = resolve_stage("send", raw, {"t": "PAYOUT"})
    assert resolved.history_input["destination"]["payment"]["type"] == kind.replace("${t}", "PAYOUT")  # type: ignore[index]


@pytest.mark.parametrize(("kind", "variables"), [("WIRE", {}), ("${t}", {"t": "wire"}), (" PAYOUT", {})])
def test_an_unknown_transfer_type_is_refused_before_anything_runs(kind: str, variables: dict[str, str]) -> None:
    # Q-49 fixed: refused when the workflow is created (a literal) or when the stage starts (a variable).
    raw = {"source": {"wallet": {"id": "w"}}, "destination": {"payment": {"psp": "wise", "type": kind}}}
    with pytest.raises(StageConfigError) as err:
        resolve_stage("send", raw, variables)
    assert err.value.message.startswith(
        "resolving field 'Destination': resolving field 'Payment': resolving field 'Type': invalid transfer type: "
    )
    assert err.value.message.endswith("(must be TRANSFER or PAYOUT)")


@pytest.mark.parametrize(
    ("account", "says"),
    [
        ({"id": "a", "allowOverdraft": "${x}"},
         "resolving field 'AllowOverdraft': unable to resolve field 'bool' to bool"),
        ({"id": "a", "allowOverdraft": 1}, "resolving field 'AllowOverdraft': expected uint or interpolated string "
                                           "but was float64"),
        ({"id": "a", "throughAccount": 5}, "resolving field 'ThroughAccount': expected string but was float64"),
    ],
)
def test_bad_bridge_options_are_refused_at_creation(account: dict[str, object], says: str) -> None:  # §28.1 #65
    raw = {"source": {"account": account}, "destination": {"account": {"id": "b"}}}
    with pytest.raises(StageConfigError) as err:
        resolve_stage("send", raw, {})
    assert says in err.value.message


def test_overdraft_is_true_or_false_in_any_case() -> None:
    raw = {"source": {"account": {"id": "a", "allowOverdraft": "TRUE"}}, "destination": {"account": {"id": "b"}}}
    assert resolve_stage("send", raw, {}).history_input["source"]["account"]["allowOverdraft"] is True  # type: ignore[index]


@pytest.mark.parametrize(
    ("raw_amount", "variables"),
    [(2**64 + 1, {}), ("${amount}", {"amount": str(2**64 + 1)}), (str(2**64 + 1), {})],
)
def test_amount_above_2_pow_53_stays_exact(raw_amount: object, variables: dict[str, str]) -> None:
    raw = {
        "source": {"account": {"id": "world"}},
        "destination": {"account": {"id": "bank"}},
        "amount": {"amount": raw_amount, "asset": "USD/2"},
    }
    resolved = resolve_stage("send", raw, variables)
    assert resolved.history_input["amount"] == {"amount": 18446744073709551617, "asset": "USD/2"}
    assert '"amount": 18446744073709551617,' in json.dumps(resolved.history_input)


def test_send_history_shows_only_set_members_and_omits_empty_parts() -> None:
    raw = {"source": {"wallet": {"name": "${x}"}}, "destination": {"payment": {"psp": "stripe"}}, "metadata": {}}
    assert resolve_stage("send", raw, VARIABLES).history_input == {
        "source": {"wallet": {"id": "", "name": "value", "balance": "main"}},
        "destination": {"payment": {"psp": "stripe", "type": "TRANSFER", "metadata": "formanceAccountID",
                                    "waitingValidation": False}},
        "timestamp": None,
    }


def test_send_history_keeps_a_set_connector_id_even_empty_and_a_null_amount() -> None:
    raw = {
        "source": {"payment": {"id": "p"}},
        "destination": {"payment": {"psp": "stripe", "connectorId": "${undefined}", "waitingValidation": True}},
        "amount": {"amount": "${undefined}", "asset": "EUR/2"},
        "timestamp": "${undefined}",
    }
    assert resolve_stage("send", raw, {}).history_input == {
        "source": {"payment": {"id": "p", "throughAccount": "world", "allowOverdraft": False}},
        "destination": {
            "payment": {"psp": "stripe", "type": "TRANSFER", "metadata": "formanceAccountID", "waitingValidation": True,
                        "connectorId": ""}
        },
        "amount": {"amount": None, "asset": "EUR/2"},
        "timestamp": "0001-01-01T00:00:00Z",
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"duration": "50ms"}, {"duration": "50ms"}),
        ({"duration": "${d}"}, {"duration": "1s"}),
        ({"duration": "90s"}, {"duration": "1m30s"}),
        ({"duration": "60m"}, {"duration": "1h0m0s"}),
        ({"until": "2024-12-31T23:00:00.1230Z"}, {"until": "2024-12-31T23:00:00.123Z"}),
        ({"until": "2025-01-01T00:30:00+01:00"}, {"until": "2024-12-31T23:30:00Z"}),
    ],
)
def test_delay_history(raw: object, expected: dict[str, object]) -> None:
    resolved = resolve_stage("delay", raw, VARIABLES)
    assert (resolved.history_name, resolved.history_input) == ("RunDelay", expected)


def test_delay_history_shows_both_keys_when_both_are_set() -> None:
    config = schema.resolve(DelayConfig, {"duration": "1s", "until": "2030-01-01T00:00:00Z"}, {})
    assert schema.to_json(config) == {"duration": "1s", "until": "2030-01-01T00:00:00Z"}


def test_other_stage_histories() -> None:
    assert resolve_stage("wait_event", {"event": "${x}"}, VARIABLES).history_input == {"event": "value"}
    assert resolve_stage("noop", {"ignored": 1}, {}).history_input == {}
    assert resolve_stage("noop", None, {}).history_name == "RunNoop"
    update = resolve_stage(
        "update",
        {"account": {"id": "merchant:${merchantID}", "metadata": {"formanceAccountID": "${paymentAccountID}"}}},
        {"merchantID": "1234", "paymentAccountID": "ABCD"},
    )
    assert (update.history_name, update.history_input) == (
        "RunUpdate",
        {"account": {"id": "merchant:1234", "ledger": "main", "metadata": {"formanceAccountID": "ABCD"}}},
    )


def test_history_names() -> None:
    assert resolve_stage("wait_event", {"event": "e"}, {}).history_name == "RunWaitEvent"
    raw = {"source": {"account": {"id": "a"}}, "destination": {"account": {"id": "b"}}}
    assert resolve_stage("send", raw, {}).history_name == "RunSend"


def test_a_send_body_as_releases_before_the_newest_options_read_it() -> None:
    from orchestration.stages import StageKind, as_read_before_options

    body = {"source": {"account": {"id": "a", "throughAccount": "b", "allowOverdraft": True}},
            "destination": {"payment": {"psp": "wise", "type": "WIRE", "connectorID": "c", "connectorId": "d"}},
            "amount": {"amount": 1, "asset": "USD"}}
    assert as_read_before_options(StageKind.SEND, body) == {
        "source": {"account": {"id": "a"}},
        "destination": {"payment": {"psp": "wise", "connectorId": "d"}},
        "amount": {"amount": 1, "asset": "USD"},
    }
    assert body["source"]["account"]["throughAccount"] == "b"  # type: ignore[index]  # the body itself is kept
    plain = {"source": {"account": {"id": "a"}}, "destination": {"wallet": {"id": "w"}}}
    assert as_read_before_options(StageKind.SEND, plain) is None  # read the same: no question for the engine
    assert as_read_before_options(StageKind.SEND, None) is None
    assert as_read_before_options(StageKind.DELAY, {"duration": "1s"}) is None
