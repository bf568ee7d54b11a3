"""Offline checks of a workflow definition: every problem, with its stage and field.

The server, like the original, accepts at creation definitions that can only fail (Q-14): it
resolves each stage with no variables and checks types, leaving required fields, one-of rules
and the flows' own checks to when the stage runs. This reads the stage schemas of
`orchestration.stages` and reports, without running anything:

* what creation refuses: unknown stage types, values of the wrong type, malformed durations,
  amounts, dates and booleans (read exactly as the server reads them);
* what would fail when the stage runs, where no variable can help: a required field absent or
  empty, one-of rules (`delay` needs one of `duration`, `until`), a `send` without an amount;
* keys nothing reads (the server ignores them): misspellings, with the key meant.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestration.stages import (
    ConfigField,
    ConfigShape,
    FieldKind,
    StageConfigError,
    StageKind,
    config_shape,
)

_PLACEHOLDER = re.compile(r"\$\{[^}]+\}")  # spec §5.2
_DEFINITION_KEYS = ("name", "stages")
_TYPES = sorted(kind.value for kind in StageKind)
_STAGE_TYPES = ", ".join(_TYPES)


@dataclass(frozen=True)
class Problem:
    """One problem of a definition."""

    message: str
    stage: int | None = None
    """The stage's index in `stages`; None for the definition itself."""
    type: str | None = None
    """The stage's type, when it has a known one."""
    field: str = ""
    """Where, inside the stage's configuration (`source.account.id`), or a key of the definition."""

    def __str__(self) -> str:
        where = [] if self.stage is None else [f"stage {self.stage}" + (f" ({self.type})" if self.type else "")]
        where += [self.field] if self.field else []
        return f"{', '.join(where)}: {self.message}" if where else self.message


def validate_definition(document: object) -> list[Problem]:
    """Every problem of a workflow definition (`{"name": …, "stages": […]}`), in document order."""
    if not isinstance(document, dict):
        return [Problem(f"a workflow definition is an object with `stages` (a list) and a `name`, not {_a(document)}")]
    problems = [
        Problem(_unknown_key(key, _DEFINITION_KEYS), field=key) for key in document if key not in _DEFINITION_KEYS
    ]
    if not isinstance(document.get("name", ""), str):
        problems.append(Problem(f"must be a string, not {_a(document['name'])}", field="name"))
    stages = document.get("stages")
    if stages is None:
        problems.append(Problem("is missing: without stages the workflow does nothing", field="stages"))
    elif not isinstance(stages, list):
        problems.append(Problem(f"must be a list of stages, not {_a(stages)}", field="stages"))
    else:
        for index, stage in enumerate(stages):
            problems += _stage(index, stage)
    return problems


def _stage(index: int, stage: object) -> list[Problem]:
    if not isinstance(stage, dict) or len(stage) != 1:
        got = f"is {_a(stage)}" if not isinstance(stage, dict) else f"has {len(stage)} keys" if stage else "has no key"
        return [Problem(f"a stage is an object with one key, its type ({_STAGE_TYPES}); this one {got}", index)]
    ((kind, raw),) = stage.items()
    if kind not in _TYPES:
        suggestion = _did_you_mean(kind, _TYPES)
        return [Problem(f"unknown stage type '{kind}'{suggestion}; the types are {_STAGE_TYPES}", index)]
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        return [Problem(f"the configuration must be an object, not {_a(raw)}", index, kind)]
    found = _object(config_shape(StageKind(kind)), raw, "")
    if kind == StageKind.SEND:
        found += _send_flow(raw)
    return [Problem(message, index, kind, where) for where, message in found]


def _object(shape: ConfigShape, raw: Mapping[str, Any], path: str) -> list[tuple[str, str]]:
    found = [
        (_join(path, key), _unknown_key(key, [field.key for field in shape.fields]))
        for key in raw
        if shape.field(key) is None
    ]
    for field in shape.fields:
        found += _field(field, _value(field, raw), _join(path, field.key))
    members = [(key, _presence(raw.get(key))) for key in shape.one_of]
    given = [key for key, presence in members if presence == "set"]
    if len(given) > 1:
        found.append((path, f"set only one of {_either(shape.one_of)} ({_either(given, joiner=' and ')} are set)"))
    elif members and all(presence == "unset" for _, presence in members):
        if len(members) == 1:
            found.append((_join(path, members[0][0]), "is required"))
        else:
            found.append((path, f"needs one of {_either(shape.one_of)}"))
    return found


