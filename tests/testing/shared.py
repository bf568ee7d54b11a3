"""The project's shared reference material (`../shared` beside the repository)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    """`$ORCH_SHARED_DIR`, else `../shared`; a missing one skips, but fails under CI."""
    path = Path(os.environ.get("ORCH_SHARED_DIR", REPO_ROOT.parent / "shared"))
    if not path.is_dir():
        message = f"shared reference material not found at {path} (set ORCH_SHARED_DIR)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path
