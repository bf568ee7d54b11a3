"""One warning per run of failures, not one per attempt.

A bus that is down is retried every few seconds, possibly for hours: logging each
attempt would bury everything else in the log. The first failure of a run is a warning,
the next ones are debug lines, and the first success after them says the trouble is over.
"""

from __future__ import annotations

import logging


class FailureBurst:
    """Logs the first failure of a run as a warning and the recovery that ends it as info."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self.failing = False

    def failed(self, message: str, *args: object, exc_info: bool = False) -> None:
        level = logging.DEBUG if self.failing else logging.WARNING
        self._logger.log(level, message, *args, exc_info=exc_info)
        self.failing = True

    def recovered(self, message: str, *args: object) -> None:
        if self.failing:
            self._logger.info(message, *args)
        self.failing = False

    def reset(self) -> None:
        """End the run without a line of its own (the caller logs the success its own way)."""
        self.failing = False
