"""Declarative mapping of raw stage configurations onto typed configs.

A stage config is a frozen dataclass whose fields are declared with the helpers below
(`string`, `big_int`, `duration`, `boolean`, `timestamp`, `string_map`, `nested`). Each helper
records the field's kind, its JSON key, the Go struct field name used in error messages, its
default and its requirement rules. Three functions walk such a class:

* `resolve` maps a raw JSON configuration onto it (spec §5.1, interpolation §5.2, defaults §5.4);
* `validate` checks the requirement rules (§5.5), which only run when a stage starts (Q-14);
* `to_json` re-serialises a resolved config as the stage history shows it (§5.6).

Everything here is pure: no clock, no I/O.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from orchestration.durations import format_go_duration, parse_go_duration
from orchestration.stages._errors import StageConfigError
from orchestration.stages._interpolate import interpolate
from orchestration.stages._timestamp import ZERO_TIME, format_rfc3339, parse_rfc3339

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")

_META = "orchestration.stages.spec"
_BIG_INT = re.compile(r"[+-]?[0-9]+")
_MAX_EXACT_FLOAT = 2**53


class Kind(enum.Enum):
    """The target types of spec §5.1."""

    STRING = "string"
    BIG_INT = "big integer"
    DURATION = "duration"
    BOOL = "bool"
    TIMESTAMP = "timestamp"
    STRING_MAP = "map string→string"
    OBJECT = "nested object"


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """How one config field is read, checked and written back."""

    go_name: str
    kind: Kind
    key: str | None = None  # JSON key; None means the attribute name
    default: str | None = None
    optional: bool = False  # a Go pointer: absent/null leaves it unset (None)
    required: bool = False
    omit_empty: bool = False  # Go `json:",omitempty"` in the history input
    nested: type[Any] | None = None
    alias: str | None = None  # another JSON key read when `key` is absent
    check: Callable[[str], str | None] | None = None  # a string's value: why it cannot be, or None


def _field(spec: FieldSpec) -> Any:
    return dataclasses.field(metadata={_META: spec})


def string(
    go_name: str,
    *,
    key: str | None = None,
    default: str | None = None,
    optional: bool = False,
    required: bool = False,
    omit_empty: bool = False,
    alias: str | None = None,
    check: Callable[[str], str | None] | None = None,
) -> Any:
    """Declare a string field (interpolated; `""` after interpolation takes the default).

    `alias` is a second key read when `key` is absent. `check` refuses a resolved value, when the
    workflow is created as when the stage starts: it returns why the value cannot be, or None.
    """
    return _field(
        FieldSpec(go_name, Kind.STRING, key, default, optional, required, omit_empty, alias=alias, check=check)
    )


def big_int(go_name: str, *, key: str | None = None, optional: bool = False, omit_empty: bool = False) -> Any:
    """Declare an exact integer field of any size (amounts)."""
    return _field(FieldSpec(go_name, Kind.BIG_INT, key, None, optional, False, omit_empty))


def duration(go_name: str, *, key: str | None = None, optional: bool = False, omit_empty: bool = False) -> Any:
    """Declare a Go-duration field, read as a `timedelta`."""
    return _field(FieldSpec(go_name, Kind.DURATION, key, None, optional, False, omit_empty))


def timestamp(go_name: str, *, key: str | None = None, optional: bool = False, omit_empty: bool = False) -> Any:
    """Declare an RFC 3339 field, read as an aware UTC `datetime` rounded to the microsecond."""
    return _field(FieldSpec(go_name, Kind.TIMESTAMP, key, None, optional, False, omit_empty))


def boolean(go_name: str, *, key: str | None = None, default: bool = False) -> Any:
    """Declare a bool field (JSON bool, or a string that interpolates to true/false)."""
    return _field(FieldSpec(go_name, Kind.BOOL, key, "true" if default else "false"))


def string_map(go_name: str, *, key: str | None = None, required: bool = False, omit_empty: bool = False) -> Any:
    """Declare a string→string map (values interpolated, keys literal; absent stays None)."""
    return _field(FieldSpec(go_name, Kind.STRING_MAP, key, None, False, required, omit_empty))


def nested(
    go_name: str, cls: type[Any], *, key: str | None = None, optional: bool = False, omit_empty: bool = False
) -> Any:
    """Declare a nested config object; a non-optional one must be present (`expected map but was <nil>`)."""
    return _field(FieldSpec(go_name, Kind.OBJECT, key, None, optional, False, omit_empty, cls))


def _spec(field: dataclasses.Field[Any]) -> FieldSpec:
    spec = field.metadata.get(_META)
    if not isinstance(spec, FieldSpec):
        raise TypeError(f"config field '{field.name}' is not declared with a schema helper")
    return spec


def _key(field: dataclasses.Field[Any]) -> str:
    return _spec(field).key or field.name


def declared_fields(cls: type[Any]) -> list[tuple[str, str, FieldSpec]]:
    """`(attribute, JSON key, spec)` of each field of a config class, in declaration order."""
    return [(field.name, _key(field), _spec(field)) for field in dataclasses.fields(cls)]


def _go_type(value: object) -> str:
    """Name a raw JSON value's type as Go's messages do (spec §5.1)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (int, float, Decimal)):
        return "float64"  # Go decodes every JSON number as float64
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    return type(value).__name__


