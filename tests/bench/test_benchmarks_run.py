"""The benchmarks keep working: their quick modes run to the end and print a summary.

No figure is asserted here (figures belong in the benchmarks' output, not in tests).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("script", ["core.py", "money.py"])
def test_quick_benchmark_runs_to_its_summary(script: str) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick"], capture_output=True, text=True, timeout=280
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])["summary"]
    assert summary, result.stdout[-2000:]
