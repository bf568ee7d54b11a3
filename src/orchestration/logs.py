"""Logging set-up: plain text, or one JSON object per line."""

from __future__ import annotations

import json
import logging
import sys

IDS = ("workflow_id", "instance_id", "stage", "trigger_id", "occurrence_id")
"""What a log line is about, given with `extra=` where it applies: JSON lines carry them as
fields, so that one instance's or one trigger's lines can be found with a filter."""


class _JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry |= {name: getattr(record, name) for name in IDS if hasattr(record, name)}
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure(*, debug: bool, json_format: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _JSONFormatter() if json_format else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
