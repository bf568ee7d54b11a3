"""What a stage configuration reads, for tools that check a definition without running it.

The stage configs are declared once, with the helpers of `_schema`; `config_shape` shows such a
declaration as plain data (keys, kinds, requirements, nested objects) and lets a checker read one
value exactly as `POST /workflows` does, so that an offline check never keeps a second copy of
the schemas.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from orchestration.stages import _schema
from orchestration.stages._schema import FieldSpec, Kind


@dataclasses.dataclass(frozen=True)
class ConfigField:
    """One key of a stage configuration."""

    key: str
    """The JSON key (`throughAccount`)."""
    shape: ConfigShape | None
    """The keys of a nested object (`kind` is `Kind.OBJECT`)."""
    spec: FieldSpec = dataclasses.field(repr=False)
    """The declaration, which the properties below read."""

    @property
    def alias(self) -> str | None:
        """Another key read when `key` is absent (`connectorID`)."""
        return self.spec.alias

    @property
    def kind(self) -> Kind:
        return self.spec.kind

    @property
    def required(self) -> bool:
        """Must be set (not absent, null or `""`) when the stage starts (spec §5.5); a default satisfies it."""
        return self.spec.required

    @property
    def optional(self) -> bool:
        """Absent or null leaves it unset; a non-optional object must be present even at creation."""
        return self.spec.optional

    @property
    def default(self) -> str | None:
        """What an absent value or `""` becomes, as text (`main`, `false`)."""
        return self.spec.default

    def read(self, raw: object) -> object:
        """Read a scalar or map value as workflow creation does: with no variables (Q-14).

        Args:
            raw: the value in the definition (not null), e.g. `"1m30s"` for a duration.

        Returns:
            The typed value (`timedelta`, `int`, `datetime`, `bool`, `str`, `dict`).

        Raises:
            StageConfigError: the server would refuse the workflow for this value, e.g.
                `unable to resolve field 'Duration' to duration value`.
        """
        return _schema.read_value(self.spec, raw, {})


@dataclasses.dataclass(frozen=True)
class ConfigShape:
    """The keys of a stage configuration or of one of its nested objects."""

    fields: tuple[ConfigField, ...]
    one_of: tuple[str, ...]
    """JSON keys of which exactly one must be set when the stage starts (spec §5.5); empty if no such rule."""

    def field(self, key: str) -> ConfigField | None:
        """The field read under `key` (its own key or its alias), or None when nothing reads it."""
        return next((f for f in self.fields if key in (f.key, f.alias)), None)


def shape_of(cls: type[Any]) -> ConfigShape:
    """The shape of a config class declared with `_schema`'s helpers."""
    declared = _schema.declared_fields(cls)
    fields = tuple(
        ConfigField(key, shape_of(spec.nested) if spec.nested is not None else None, spec) for _, key, spec in declared
    )
    key_of = {attribute: key for attribute, key, _ in declared}
    return ConfigShape(fields, tuple(key_of[attribute] for attribute in getattr(cls, "ONE_OF", ())))
