"""What a server wrote to its log: lines per level, and its distinct warnings, errors and exceptions."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from ._harness import say

# A log line's timestamp (ours: `2026-01-02 03:04:05,678 `, DBOS's: `03:04:05 `), ids and numbers:
# masked so that the same message counts once.
_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d(,\d+)? ")
_VOLATILE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+(\.\d+)?", re.IGNORECASE)
# The last line of a traceback: `package.module.SomeError: message`.
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b")


def summarize_log(path: Path) -> dict[str, Any]:
    """Lines per level ("traceback" for the lines of tracebacks), and the distinct
    warnings, errors and exceptions, with their counts."""
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    levels: Counter[str] = Counter()
    notable: Counter[str] = Counter()
    for line in lines:
        message = _TIMESTAMP.sub("", line)
        level = next((lv for lv in ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG") if lv in message[:12]), None)
        levels[level or "traceback"] += 1
        if level in ("CRITICAL", "ERROR", "WARNING") or _EXCEPTION.match(message):
            notable[_VOLATILE.sub("#", message)[:150]] += 1
    return {"lines": len(lines), "levels": dict(levels), "notable": dict(notable.most_common(10))}


def print_log_summary(name: str, summary: dict[str, Any]) -> None:
    say(f"log {name}: {summary['lines']} lines {summary['levels']}")
    for line, count in summary["notable"].items():
        say(f"    {count}x {line}")
