"""What every benchmark shares: its output (figures as they come, the machine's load, the
final JSON summary line), the lifetime of its subprocesses, what /proc says about them,
and two asyncio helpers."""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import shutil
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

REPO_ROOT = Path(__file__).resolve().parents[1]  # the cwd of `python -m bench.*` subprocesses
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl  # looked up now: the forked child must not load anything
_PR_SET_PDEATHSIG = 1

T = TypeVar("T")
R = TypeVar("R")


# ---------------------------------------------------------------- output


def say(line: str) -> None:
    """Figures go to stdout as soon as known: a long run shows progress."""
    print(line, flush=True)


def leave_work_dir(work_dir: Path, *, keep: bool) -> None:
    """At a benchmark's end: keep its work dir (and say where), or remove it."""
    if keep:
        say(f"kept {work_dir}")
    else:
        shutil.rmtree(work_dir, ignore_errors=True)


def load() -> str:
    """The load averages: other work on the machine skews every figure (say so next to them)."""
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def percentiles(values: Iterable[float], points: Iterable[int] = (50, 95, 99)) -> dict[str, float]:
    """Nearest-rank percentiles, e.g. {"p50": ..., "p95": ..., "p99": ...}; NaN when empty."""
    ordered = sorted(values)
    if not ordered:
        return {f"p{p}": float("nan") for p in points}
    return {f"p{p}": ordered[min(len(ordered) - 1, max(0, -(-p * len(ordered) // 100) - 1))] for p in points}


def fmt_latency(ms: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.1f}ms" for k, v in ms.items())


def _interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # unwinds through every `finally`: servers are stopped


def run_to_summary(main: Coroutine[Any, Any, dict[str, Any]]) -> None:
    """Run a benchmark's `main`, then print its summary as the last stdout line:
    `{"summary": {...}}`, the one line a script reading the output needs."""
    signal.signal(signal.SIGTERM, _interrupt)
    summary = asyncio.run(main)
    print(json.dumps({"summary": summary}, default=float), flush=True)


# ---------------------------------------------------------------- processes


def die_with_parent() -> None:
    """`preexec_fn` of every subprocess: the kernel SIGKILLs it if the bench dies, even by
    SIGKILL, so that no server outlives the benchmark (the `finally` blocks cover the rest).

    The signal fires when the *thread* that forked the child ends: start subprocesses from
    the main thread, never from `asyncio.to_thread`."""
    _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass(frozen=True)
class ProcStats:
    """What /proc says about a process at one instant."""

    cpu_s: float  # utime + stime
    rss_mb: float  # VmRSS
    hwm_mb: float  # VmHWM, the peak RSS
    threads: int

    @classmethod
    def read(cls, pid: int) -> ProcStats:
        stat = Path(f"/proc/{pid}/stat").read_text()
        # Fields after the parenthesised command name: state is 3rd field, utime 14th, stime 15th.
        fields = stat.rsplit(")", 1)[1].split()
        cpu_s = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        status = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
        )
        return cls(
            cpu_s=cpu_s,
            rss_mb=int(status["VmRSS"].split()[0]) / 1024,
            hwm_mb=int(status["VmHWM"].split()[0]) / 1024,
            threads=int(status["Threads"]),
        )


# ---------------------------------------------------------------- asyncio


async def wait_until(check: Callable[[], bool], *, every: float, timeout: float, what: str) -> bool:
    """Call `check` every `every` seconds until true; False (and a line) at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            say(f"  !! gave up waiting for {what} after {timeout:.0f}s")
            return False
        await asyncio.sleep(every)


async def bounded(items: Iterable[T], concurrency: int, action: Callable[[T], Awaitable[R]]) -> list[R]:
    """`action(item)` for every item, at most `concurrency` at a time, results in order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(item: T) -> R:
        async with gate:
            return await action(item)

    return list(await asyncio.gather(*(one(item) for item in items)))
