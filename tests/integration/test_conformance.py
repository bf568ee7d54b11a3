"""The official-SDK conformance suite (`../shared/conformance`) against a server
started as the README says (embedded SQLite, defaults)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.testing.server import ServerProcess
from tests.testing.shared import shared_dir

EVERY_TEST = 43
"""The suite's size: all of it must run and pass, trigger tests included."""


def test_official_sdk_conformance_suite_passes(tmp_path: Path) -> None:
    suite = shared_dir() / "conformance"
    server = ServerProcess(data_dir=tmp_path / "data").start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite)],
            env={**os.environ, "ORCH_URL": server.url},
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
    finally:
        server.stop()
    report = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed.group(1)) == EVERY_TEST, report
    assert "failed" not in result.stdout.splitlines()[-1], report
