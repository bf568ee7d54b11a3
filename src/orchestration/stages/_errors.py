"""Errors raised while reading stage definitions and configurations."""

from __future__ import annotations


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