def _field(field: ConfigField, value: object, where: str) -> list[tuple[str, str]]:
    if field.kind is FieldKind.OBJECT:
        assert field.shape is not None
        if value is None:
            members = f": an object with {_either(field.shape.one_of)}" if field.shape.one_of else ""
            return [] if field.optional else [(where, f"is required{members}")]
        if not isinstance(value, dict):
            return [(where, f"must be an object, not {_a(value)}")]
        return _object(field.shape, value, where)
    if value is None:
        needed = field.required and field.default is None
        return [(where, "is required")] if needed else []
    try:
        field.read(value)
    except StageConfigError as err:
        return [(_join(where, key), message) for key, message in _unreadable(field, value, err.message)]
    if field.required and field.default is None and _presence(value) == "unset":
        return [(where, "is required (it is empty)")]
    return []


def _send_flow(raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the send flows check when they start (spec §6.5.3), where no variable can help."""
    source, destination, amount = raw.get("source"), raw.get("destination"), raw.get("amount")
    from_payment = isinstance(source, dict) and source.get("payment") is not None
    if from_payment and isinstance(destination, dict) and destination.get("payment") is not None:
        return [("destination.payment", "a send from a payment to a payment is not supported")]
    if amount is None and isinstance(source, dict) and not from_payment:
        return [("amount", "is required: only a send from a payment may leave it out (to send all of it)")]
    found = []
    if isinstance(amount, dict):
        for key, example in (("amount", "100 (in minor units)"), ("asset", "USD/2")):
            if _presence(amount.get(key)) == "unset":
                found.append((f"amount.{key}", f"is required, e.g. {example}"))
    return found


_EXPECTED = {
    FieldKind.DURATION: "a duration like 30s, 1m30s or 1.5h (units ns, us, ms, s, m, h)",
    FieldKind.TIMESTAMP: "an RFC 3339 date with its time zone, like 2024-12-31T23:00:00Z",
    FieldKind.BOOL: "true or false",
    FieldKind.BIG_INT: 'an integer amount in minor units, like 100 or "100"',
    FieldKind.STRING: "text (in quotes)",
    FieldKind.STRING_MAP: "an object of text values",
}


def _unreadable(field: ConfigField, value: object, reason: str) -> list[tuple[str, str]]:
    """Why creation refuses a value, said for people (the server's words only where they are clear)."""
    expected = _EXPECTED.get(field.kind, reason)
    if isinstance(value, str) and _PLACEHOLDER.search(value):
        if field.kind is FieldKind.BOOL:
            return [("", "must be true or false: a variable cannot set it (creation reads it with no variables)")]
        empty = _shown(_PLACEHOLDER.sub("", value))
        return [
            ("", f"{_shown(value)} reads as {empty} when the workflow is created (with no variables): not {expected}")
        ]
    if field.kind is FieldKind.STRING_MAP and isinstance(value, dict):
        found = [(key, f"must be text, not {_shown(item)}") for key, item in value.items() if not _is_text(item)]
        return found or [("", reason)]
    if field.kind is FieldKind.STRING and isinstance(value, str):
        return [("", reason)]  # the field's own check (a payout's `type`): its message is for people
    detail = f" ({reason})" if field.kind is FieldKind.BIG_INT and not isinstance(value, str) else ""
    return [("", f"{_shown(value)} is not {expected}{detail}")]


def _is_text(value: object) -> bool:
    return value is None or isinstance(value, str)


def _shown(value: object, limit: int = 60) -> str:
    """A value as a message quotes it (a long text cut at `limit`)."""
    if isinstance(value, str):
        return f"'{value[:limit]}…'" if len(value) > limit else f"'{value}'"
    if value is None or isinstance(value, (bool, int, float)):
        return json.dumps(value)
    return _a(value)


def _value(field: ConfigField, raw: Mapping[str, Any]) -> object:
    if field.key not in raw and field.alias is not None:
        return raw.get(field.alias)
    return raw.get(field.key)


def _presence(value: object) -> str:
    """`unset` (absent, null, `""`), `set`, or `maybe` (only placeholders: a variable decides)."""
    if value is None or value == "":
        return "unset"
    if isinstance(value, str) and _PLACEHOLDER.sub("", value) == "":
        return "maybe"
    return "set"


def _unknown_key(key: str, known: list[str] | tuple[str, ...]) -> str:
    if not known:
        return f"unknown key '{key}': this stage takes no settings"
    suggestion = _did_you_mean(key, list(known)) or f"; the keys here are {_either(known, joiner=', ')}"
    return f"unknown key '{key}'{suggestion}"


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _either(keys: tuple[str, ...] | list[str], *, joiner: str = " or ") -> str:
    quoted = [f"`{key}`" for key in keys]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + joiner + quoted[-1]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path and key else path or key


def _a(value: object) -> str:
    """A JSON value's type, for messages: `a number`, `a list`, …"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