# --------------------------------------------------------------------------------------------
# Resolution (spec §5.1)


def resolve(cls: type[T], raw: object, variables: Mapping[str, str]) -> T:
    """Map a raw stage configuration onto the config class `cls`.

    Args:
        cls: a config dataclass declared with this module's helpers.
        raw: the stage body from the workflow definition; `None` (a `null` body) reads as `{}`.
        variables: the instance variables used for `${name}` interpolation.

    Returns:
        The typed config (not yet checked against its requirements: see `validate`).

    Raises:
        StageConfigError: a value has the wrong type or does not parse; the message names the
            path as `resolving field '<GoName>': …`, once per level.
    """
    return _map_object(cls, {} if raw is None else raw, variables)


def _map_object(cls: type[T], raw: object, variables: Mapping[str, str]) -> T:
    if not isinstance(raw, Mapping):
        raise StageConfigError(f"expected map but was {_go_type(raw)}")
    values: dict[str, object] = {}
    for field in dataclasses.fields(cls):
        spec = _spec(field)
        key = _key(field)
        if spec.alias is not None and key not in raw:
            key = spec.alias
        try:
            values[field.name] = _map_value(spec, raw.get(key), variables)
        except StageConfigError as err:
            raise StageConfigError(f"resolving field '{spec.go_name}': {err.message}") from None
    return cls(**values)


def read_value(spec: FieldSpec, raw: object, variables: Mapping[str, str]) -> object:
    """One raw value mapped as `resolve` maps the field `spec` (the error names no field path)."""
    return _map_value(spec, raw, variables)


def _map_value(spec: FieldSpec, raw: object, variables: Mapping[str, str]) -> object:
    if spec.kind is Kind.OBJECT:
        assert spec.nested is not None
        if raw is None and spec.optional:
            return None
        return _map_object(spec.nested, raw, variables)  # None here: `expected map but was <nil>`
    if spec.kind is Kind.STRING_MAP:
        return _map_string_map(raw, variables)
    if raw is None:
        return None if spec.optional else _from_text(spec, spec.default or "")
    if isinstance(raw, str):
        text = interpolate(raw, variables)
        # a bool that interpolates to "" is an error, never its default.
        if text == "" and spec.default is not None and spec.kind is not Kind.BOOL:
            text = spec.default
        # for an optional field, "" still *sets* the field (to its zero value).
        return _checked(spec, _from_text(spec, text))
    return _checked(spec, _from_json(spec, raw))


def _checked(spec: FieldSpec, value: object) -> object:
    if spec.check is not None and isinstance(value, str):
        refused = spec.check(value)
        if refused is not None:
            raise StageConfigError(refused)
    return value


def _from_text(spec: FieldSpec, text: str) -> object:
    if spec.kind is Kind.STRING:
        return text
    if spec.kind is Kind.BOOL:
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise StageConfigError("unable to resolve field 'bool' to bool value")
        return lowered == "true"
    if spec.kind is Kind.BIG_INT:
        return None if text == "" else _parse_big_int(text)  # "" gives a null amount
    if spec.kind is Kind.DURATION:
        if text == "":
            return timedelta(0)
        try:
            return parse_go_duration(text)
        except ValueError:
            # 'Duration' is Go's type name here, as in the original message.
            raise StageConfigError("unable to resolve field 'Duration' to duration value") from None
    if spec.kind is Kind.TIMESTAMP:
        return ZERO_TIME if text == "" else parse_rfc3339(text)
    raise AssertionError(spec.kind)


def _from_json(spec: FieldSpec, raw: object) -> object:
    """A non-string, non-null raw value for a scalar field."""
    if spec.kind is Kind.BIG_INT:
        return _number_to_int(raw)
    if spec.kind is Kind.BOOL and isinstance(raw, bool):
        return raw
    expected = {
        Kind.STRING: "string",
        Kind.DURATION: "uint or interpolated string",
        Kind.BOOL: "uint or interpolated string",  # the original's text (FLOWS-2026 §20.2)
        Kind.TIMESTAMP: "string",
    }[spec.kind]
    raise StageConfigError(f"expected {expected} but was {_go_type(raw)}")


def _parse_big_int(text: str) -> int:
    # Go big.Int.SetString(s, 10): optional sign, ASCII digits, nothing else (no spaces, no "_").
    if _BIG_INT.fullmatch(text) is None:
        raise StageConfigError(f"unable to parse '{text}' as big int")
    try:
        return int(text)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise StageConfigError(f"unable to parse '{text}' as big int: too many digits") from None


