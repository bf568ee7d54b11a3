"""Workflow code meets the world only through the stage context and the engine's steps (STYLE R3).

DBOS replays workflow code from the top after a crash; a clock, randomness or I/O in it would
make a replay take another path than the run it replays.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "orchestration"
WORKFLOW_CODE = sorted(
    [
        *(SRC / "stages").rglob("*.py"),
        SRC / "engine" / "_instance_workflow.py",
        SRC / "engine" / "_retry.py",
    ]
)
# `dbos` is allowed: the workflow module registers itself with its decorator.
FORBIDDEN = {"httpx", "random", "time", "uuid", "sqlalchemy", "orchestration.storage", "asyncio"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "monotonic", "uuid4", "random", "sleep"}


def _imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _called_attributes(tree: ast.AST) -> set[str]:
    return {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }


@pytest.mark.parametrize("path", WORKFLOW_CODE, ids=lambda p: str(p.relative_to(SRC)))
def test_workflow_code_has_no_clock_randomness_or_io(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    imported = {name for name in _imports(tree) if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)}
    assert not imported, f"{path.name} imports {sorted(imported)}"
    called = _called_attributes(tree) & FORBIDDEN_CALLS
    assert not called, f"{path.name} calls {sorted(called)}"


def test_the_fence_check_sees_a_clock() -> None:
    tree = ast.parse("import datetime\nx = datetime.datetime.now()\nimport uuid\n")
    assert _called_attributes(tree) & FORBIDDEN_CALLS == {"now"}
    assert "uuid" in _imports(tree)
