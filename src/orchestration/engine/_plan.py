"""What an instance starts next: its stages resolved with its variables, and the instant ones
that are recorded together with the next stage to run.

Workflow code (the instance workflow plans with it, and replays it after a crash): no clock,
no I/O; a run recorded by an earlier release asks DBOS whether the newest options apply to it.
Also used outside any workflow, by `_in_place`, for current runs only.
"""

from __future__ import annotations

from typing import Any

from dbos import DBOS

from orchestration.stages import (
    OPTIONS_PATCH,
    ResolvedStage,
    StageConfigError,
    StageDefinitionError,
    as_read_before_options,
    history_name,
    parse_stage,
    resolve_stage,
)

from ._moves import StageStart


def stage_attributes(instance_id: str, number: int, stage: ResolvedStage) -> dict[str, str | int]:
    """The attributes of a stage's trace span."""
    return {"orchestration.instance_id": instance_id, "orchestration.stage": number,
            "orchestration.stage.type": str(stage.kind)}


def unresolved_start(number: int, raw: Any, error: str) -> StageStart:
    """The start of a stage whose configuration could not be resolved, ended with its
    error; its history shows the configuration as written, since there is no resolved one."""
    try:
        kind, body = parse_stage(raw)
    except StageDefinitionError:
        return StageStart(number, "RunUnknown", {}, config_error=error, ended=True)
    return StageStart(number, history_name(kind), body if isinstance(body, dict) else {}, error, ended=True)


async def resolve(raw: Any, variables: dict[str, str], *, current: bool) -> ResolvedStage:
    """The stage as written, its variables filled in (raises when it does not resolve)."""
    kind, body = parse_stage(raw)
    earlier = None if current else as_read_before_options(kind, body)
    if earlier is not None and not await DBOS.patch_async(OPTIONS_PATCH):
        body = earlier  # recorded before the newest send options: replayed as it ran
    return resolve_stage(kind, body, variables)


async def next_starts(
    stages: list[Any], first: int, variables: dict[str, str], *, current: bool
) -> tuple[list[StageStart], ResolvedStage | None, str | None]:
    """The stages to start in one `advance` from `first`: the instant ones (recorded ended as they
    start, nothing of theirs to run) up to and including the next one to run, or up to a stage
    whose configuration does not resolve. Returns (starts, the stage to run after them or None,
    the configuration error that ends the instance or None). A recorded run starts one at a time."""
    starts: list[StageStart] = []
    for number in range(first, len(stages)):
        try:
            resolved = await resolve(stages[number], variables, current=current)
        except (StageDefinitionError, StageConfigError) as exc:
            # Q-24 fixed: the stage gets a row and a history entry carrying its error.
            starts.append(unresolved_start(number, stages[number], str(exc)))
            return starts, None, str(exc)
        starts.append(StageStart(number, resolved.history_name, resolved.history_input, ended=resolved.instant))
        if not resolved.instant:
            return starts, resolved, None
        if not current:
            break
    return starts, None, None
