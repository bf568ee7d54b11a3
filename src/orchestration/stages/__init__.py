"""Stage types: their configurations (spec §5, §6) and what they do when they run.

One module per stage type; `STAGES` is the only name→module map. Each module exports `CONFIG`
(its config dataclass) and `async def run(ctx, cfg) -> None`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Final

from orchestration.stages import _schema, delay, noop, send, update, wait_event
from orchestration.stages._context import ActivityFailed, StageContext, StageFailure
from orchestration.stages._errors import StageConfigError, StageDefinitionError

__all__ = [
    "STAGES",
    "ResolvedStage",
    "StageConfigError",
    "StageContext",
    "StageDefinitionError",
    "StageFailure",
    "ActivityFailed",
    "check_definition",
    "history_name",
    "is_instant",
    "parse_stage",
    "resolve_stage",
    "run_stage",
]

STAGES: Final[Mapping[str, ModuleType]] = {
    "noop": noop,
    "delay": delay,
    "wait_event": wait_event,
    "update": update,
    "send": send,
}


@dataclass(frozen=True)
class ResolvedStage:
    """A stage configuration resolved with the run variables and checked, ready to run."""

    kind: str
    """The stage type (`send`, `delay`, …)."""
    config: object
    """The typed config: an instance of the stage module's `CONFIG` class."""
    history_name: str
    """The name shown in instance history (`RunDelay`, `RunWaitEvent`, …)."""
    history_input: dict[str, object]
    """The resolved config as instance history shows it (spec §5.6)."""


def _camel_case(kind: str) -> str:
    return "".join(part.capitalize() for part in kind.split("_"))


def is_instant(kind: str) -> bool:
    """Whether a stage type does nothing durable and cannot fail (its module says `INSTANT`)."""
    return bool(getattr(STAGES[kind], "INSTANT", False))


def history_name(kind: str) -> str:
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


def parse_stage(obj: object) -> tuple[str, object]:
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
    return kind, raw


def _config_class(kind: str) -> type[Any]:
    config: type[Any] = STAGES[kind].CONFIG
    return config


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
            _schema.resolve(_config_class(kind), raw, {})
        except StageConfigError as err:
            raise StageDefinitionError(f"stage {index} ({kind}): {err.message}") from None


def resolve_stage(kind: str, raw: object, variables: Mapping[str, str]) -> ResolvedStage:
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
    config = _schema.resolve(_config_class(kind), raw, variables)
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
    run: Callable[[StageContext, Any], Awaitable[None]] = STAGES[resolved.kind].run
    await run(ctx, resolved.config)
