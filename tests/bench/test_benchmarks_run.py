"""The benchmarks keep working: their quick modes run to the end and print a summary.

No figure is asserted here (figures belong in the benchmarks' output, not in tests).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.testing.nats import require_nats_server
from tests.testing.postgres import require_pg_bin

REPO_ROOT = Path(__file__).resolve().parents[2]  # `python -m bench.*` runs from here


@pytest.mark.timeout(300)
@pytest.mark.parametrize("module", ["bench.core", "bench.money", "bench.auth", "bench.scale", "bench.parked"])
def test_quick_benchmark_runs_to_its_summary(module: str) -> None:
    if module == "bench.scale":
        require_pg_bin()  # it starts its own PostgreSQL cluster
    result = subprocess.run(
        [sys.executable, "-m", module, "--quick"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=280
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])["summary"]
    assert summary, result.stdout[-2000:]


@pytest.mark.timeout(120)
def test_quick_trigger_benchmark_runs_to_its_summary() -> None:
    require_nats_server()
    result = subprocess.run(
        [sys.executable, "-m", "bench.triggers", "--quick"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=110
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])["summary"]
    assert {"core", "floor", "no_start", "one_start", "ratio_to_core"} <= summary.keys(), result.stdout[-2000:]
    assert "no-start dispatch:" in result.stdout and "one-start dispatch:" in result.stdout
