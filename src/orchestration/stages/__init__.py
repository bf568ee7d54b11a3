"""Stage types: their configurations (spec §5, §6) and what they do when they run.

One module per stage type, exporting its `STAGE` (a `StageType`: config dataclass, `run`);
`STAGES` is the only kind→type map.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from orchestration.stages import _schema, delay, noop, send, update, wait_event
from orchestration.stages._context import StageContext
from orchestration.stages._errors import ActivityFailed, StageConfigError, StageDefinitionError, StageFailure
from orchestration.stages._schema import Kind as FieldKind
from orchestration.stages._shape import ConfigField, ConfigShape, shape_of
from orchestration.stages._type import AnyStageType, StageType

__all__ = [
    "STAGES",
    "ResolvedStage",
    "StageKind",
    "StageType",
    "StageConfigError",
    "StageContext",
    "StageDefinitionError",
    "StageFailure",
    "ActivityFailed",
    "ConfigField",
    "ConfigShape",
    "FieldKind",
    "OPTIONS_PATCH",
    "as_read_before_options",
    "check_definition",
    "config_shape",
    "history_name",
    "parse_stage",
    "resolve_stage",
    "run_stage",
]

class StageKind(StrEnum):
    """The stage types, as workflow definitions name them."""

    NOOP = "noop"
    DELAY = "delay"
    WAIT_EVENT = "wait_event"
    UPDATE = "update"
    SEND = "send"


STAGES: Final[Mapping[StageKind, AnyStageType]] = {
    StageKind.NOOP: noop.STAGE,
    StageKind.DELAY: delay.STAGE,
    StageKind.WAIT_EVENT: wait_event.STAGE,
    StageKind.UPDATE: update.STAGE,
    StageKind.SEND: send.STAGE,
}

OPTIONS_PATCH: Final = "send-options"
"""The change that gave `send` its newest options (FLOWS-2026 §20): the engine's patch marker."""


def as_read_before_options(kind: StageKind, raw: object) -> object | None:
    """A stage body as releases before `OPTIONS_PATCH` read it, or None when they read it the same.

    Workflows stored before the change may hold the new keys, which were ignored then: an instance
    recorded then replays its stage without them (the engine asks whether it was).
    """
    return send.without_newer_options(raw) if kind is StageKind.SEND else None


@dataclass(frozen=True)
class ResolvedStage:
    """A stage configuration resolved with the run variables and checked, ready to run."""

    kind: StageKind
    config: object
    """The typed config: an instance of the stage type's `config` class."""
    history_name: str
    """The name shown in instance history (`RunDelay`, `RunWaitEvent`, …)."""
    history_input: dict[str, object]
    """The resolved config as instance history shows it (spec §5.6)."""

    @property
    def instant(self) -> bool:
        """Whether the stage does nothing durable and cannot fail (`StageType.instant`)."""
        return STAGES[self.kind].instant


def _camel_case(kind: str) -> str:
    return "".join(part.capitalize() for part in kind.split("_"))


def history_name(kind: StageKind) -> str:
    """The instance history name of a stage type: `"Run" + CamelCase(kind)` (`RunWaitEvent`)."""
    return "Run" + _camel_case(kind)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def parse_stage(obj: object) -> tuple[StageKind, object]:
    """Split one element of a workflow's `stages` list into its type and raw configuration.

    The configuration itself (which must be an object or null) is checked by resolution.

    Args:
        obj: the element, e.g. `{"delay": {"duration": "5s"}}`.

    Returns:
        `(stage type, raw configuration)`.

    Raises:
        StageDefinitionError: not an object, no key (`empty specification`), several keys
            (`a specification should have only one name`) or an unknown stage type
            (`unable to resolve schema <name>`).
    """
    if not isinstance(obj, Mapping):
        raise StageDefinitionError(
            f"a stage must be an object with one key, the stage type; got {_json_type(obj)}"
        )
    if len(obj) == 0:
        raise StageDefinitionError("empty specification")
    if len(obj) > 1:
        raise StageDefinitionError("a specification should have only one name")
    ((kind, raw),) = obj.items()
    if not isinstance(kind, str) or kind not in STAGES:
        raise StageDefinitionError(f"unable to resolve schema {kind}")
    return StageKind(kind), raw


def check_definition(stages: Sequence[object] | None) -> None:
    """Check a workflow's stage list as `POST /workflows` does.

    Each stage is resolved with no variables; requirement checks (required, one-of) are left
    to stage start (Q-14), so `{"wait_event": {}}` passes here.

    Args:
        stages: the `stages` of a workflow definition (`None` when absent).

    Raises:
        StageDefinitionError: the message names the stage, e.g. `stage 0 (delay): resolving
            field 'Duration': unable to resolve field 'Duration' to duration value`.
    """
    for index, element in enumerate(stages or ()):
        try:
            kind, raw = parse_stage(element)
        except StageDefinitionError as err:
            raise StageDefinitionError(f"stage {index}: {err.message}") from None
        try:
            _schema.resolve(STAGES[kind].config, raw, {})
        except StageConfigError as err:
            raise StageDefinitionError(f"stage {index} ({kind}): {err.message}") from None


def config_shape(kind: StageKind) -> ConfigShape:
    """The keys a stage type's configuration reads, with their kinds and requirements.

    For tools that check a definition without running it (`orchestration workflows validate`):
    each field reads a value exactly as workflow creation does (`ConfigField.read`).

    Args:
        kind: the stage type.

    Returns:
        Its configuration's shape; nested objects (`send.source.account`) have their own.
    """
    return shape_of(STAGES[kind].config)


def resolve_stage(kind: StageKind | str, raw: object, variables: Mapping[str, str]) -> ResolvedStage:
    """Resolve a stage configuration with the run variables and check its requirements.

    Args:
        kind: the stage type, as returned by `parse_stage`.
        raw: the raw configuration (`None` reads as `{}`).
        variables: the instance variables.

    Returns:
        The resolved stage, with its history name and input.

    Raises:
        StageConfigError: unknown type, a type/parse error (`resolving field …`), or requirement
            violations (one validator line each, joined by newlines).
    """
    if kind not in STAGES:
        raise StageConfigError(f"unable to resolve schema {kind}")
    kind = StageKind(kind)
    config = _schema.resolve(STAGES[kind].config, raw, variables)
    violations = _schema.validate(config, _camel_case(kind))
    if violations:
        raise StageConfigError("\n".join(violations))
    return ResolvedStage(kind, config, history_name(kind), _schema.to_json(config))


async def run_stage(ctx: StageContext, resolved: ResolvedStage) -> None:
    """Run a resolved stage.

    Args:
        ctx: the engine's durable operations for this stage.
        resolved: the output of `resolve_stage`.

    Raises:
        StageFailure: the stage failed (`ActivityFailed` when a call to the stack did).
    """
    await STAGES[resolved.kind].run(ctx, resolved.config)