def _number_to_int(raw: object) -> int:
    """A JSON number used as an amount, read exactly.

    Q-19: Go truncates numbers to int64 (`100.9` → 100) and loses precision above 2**53. We never
    round: integers are exact at any size; an integral float (`100.0`, `1e3`) is accepted only
    while a float holds it exactly (|x| ≤ 2**53); anything else is an error.
    """
    if isinstance(raw, bool) or not isinstance(raw, (int, float, Decimal)):
        raise StageConfigError(f"expected integer or string but was {_go_type(raw)}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, Decimal):
        if not raw.is_finite() or raw != raw.to_integral_value():
            raise StageConfigError(f"expected an integer but was {raw}")
        return int(raw)
    if not raw.is_integer():
        raise StageConfigError(f"expected an integer but was {raw!r}")
    if abs(raw) > _MAX_EXACT_FLOAT:
        raise StageConfigError(f"number {raw!r} cannot be read exactly; write it as an integer or a string")
    return int(raw)


def _map_string_map(raw: object, variables: Mapping[str, str]) -> dict[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise StageConfigError(f"expecting map, got type: {_go_type(raw)}")
    mapped: dict[str, str] = {}
    for key, value in raw.items():
        if value is None:
            mapped[str(key)] = ""
        elif isinstance(value, str):
            mapped[str(key)] = interpolate(value, variables)  # values only: keys are literal
        else:
            raise StageConfigError(f"resolving key '{key}': expected string but was {_go_type(value)}")
    return mapped


# --------------------------------------------------------------------------------------------
# Requirements (spec §5.5)


def validate(config: DataclassInstance, root: str) -> list[str]:
    """Check the `required` and one-of rules of a resolved config.

    One-of members are listed by attribute name in the class variable `ONE_OF`; exactly one of
    them must be set (not None, not `""`).

    Args:
        config: a resolved config.
        root: the Go struct name that starts every path (`Send`, `Delay`, `WaitEvent`, `Update`).

    Returns:
        One go-playground-validator-style line per violation (empty when valid), e.g.
        `Key: 'WaitEvent.Event' Error:Field validation for 'Event' failed on the 'required' tag`.
    """
    errors: list[str] = []
    _validate(config, root, errors)
    return errors


def _is_unset(value: object) -> bool:
    # `required` on a map only wants it non-null: an empty `{}` passes (update.account.metadata).
    return value is None or value == ""


def _violation(path: str, name: str, tag: str) -> str:
    return f"Key: '{path}' Error:Field validation for '{name}' failed on the '{tag}' tag"


def _validate(config: DataclassInstance, namespace: str, errors: list[str]) -> None:
    # Field rules first, then the struct-level one-of, as go-playground's validator orders them.
    fields = {field.name: field for field in dataclasses.fields(config)}
    for field in fields.values():
        spec = _spec(field)
        value = getattr(config, field.name)
        path = f"{namespace}.{spec.go_name}"
        if spec.required and _is_unset(value):
            errors.append(_violation(path, spec.go_name, "required"))
        if spec.kind is Kind.OBJECT and value is not None:
            _validate(value, path, errors)
    members: tuple[str, ...] = getattr(type(config), "ONE_OF", ())
    if members and sum(not _is_unset(getattr(config, name)) for name in members) != 1:
        keys = [_key(fields[name]) for name in members]
        tag = " or ".join(keys)
        errors.extend(_violation(f"{namespace}.{key}", key, tag) for key in keys)


# --------------------------------------------------------------------------------------------
# History input (spec §5.6)


def to_json(config: DataclassInstance) -> dict[str, object]:
    """Serialise a resolved config as the stage history `input` shows it.

    Args:
        config: a resolved config.

    Returns:
        A JSON-ready dict: exact integers, Go-canonical durations, RFC 3339 UTC timestamps,
        fields flagged `omit_empty` left out when empty (Go `omitempty`).
    """
    out: dict[str, object] = {}
    for field in dataclasses.fields(config):
        spec = _spec(field)
        value = getattr(config, field.name)
        if spec.omit_empty and _is_empty(spec, value):
            continue
        out[_key(field)] = _value_to_json(value)
    return out


def _is_empty(spec: FieldSpec, value: object) -> bool:
    if value is None:
        return True
    if spec.optional:
        return False  # Go omits a nil pointer only, never a pointer to "" or 0
    if isinstance(value, (str, dict)):
        return len(value) == 0
    if isinstance(value, (bool, timedelta)):
        return not value
    return False


def _value_to_json(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return format_go_duration(value)
    if isinstance(value, datetime):
        return format_rfc3339(value)
    if isinstance(value, dict):
        return dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(value)
    return value
