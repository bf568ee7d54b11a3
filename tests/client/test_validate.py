"""`orchestration workflows validate`: every problem named with its stage and field, offline (Q-14)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.cli import main
from orchestration.stages import StageKind, config_shape

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


def _validate(text: str) -> tuple[int, str, str]:
    raw = text.encode("utf-8", "surrogatepass")  # a lone surrogate: bytes that are not UTF-8, as a file may hold
    result = CliRunner().invoke(main, ["workflows", "validate", "-"], input=raw, prog_name="orchestration")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _problems(definition: Any) -> list[str]:
    code, out, err = _validate(json.dumps(definition))
    assert code == (1 if out != "standard input: valid\n" else 0), (out, err)
    return [line.removeprefix("standard input: ") for line in out.splitlines() if line != "standard input: valid"]


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ({"wait_event": {"evnt": "paid"}}, ["stage 0 (wait_event), evnt: unknown key 'evnt' (did you mean 'event'?)",
                                            "stage 0 (wait_event), event: is required"]),
        ({"wait_event": {"event": ""}}, ["stage 0 (wait_event), event: is required (it is empty)"]),
        ({"wait_event": {"event": "${name}"}}, []),  # a variable can name it
        ({"wiat_event": {}}, ["stage 0: unknown stage type 'wiat_event' (did you mean 'wait_event'?); the types are "
                              "delay, noop, send, update, wait_event"]),
        ({"sleep": {}}, ["stage 0: unknown stage type 'sleep'; the types are delay, noop, send, update, wait_event"]),
        ({"delay": {}}, ["stage 0 (delay): needs one of `duration` or `until`"]),
        ({"delay": {"duration": "5 minutes"}}, ["stage 0 (delay), duration: '5 minutes' is not a duration like 30s, "
                                                "1m30s or 1.5h (units ns, us, ms, s, m, h)"]),
        ({"delay": {"duration": 5}}, ["stage 0 (delay), duration: 5 is not a duration like 30s, 1m30s or 1.5h "
                                      "(units ns, us, ms, s, m, h)"]),
        ({"delay": {"duration": "${d}s"}}, ["stage 0 (delay), duration: '${d}s' reads as 's' when the workflow is "
                                            "created (with no variables): not a duration like 30s, 1m30s or 1.5h "
                                            "(units ns, us, ms, s, m, h)"]),
        ({"delay": {"until": "tomorrow", "duration": "1s"}}, [
            "stage 0 (delay), until: 'tomorrow' is not an RFC 3339 date with its time zone, like 2024-12-31T23:00:00Z",
            "stage 0 (delay): set only one of `duration` or `until` (`duration` and `until` are set)"]),
        ({"update": {"account": {"id": "a", "metadta": {}}}}, [
            "stage 0 (update), account.metadta: unknown key 'metadta' (did you mean 'metadata'?)",
            "stage 0 (update), account.metadata: is required"]),
        ({"noop": {"what": 1}}, ["stage 0 (noop), what: unknown key 'what': this stage takes no settings"]),
        ({"send": {"source": {"account": {"id": "a"}}, "destination": {"acount": {"id": "b"}},
                   "amount": {"amount": "12.50", "asset": "EUR/2"}}}, [
            "stage 0 (send), destination.acount: unknown key 'acount' (did you mean 'account'?)",
            "stage 0 (send), destination: needs one of `wallet`, `account` or `payment`",
            "stage 0 (send), amount.amount: '12.50' is not an integer amount in minor units, like 100 or \"100\""]),
        ({"send": {"source": {"wallet": {"id": "w", "name": "n"}}, "destination": {"account": {"id": "b"}},
                   "amount": {"amount": 1.5, "asset": "EUR/2"}}}, [
            "stage 0 (send), source.wallet: set only one of `id` or `name` (`id` and `name` are set)",
            "stage 0 (send), amount.amount: 1.5 is not an integer amount in minor units, like 100 or \"100\" "
            "(expected an integer but was 1.5)"]),
        ({"send": {"source": {"account": {"id": "a", "allowOverdraft": "${o}"}},
                   "destination": {"account": {"id": "b"}}}}, [
            "stage 0 (send), source.account.allowOverdraft: must be true or false: a variable cannot set it "
            "(creation reads it with no variables)",
            "stage 0 (send), amount: is required: only a send from a payment may leave it out (to send all of it)"]),
        ({"send": {"source": {"payment": {"id": "p"}}, "destination": {"payment": {"psp": "stripe"}}}},
         ["stage 0 (send), destination.payment: a send from a payment to a payment is not supported"]),
        ({"send": {"source": {"payment": {"id": "${p}"}}, "destination": {"wallet": {"name": "${w}"}}}}, []),
        ({"send": {"destination": {"account": {"id": "b"}}, "amount": {"amount": 1}, "metadata": {"k": 1},
                   "timestamp": "2024-02-30T00:00:00Z"}}, [
            "stage 0 (send), source: is required: an object with `wallet`, `account` or `payment`",
            "stage 0 (send), metadata.k: must be text, not 1",
            "stage 0 (send), timestamp: '2024-02-30T00:00:00Z' is not an RFC 3339 date with its time zone, like "
            "2024-12-31T23:00:00Z",
            "stage 0 (send), amount.asset: is required, e.g. USD/2"]),
        ({"send": {"source": {"account": {"id": "a"}}, "destination": {"payment": {"psp": "wise", "type": "gift"}},
                   "amount": {"amount": "${a}", "asset": "EUR/2"}}}, [
            "stage 0 (send), destination.payment.type: invalid transfer type: gift (must be TRANSFER or PAYOUT)"]),
    ],
)  # fmt: skip
def test_each_problem_is_named_with_its_stage_and_field(stage: dict[str, Any], expected: list[str]) -> None:
    assert _problems({"stages": [stage]}) == expected


def test_problems_of_the_definition_itself() -> None:
    assert _problems({"name": 3, "stage": []}) == [
        "stage: unknown key 'stage' (did you mean 'stages'?)",
        "name: must be a string, not a number",
        "stages: is missing: without stages the workflow does nothing",
    ]
    assert _problems({"stages": [{"noop": {}, "delay": {}}, "noop"]}) == [
        "stage 0: a stage is an object with one key, its type (delay, noop, send, update, wait_event); this one has "
        "2 keys",
        "stage 1: a stage is an object with one key, its type (delay, noop, send, update, wait_event); this one is "
        "a string",
    ]
    assert _problems([{"noop": {}}]) == [
        "a workflow definition is an object with `stages` (a list) and a `name`, not a list"
    ]


def test_every_key_the_stage_schemas_read_is_known() -> None:
    for kind in StageKind:
        every_key = {field.key: None for field in config_shape(kind).fields}
        assert _problems({"stages": [{kind.value: every_key}]}) == _problems({"stages": [{kind.value: {}}]})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stages: [\n  - noop: {\n", "standard input is not YAML: "),
        ('{"stages": [}', "standard input is not JSON: "),
        ("a: &x [1]\nb: *x\n", "aliases are not accepted (*x at line 2, column 4)"),
        ("x: " + "[" * 100 + "]" * 100, "nests arrays and objects deeper than the limit of 64 levels"),
        ("- " * 100 + "1", "nests arrays and objects deeper than the limit of 64 levels"),
        ("stages: !!binary aGVsbG8=", "standard input is not YAML: "),
        ("amount: .inf", "is inf; JSON numbers are finite"),
    ],
)
def test_text_that_is_no_definition_is_named_so(text: str, message: str) -> None:
    code, out, err = _validate(text)
    assert code == 1 and out == "" and message in err, err


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["workflows", "validate", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2 and "No such file or directory" in result.stderr


def test_json_output_lists_the_problems() -> None:
    result = CliRunner().invoke(main, ["workflows", "validate", "-", "-o", "json"], input='{"stages": [{"delay": 1}]}')
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {"stage": 0, "type": "delay", "field": "", "message": "the configuration must be an object, not a number"}
    ]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_every_example_is_valid(example: Path) -> None:
    assert _validate(example.read_text()) == (0, "standard input: valid\n", "")


# -- any text: exit 0, or a message and exit 1 or 2, never a traceback --------------------------------------------

_TYPES = sorted(kind.value for kind in StageKind)
_KEYS = sorted({"stages", "name", *_TYPES, *(f.key for kind in StageKind for f in config_shape(kind).fields),
                "account", "wallet", "payment", "id", "ledger", "amount", "asset", "psp", "evnt"})  # fmt: skip
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "5s", "${x}", "${x}s", "2024-12-31T23:00:00Z", "true", "100", "abc", "TRANSFER"]),
    st.text(max_size=8),
)  # fmt: skip
_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(_KEYS), children, max_size=4),
    max_leaves=25,
)
_DEFINITIONS = st.fixed_dictionaries(
    {},
    optional={
        "name": _VALUES,
        "stages": st.lists(st.dictionaries(st.sampled_from(_TYPES), _VALUES, max_size=2), max_size=4),
    },
)


def _checked(text: str) -> None:
    code, out, err = _validate(text)
    assert code in (0, 1, 2) and "Traceback" not in out + err
    assert (code == 0) == (out == "standard input: valid\n"), (code, out, err)
    if code:
        assert err.startswith("Error: ") or err.startswith("Usage: "), err


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_DEFINITIONS, _VALUES))
def test_any_json_or_yaml_definition_gives_a_verdict(document: Any) -> None:
    _checked(json.dumps(document))
    _checked(yaml.safe_dump(document))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("{}[]:-,'\"&*!|>#%@` \n\t\\aZ09.$") + ["é", "\x00", "\ud800"])))
def test_any_text_gives_a_verdict(text: str) -> None:
    _checked(text)
