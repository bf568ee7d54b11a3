"""Errors of stages: a definition or configuration that does not hold, or a stage that failed."""

from __future__ import annotations

from orchestration.stack import ActivityName


def shown(value: str, limit: int = 100) -> str:
    """A value from a configuration as an error message quotes it: control characters escaped, cut at `limit`."""
    head = value[:limit]
    if not head.isprintable():
        head = head.encode("unicode_escape").decode("ascii")
    return head + ("…" if len(value) > limit else "")


class StageDefinitionError(ValueError):
    """A workflow's stage list is malformed (checked when the workflow is created)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StageConfigError(ValueError):
    """A stage configuration does not resolve or does not meet its requirements."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StageFailure(Exception):
    """The stage failed; `message` becomes the stage and instance `error`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ActivityFailed(StageFailure):
    """An activity (a call to the Formance stack) failed for good: its error was not
    retryable, or its retries ran out. `code` is the remote error code (`INSUFFICIENT_FUND`,
    `VALIDATION`, `CONFLICT`, `NOT_FOUND`, ...; `INTERNAL` or `TRANSPORT` otherwise),
    `message` the remote's own message."""

    def __init__(self, activity: ActivityName, code: str, message: str) -> None:
        super().__init__(message)
        self.activity = activity
        self.code = code
