"""Core benchmark of `orchestration serve` on embedded SQLite.

    .venv/bin/python bench/core.py [--instances 2000] [--concurrency 32] [--waiting 10000] [--quick]

Four measures, each printed as plain lines, then one JSON summary line:

1. throughput: N instances of a 3-`noop` workflow run over HTTP with bounded
   concurrency; instances/s and run-request-to-terminated latency.
2. floor: the same N bare DBOS workflows of 3 trivial steps (bench/floor.py, in
   a subprocess of its own), and the ratio server/floor.
3. idle: the server's RSS and CPU, empty, then with W instances waiting on a
   `wait_event` stage.
4. resume: SIGKILL with W waiting instances, restart, and the time until the
   API answers and until the instances take their event again; the instances'
   outcomes (an instance failed by the restart shows its error).

How termination is seen (measure 1): a single poller task lists
`GET /v2/instances?running=true&pageSize=100` every ~20 ms. At most
`--concurrency` instances are in flight (a run request holds its slot until its
instance is seen terminated), so one page holds every running instance; an
instance whose run request had answered before a poll was sent, and that this
poll does not list, has terminated. One request per poll whatever the
concurrency, instead of one per instance in flight. Its cost to the server is
measured (server CPU per poll on the idle server, times the number of polls) and
printed. Latency is therefore quantised by the poll interval plus a poll's round
trip; the server's own createdAt→terminatedAt is printed alongside.

No figure is asserted: targets are printed next to the figures, for people.
Every subprocess dies with the script, even if it is SIGKILLed (PR_SET_PDEATHSIG).
`--profile` also samples the server with py-spy during measure 1 and prints
where its event loop and its other threads spent their time.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

BENCH_DIR = Path(__file__).resolve().parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl  # looked up now: the forked child must not load anything
_PR_SET_PDEATHSIG = 1
PY_SPY = Path(sys.executable).with_name("py-spy")

NOOP_WORKFLOW = {"name": "bench three noops", "stages": [{"noop": {}}, {"noop": {}}, {"noop": {}}]}
WAITING_WORKFLOW = {"name": "bench wait go", "stages": [{"wait_event": {"event": "go"}}]}

# Targets, printed next to the figures (not asserted).
TARGET_RATIO = 0.6
TARGET_RSS_MB = 600
TARGET_IDLE_CPU_PCT = 2.0
TARGET_RESUME_S = 30.0


@dataclass(frozen=True)
class Sizes:
    instances: int  # N, measures 1 and 2
    concurrency: int  # run requests (and floor workflows) in flight
    waiting: int  # W, measures 3 and 4
    warmup: int  # instances run before measure 1 and 2, not counted
    settle_s: float  # before the idle window
    window_s: float  # idle window
    sample: int  # instances sent their event first after the restart
    event_all: bool  # then send it to all the others and time their end (skipped by --quick)
    poll_interval_s: float
    timeout_s: float  # any single wait; the script gives up on a measure past it

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Sizes:
        if args.quick:
            return cls(
                instances=args.instances or 200,
                concurrency=args.concurrency,
                waiting=args.waiting or 500,
                warmup=10,
                settle_s=1.0,
                window_s=3.0,
                sample=50,
                event_all=False,
                poll_interval_s=0.02,
                timeout_s=60.0,
            )
        return cls(
            instances=args.instances or 2000,
            concurrency=args.concurrency,
            waiting=args.waiting or 10_000,
            warmup=50,
            settle_s=5.0,
            window_s=20.0,
            sample=200,
            event_all=True,
            poll_interval_s=0.02,
            timeout_s=600.0,
        )


# ---------------------------------------------------------------- small helpers


def say(line: str) -> None:
    """Figures go to stdout as soon as known: a long run shows progress."""
    print(line, flush=True)


def percentiles(values: Iterable[float], points: Iterable[int] = (50, 95, 99)) -> dict[str, float]:
    """Nearest-rank percentiles, e.g. {"p50": ..., "p95": ..., "p99": ...}; NaN when empty."""
    ordered = sorted(values)
    if not ordered:
        return {f"p{p}": float("nan") for p in points}
    return {f"p{p}": ordered[min(len(ordered) - 1, max(0, -(-p * len(ordered) // 100) - 1))] for p in points}


def fmt_latency(ms: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.1f}ms" for k, v in ms.items())


def load() -> str:
    """The load averages: other work on the machine skews every figure (say so next to them)."""
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def die_with_parent() -> None:
    """`preexec_fn` of every subprocess: the kernel SIGKILLs it if the bench dies, even by
    SIGKILL, so that no server outlives the benchmark (the `finally` blocks cover the rest)."""
    _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def parse_time(value: str) -> float:
    """A wire timestamp (`...Z`) as POSIX seconds."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


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


async def bounded(items: Iterable[Any], concurrency: int, action: Callable[[Any], Awaitable[Any]]) -> list[Any]:
    """`action(item)` for every item, at most `concurrency` at a time, results in order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(item: Any) -> Any:
        async with gate:
            return await action(item)

    return await asyncio.gather(*(one(item) for item in items))


# ---------------------------------------------------------------- the server process


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


class Server:
    """One `orchestration serve` subprocess on a local port, its stderr in a log file."""

    def __init__(self, data_dir: Path, log_path: Path, extra_args: list[str] | None = None) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.extra_args = extra_args or []
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None, "server not started"
        return self._process.pid

    def spawn(self) -> float:
        """Start the process (not waiting for it); the perf_counter time it was spawned."""
        command = [
            sys.executable, "-m", "orchestration", "serve",
            "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.data_dir), *self.extra_args,
        ]  # fmt: skip
        spawned = time.perf_counter()
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self._process = subprocess.Popen(
                command, stdout=log, stderr=log, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent
            )
        return spawned

    async def wait_healthy(self, client: httpx.AsyncClient, timeout: float) -> float:
        """Poll /_healthcheck every 20 ms; the perf_counter time of the first answer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"server exited with {self._process.returncode}; see {self.log_path}")
            try:
                res = await client.get(f"{self.base_url}/_healthcheck", timeout=1.0)
                if res.status_code == 200:
                    return time.perf_counter()
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.02)
        raise TimeoutError(f"server not healthy after {timeout:.0f}s; see {self.log_path}")

    def stats(self) -> ProcStats:
        return ProcStats.read(self.pid)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit within 15 s."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            say(f"  !! server {self.pid} ignored SIGTERM for 15 s: killed")
            self.kill()


def new_client(base_url: str, concurrency: int) -> httpx.AsyncClient:
    # A connection per request in flight, plus a few for the poller and the probes.
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=httpx.Timeout(60.0))


async def create_workflow(client: httpx.AsyncClient, config: dict[str, Any]) -> str:
    res = await client.post("/v2/workflows", json=config)
    res.raise_for_status()
    workflow_id: str = res.json()["data"]["id"]
    return workflow_id


async def run_instance(client: httpx.AsyncClient, workflow_id: str) -> str:
    res = await client.post(f"/v2/workflows/{workflow_id}/instances", json={})
    if res.status_code != 201:
        raise RuntimeError(f"run answered {res.status_code}: {res.text[:200]}")
    instance_id: str = res.json()["data"]["id"]
    return instance_id


# ---------------------------------------------------------------- optional profile (--profile)


class Profiler:
    """`py-spy record` against the server for the measured run, collapsed stacks to a file.

    Non-blocking sampling: the server is never paused, but stacks read while they
    change come out truncated ("(partial stack)" below), and py-spy takes CPU of
    its own: take the figures from a run without --profile.
    """

    def __init__(self, pid: int, output: Path) -> None:
        self.output = output
        command = [
            str(PY_SPY), "record", "--pid", str(pid), "--rate", "200", "--nonblocking", "--threads",
            "--format", "raw", "--output", str(output),
        ]  # fmt: skip
        self._process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )

    def stop(self) -> None:
        """SIGINT makes py-spy write its output and exit."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


# Leaf frames of a thread that waits (py-spy's idle detection does not work in --nonblocking mode).
_IDLE_LEAVES = re.compile(
    r"^(EpollSelector\.select|_worker \(concurrent|_connection_worker_thread \(aiosqlite/core\.py:59\)"
    r"|Condition\.wait|Event\.wait|Queue\.get|sleep|wait \(threading)"
)


def _no_line(frame: str) -> str:
    return re.sub(r":\d+\)$", ")", frame)


def _task_of(frames: list[str]) -> str:
    """What a busy sample of the event loop thread was doing: the coroutine the loop
    was stepping (the frame just under `Handle._run`) and the innermost of our functions."""
    runs = [i for i, frame in enumerate(frames) if frame.startswith("Handle._run ")]
    if not runs:
        return "event loop itself" if frames[0].startswith("_run_module_as_main") else "(partial stack)"
    below = frames[runs[-1] + 1 :]
    if not below:
        return "event loop callbacks"
    ours = [frame for frame in below[1:] if "orchestration/" in frame]
    return _no_line(below[0]) + (f" > {_no_line(ours[-1])}" if ours else "")


def print_profile(path: Path, top: int = 12) -> None:
    """Where the server's time went, from py-spy's collapsed stacks (`--threads`).

    The main thread runs the event loop, hence every coroutine: its busy samples
    are attributed to their leaf function and to what they were doing (see
    `_task_of`). Other threads: their busy leaves.
    """
    loop_total = loop_idle = other_busy = 0
    loop_self: Counter[str] = Counter()
    loop_task: Counter[str] = Counter()
    other_self: Counter[str] = Counter()
    for line in path.read_text().splitlines() if path.exists() else []:
        stack, _, count_text = line.rpartition(" ")
        thread, *frames = stack.split(";")
        if not frames or not count_text.isdigit():
            continue
        count, leaf = int(count_text), frames[-1]
        if not thread.endswith(": MainThread"):
            if not _IDLE_LEAVES.match(leaf):
                other_busy += count
                other_self[leaf] += count
            continue
        loop_total += count
        if _IDLE_LEAVES.match(leaf):
            loop_idle += count
            continue
        loop_self[_no_line(leaf)] += count
        loop_task[_task_of(frames)] += count
    if not loop_total:
        say("profile: no samples")
        return
    busy = loop_total - loop_idle
    say(f"profile ({path}): the event loop thread was busy in {busy / loop_total * 100:.0f}% of {loop_total} samples")
    say("profile: its busy samples by task (coroutine stepped > innermost orchestration function)")
    for name, count in loop_task.most_common(top):
        say(f"    {count / busy * 100:5.1f}%  {name[:150]}")
    say("profile: its busy samples by leaf function")
    for name, count in loop_self.most_common(top):
        say(f"    {count / busy * 100:5.1f}%  {name[:150]}")
    say(f"profile: other threads were busy {other_busy / loop_total:.2f} thread-equivalents; by leaf")
    for name, count in other_self.most_common(top):
        say(f"    {count / max(other_busy, 1) * 100:5.1f}%  {name[:150]}")


# ---------------------------------------------------------------- measure 1: throughput


class TerminationWatcher:
    """One poller for every instance in flight (see the module docstring).

    `track(id)` right after the run request answered; the returned future gets
    the perf_counter time at which the instance was seen terminated.
    """

    def __init__(self, client: httpx.AsyncClient, interval: float) -> None:
        self._client = client
        self._interval = interval
        self._tracked: dict[str, tuple[float, asyncio.Future[float]]] = {}
        self.polls = 0
        self.overflows = 0  # polls whose page did not hold every running instance

    def track(self, instance_id: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._tracked[instance_id] = (time.perf_counter(), future)
        return future

    async def run(self) -> None:
        """Poll until cancelled."""
        while True:
            sent = time.perf_counter()
            res = await self._client.get("/v2/instances", params={"running": "true", "pageSize": "100"})
            received = time.perf_counter()
            self.polls += 1
            res.raise_for_status()
            page = res.json()["cursor"]
            if page["hasMore"]:
                # Paging on would skip rows as instances terminate (offset pages): wait for a smaller list.
                self.overflows += 1
            else:
                self._resolve(sent, received, {item["id"] for item in page["data"]})
            await asyncio.sleep(max(0.0, self._interval - (received - sent)))

    def _resolve(self, sent: float, received: float, running: set[str]) -> None:
        for instance_id, (accepted, future) in list(self._tracked.items()):
            # Only instances known to exist before the poll was sent: the poll saw their row.
            if accepted < sent and instance_id not in running:
                del self._tracked[instance_id]
                if not future.done():
                    future.set_result(received)


@dataclass
class TrackedRun:
    instance_ids: list[str]
    wall_s: float  # first run request to last termination seen
    latencies_ms: list[float]
    polls: int
    overflows: int


async def run_tracked(
    client: httpx.AsyncClient, workflow_id: str, count: int, sizes: Sizes
) -> TrackedRun:
    """Run `count` instances, `concurrency` at a time, each holding its slot until seen terminated."""
    watcher = TerminationWatcher(client, sizes.poll_interval_s)
    poller = asyncio.create_task(watcher.run())

    async def one(_: int) -> tuple[str, float, float]:
        started = time.perf_counter()
        instance_id = await run_instance(client, workflow_id)
        ended = await asyncio.wait_for(watcher.track(instance_id), sizes.timeout_s)
        return instance_id, started, ended

    try:
        results = await bounded(range(count), sizes.concurrency, one)
    finally:
        poller.cancel()
        await asyncio.gather(poller, return_exceptions=True)
    first = min(started for _, started, _ in results)
    last = max(ended for _, _, ended in results)
    return TrackedRun(
        instance_ids=[i for i, _, _ in results],
        wall_s=last - first,
        latencies_ms=[(ended - started) * 1000 for _, started, ended in results],
        polls=watcher.polls,
        overflows=watcher.overflows,
    )


async def server_recorded_latencies(client: httpx.AsyncClient, instance_ids: set[str]) -> list[float]:
    """createdAt→terminatedAt (ms) of these instances, as the server wrote them: no poll in it."""
    latencies: list[float] = []
    params: dict[str, str] = {"pageSize": "100"}
    while True:
        res = await client.get("/v2/instances", params=params)
        res.raise_for_status()
        page = res.json()["cursor"]
        for item in page["data"]:
            if item["id"] in instance_ids and item.get("terminatedAt"):
                latencies.append((parse_time(item["terminatedAt"]) - parse_time(item["createdAt"])) * 1000)
        if not page["hasMore"]:
            return latencies
        params = {"cursor": page["next"]}


async def poll_cost(server: Server, client: httpx.AsyncClient, polls: int = 100) -> tuple[float, float]:
    """Server CPU ms and round-trip ms of one running-instances poll, on the idle server."""
    before = server.stats().cpu_s
    started = time.perf_counter()
    for _ in range(polls):
        (await client.get("/v2/instances", params={"running": "true", "pageSize": "100"})).raise_for_status()
    elapsed = time.perf_counter() - started
    return (server.stats().cpu_s - before) * 1000 / polls, elapsed * 1000 / polls


async def measure_throughput(work_dir: Path, sizes: Sizes, *, profile: bool) -> dict[str, Any]:
    say(f"== 1. server throughput: {sizes.instances} instances of 3 noop stages, concurrency {sizes.concurrency}")
    server = Server(work_dir / "throughput-data", work_dir / "server-throughput.log")
    try:
        server.spawn()
        async with new_client(server.base_url, sizes.concurrency) as client:
            await server.wait_healthy(client, 60)
            workflow_id = await create_workflow(client, NOOP_WORKFLOW)
            if sizes.warmup:  # connection pools, SQLite caches, code paths: not part of the figure
                await run_tracked(client, workflow_id, sizes.warmup, sizes)
            profiler = Profiler(server.pid, work_dir / "throughput.collapsed") if profile else None
            cpu_before, client_cpu_before = server.stats().cpu_s, time.process_time()
            try:
                run = await run_tracked(client, workflow_id, sizes.instances, sizes)
            finally:
                server_cpu_s = server.stats().cpu_s - cpu_before
                client_cpu_s = time.process_time() - client_cpu_before
                if profiler:
                    profiler.stop()
            recorded = await server_recorded_latencies(client, set(run.instance_ids))
            poll_cpu_ms, poll_rtt_ms = await poll_cost(server, client)
    finally:
        server.stop()
    per_s = sizes.instances / run.wall_s
    client_ms = percentiles(run.latencies_ms)
    server_ms = percentiles(recorded)
    poll_share = run.polls * poll_cpu_ms / 1000 / server_cpu_s if server_cpu_s else float("nan")
    say(f"server: {per_s:.1f} instances/s ({sizes.instances} in {run.wall_s:.2f} s; {load()})")
    say(f"server run-to-terminated latency (client, via poll): {fmt_latency(client_ms)}")
    say(f"server createdAt-to-terminatedAt (recorded by the server): {fmt_latency(server_ms)}")
    say(
        f"server CPU during the run: {server_cpu_s:.1f} s ({server_cpu_s / run.wall_s * 100:.0f}% of one core), "
        f"{server_cpu_s * 1000 / sizes.instances:.1f} ms per instance; "
        f"bench client CPU: {client_cpu_s:.1f} s ({client_cpu_s / run.wall_s * 100:.0f}%)"
    )
    say(
        f"polling: {run.polls} polls ({run.polls / run.wall_s:.0f}/s), {poll_cpu_ms:.2f} ms server CPU each "
        f"(idle, round trip {poll_rtt_ms:.2f} ms) = ~{poll_share * 100:.0f}% of the server's CPU during the run"
        + (f"; {run.overflows} polls overflowed a page" if run.overflows else "")
    )
    if profiler:
        print_profile(profiler.output)
    return {
        "instances": sizes.instances,
        "concurrency": sizes.concurrency,
        "wall_s": run.wall_s,
        "per_s": per_s,
        "latency_ms": client_ms,
        "recorded_latency_ms": server_ms,
        "server_cpu_s": server_cpu_s,
        "cpu_ms_each": server_cpu_s * 1000 / sizes.instances,
        "client_cpu_s": client_cpu_s,
        "polls": run.polls,
        "poll_server_cpu_ms": poll_cpu_ms,
        "poll_share_of_server_cpu": poll_share,
        "log": summarize_log(server.log_path),
    }


# ---------------------------------------------------------------- measure 2: the engine's floor


def measure_floor(work_dir: Path, sizes: Sizes) -> dict[str, Any]:
    say(f"== 2. engine floor: {sizes.instances} bare DBOS workflows of 3 steps, concurrency {sizes.concurrency}")
    data_dir = work_dir / "floor-data"
    data_dir.mkdir()
    command = [
        sys.executable, str(BENCH_DIR / "floor.py"),
        "--count", str(sizes.instances), "--concurrency", str(sizes.concurrency),
        "--warmup", str(sizes.warmup), "--data-dir", str(data_dir),
    ]  # fmt: skip
    with open(work_dir / "floor.log", "wb") as log:
        # subprocess.run kills the child on timeout (and on any exception) before raising.
        done = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=log, timeout=sizes.timeout_s, check=True, preexec_fn=die_with_parent
        )
    result = json.loads(done.stdout.decode().strip().splitlines()[-1])
    latency = percentiles(result["latencies_ms"])
    say(f"floor: {result['per_s']:.1f} workflows/s ({result['count']} in {result['wall_s']:.2f} s; {load()})")
    say(f"floor start-to-result latency: {fmt_latency(latency)}")
    cpu_ms = result["cpu_s"] * 1000 / result["count"]
    share = result["cpu_s"] / result["wall_s"] * 100
    say(f"floor CPU: {result['cpu_s']:.1f} s ({share:.0f}% of one core), {cpu_ms:.1f} ms per workflow")
    return {"per_s": result["per_s"], "wall_s": result["wall_s"], "latency_ms": latency, "cpu_ms_each": cpu_ms}


# ---------------------------------------------------------------- measures 3 and 4: waiting instances


class DataDirReader:
    """Read-only counts straight from the server's SQLite file: no load on its API.

    WAL readers do not block the server's writers; each count is one short statement.
    """

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / "orchestration.sqlite"

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        with closing(sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=5)) as conn:
            return conn.execute(sql, tuple(params)).fetchall()

    def _count(self, sql: str, params: Iterable[Any] = ()) -> int:
        count: int = self._rows(sql, params)[0][0]
        return count

    def waiting(self) -> int:
        """Instances parked in their (only) stage, waiting for their event."""
        return self._count("SELECT count(*) FROM instance_waits WHERE woken_at IS NULL")

    def terminated(self, instance_ids: list[str] | None = None) -> int:
        if instance_ids is None:
            return self._count("SELECT count(*) FROM workflow_instances WHERE terminated = 1")
        marks = ",".join("?" * len(instance_ids))
        return self._count(
            f"SELECT count(*) FROM workflow_instances WHERE terminated = 1 AND id IN ({marks})", instance_ids
        )

    def outcomes(self, instance_ids: list[str] | None = None) -> Counter[str]:
        """Instances per outcome: "running", "ok", or their error (its first 90 characters)."""
        where = f"WHERE id IN ({','.join('?' * len(instance_ids))})" if instance_ids is not None else ""
        rows = self._rows(
            f"SELECT terminated, substr(error, 1, 90), count(*) FROM workflow_instances {where} GROUP BY 1, 2",
            instance_ids or (),
        )
        return Counter({("ok" if error is None else error) if done else "running": n for done, error, n in rows})


async def start_waiting(client: httpx.AsyncClient, sizes: Sizes) -> tuple[list[str], float]:
    """Start W instances of the wait_event workflow; their ids and the run requests' rate."""
    workflow_id = await create_workflow(client, WAITING_WORKFLOW)
    started = time.perf_counter()
    ids = await bounded(range(sizes.waiting), sizes.concurrency, lambda _: run_instance(client, workflow_id))
    return ids, sizes.waiting / (time.perf_counter() - started)


async def idle_window(server: Server, *, settle_s: float, window_s: float) -> dict[str, Any]:
    """Settle, then RSS (sampled every second) and CPU over the window."""
    await asyncio.sleep(settle_s)
    first = server.stats()
    rss_samples = [first.rss_mb]
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < window_s:
        await asyncio.sleep(min(1.0, window_s - elapsed))
        rss_samples.append(server.stats().rss_mb)
    last = server.stats()
    window = time.perf_counter() - started
    return {
        "rss_mb": max(rss_samples),
        "hwm_mb": last.hwm_mb,
        "threads": last.threads,
        "cpu_pct": (last.cpu_s - first.cpu_s) / window * 100,
        "window_s": window,
    }


async def send_events(client: httpx.AsyncClient, instance_ids: list[str], concurrency: int) -> Counter[str]:
    """Send `go` to each, as a careful client would: a 5xx or a broken connection is tried
    again (5 times in all, 0.5 s, 1 s, 2 s... apart). Counts the final status codes, and
    "retried" for each retry: a refused event is counted, not raised."""

    async def send(instance_id: str) -> list[str]:
        outcomes: list[str] = []
        for attempt in range(5):
            if attempt:
                outcomes.append("retried")
                await asyncio.sleep(0.5 * 2 ** (attempt - 1))
            try:
                res = await client.post(f"/v2/instances/{instance_id}/events", json={"name": "go"})
            except httpx.TransportError as exc:
                status = type(exc).__name__
            else:
                status = str(res.status_code)
                if res.status_code < 500:
                    break
        return [*outcomes, status]

    return Counter(code for codes in await bounded(instance_ids, concurrency, send) for code in codes)


def delivered(codes: Counter[str]) -> int:
    """Events that reached their instance (204), or found it already terminated (400)."""
    return codes["204"] + codes["400"]


async def measure_waiting(work_dir: Path, sizes: Sizes) -> tuple[dict[str, Any], dict[str, Any]]:
    """Measures 3 (idle cost) and 4 (resume after SIGKILL), on one data directory."""
    say(f"== 3. idle cost of {sizes.waiting} waiting instances (wait_event), one fresh server")
    data_dir = work_dir / "waiting-data"
    reader = DataDirReader(data_dir)
    first = Server(data_dir, work_dir / "server-waiting.log")
    second = Server(data_dir, work_dir / "server-resumed.log")
    try:
        first.spawn()
        async with new_client(first.base_url, sizes.concurrency) as client:
            await first.wait_healthy(client, 60)
            empty = await idle_window(first, settle_s=1.0, window_s=min(5.0, sizes.window_s))
            say(f"idle, no instance: RSS {empty['rss_mb']:.0f} MB, CPU {empty['cpu_pct']:.2f}% of one core")
            ids, start_rate = await start_waiting(client, sizes)
            say(f"started {len(ids)} waiting instances at {start_rate:.1f} runs/s")
            all_waiting = await wait_until(
                lambda: reader.waiting() >= sizes.waiting, every=0.5, timeout=sizes.timeout_s, what="parked instances"
            )
            idle = await idle_window(first, settle_s=sizes.settle_s, window_s=sizes.window_s)
        idle.update(
            empty_rss_mb=empty["rss_mb"],
            empty_cpu_pct=empty["cpu_pct"],
            all_waiting=all_waiting,
            start_per_s=start_rate,
        )
        per_instance_kb = (idle["rss_mb"] - empty["rss_mb"]) * 1024 / sizes.waiting
        say(
            f"idle: RSS {idle['rss_mb']:.0f} MB (target < {TARGET_RSS_MB}; {empty['rss_mb']:.0f} MB empty, "
            f"~{per_instance_kb:.1f} KB per waiting instance), VmHWM {idle['hwm_mb']:.0f} MB, "
            f"{idle['threads']} threads"
        )
        say(
            f"idle: CPU {idle['cpu_pct']:.2f}% of one core over {idle['window_s']:.0f} s "
            f"(target < {TARGET_IDLE_CPU_PCT}%), after {sizes.settle_s:.0f} s settling"
        )
        idle["log"] = summarize_log(first.log_path)

        say(f"== 4. resume after SIGKILL with {sizes.waiting} waiting instances")
        first.kill()
        resume = await measure_resume(second, reader, ids, sizes)
        resume["log"] = summarize_log(second.log_path)
    finally:
        first.kill()
        second.stop()
    return idle, resume


async def measure_resume(server: Server, reader: DataDirReader, ids: list[str], sizes: Sizes) -> dict[str, Any]:
    """Restart on the same data dir; time to health, then a sample's events, then (optionally) everyone's."""
    sample = random.Random(7).sample(ids, min(sizes.sample, len(ids)))
    spawned = server.spawn()
    async with new_client(server.base_url, sizes.concurrency) as client:
        healthy = await server.wait_healthy(client, sizes.timeout_s)
        say(f"resume: /_healthcheck answers {healthy - spawned:.2f} s after the process started")
        result: dict[str, Any] = {"healthy_s": healthy - spawned, "sample": len(sample)}
        result.update(await _resume_sample(client, reader, sample, sizes, healthy=healthy, spawned=spawned))
        codes: Counter[str] = result.pop("codes")
        if sizes.event_all:
            rest = sorted(set(ids) - set(sample))
            result.update(await _resume_rest(client, reader, rest, len(ids), sizes, spawned=spawned))
            codes += result.pop("codes")
        else:
            say("resume: events to all the others skipped (--quick)")
    result["event_codes"] = dict(codes)
    return result


async def _resume_sample(
    client: httpx.AsyncClient, reader: DataDirReader, sample: list[str], sizes: Sizes, *, healthy: float, spawned: float
) -> dict[str, Any]:
    """Send `go` to the sample as soon as the API answers; when have they all terminated?"""
    codes = await send_events(client, sample, sizes.concurrency)
    sent = time.perf_counter()
    expected = delivered(codes)  # an instance whose event was lost for good would never end
    done = await wait_until(
        lambda: reader.terminated(sample) >= expected, every=0.05, timeout=sizes.timeout_s, what="the sample"
    )
    ended = time.perf_counter()
    outcomes = reader.outcomes(sample)
    say(
        f"resume: {len(sample)} sampled instances sent 'go' in {sent - healthy:.2f} s (codes {dict(codes)}); "
        f"all terminated {ended - spawned:.2f} s after the process started (target < {TARGET_RESUME_S:.0f} s)"
        + ("" if done else " [INCOMPLETE]")
    )
    say(f"resume: the sample's outcomes: {dict(outcomes)}")
    return {
        "sample_terminated_s": ended - spawned,
        "sample_complete": done,
        "sample_outcomes": dict(outcomes),
        "codes": codes,
    }


async def _resume_rest(
    client: httpx.AsyncClient, reader: DataDirReader, rest: list[str], total: int, sizes: Sizes, *, spawned: float
) -> dict[str, Any]:
    """Then `go` to all the others; when has every instance terminated?"""
    started = time.perf_counter()
    codes = await send_events(client, rest, sizes.concurrency)
    sent = time.perf_counter()
    expected = total - (len(rest) - delivered(codes))
    done = await wait_until(
        lambda: reader.terminated() >= expected, every=0.2, timeout=sizes.timeout_s, what="every instance"
    )
    ended = time.perf_counter()
    outcomes = reader.outcomes()
    say(
        f"resume: the other {len(rest)} sent 'go' in {sent - started:.2f} s ({len(rest) / (sent - started):.0f} "
        f"events/s, codes {dict(codes)}); all {total} terminated {ended - started:.2f} s after the first of "
        f"these events, {ended - spawned:.2f} s after the process started" + ("" if done else " [INCOMPLETE]")
    )
    say(f"resume: outcomes of all {total}: {dict(outcomes)}")
    return {
        "all_terminated_after_events_s": ended - started,
        "all_terminated_s": ended - spawned,
        "all_complete": done,
        "outcomes": dict(outcomes),
        "codes": codes,
    }


# ---------------------------------------------------------------- server logs

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


# ---------------------------------------------------------------- main


async def main(sizes: Sizes, *, only: str | None, keep: bool, profile: bool) -> dict[str, Any]:
    work_dir = Path(tempfile.mkdtemp(prefix="orchestration-bench-"))
    say(f"work dir: {work_dir} ({os.cpu_count()} CPUs, {load()})")
    summary: dict[str, Any] = {}
    logs: dict[str, Any] = {}
    try:
        if only in (None, "throughput"):
            throughput = await measure_throughput(work_dir, sizes, profile=profile)
            floor = measure_floor(work_dir, sizes)
            ratio = throughput["per_s"] / floor["per_s"]
            say(f"ratio server/floor: {ratio:.2f} (target >= {TARGET_RATIO})")
            logs["throughput"] = throughput.pop("log")
            summary.update(throughput=throughput, floor=floor, ratio=ratio)
        if only in (None, "waiting"):
            idle, resume = await measure_waiting(work_dir, sizes)
            logs.update(waiting=idle.pop("log"), resumed=resume.pop("log"))
            summary.update(idle=idle, resume=resume)
        say(f"== server logs (stderr; {load()})")
        for name, log in logs.items():
            print_log_summary(name, log)
    finally:
        if keep:
            say(f"kept {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    return summary


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, help="N for throughput and floor (2000; 200 with --quick)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight (at most 99)")
    parser.add_argument("--waiting", type=int, help="W waiting instances (10000; 500 with --quick)")
    parser.add_argument("--quick", action="store_true", help="small sizes and short windows: a smoke run")
    parser.add_argument(
        "--only", choices=["throughput", "waiting"], help="measures 1-2 only, or 3-4 only (default: all four)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir (data, server logs)")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the server during measure 1 (needs py-spy in the venv)"
    )
    args = parser.parse_args()
    if args.profile and not PY_SPY.exists():
        parser.error(f"--profile needs {PY_SPY}: {Path(sys.executable).parent}/pip install py-spy")
    if not 1 <= args.concurrency <= 99:
        # The poller's single page (100) must hold every running instance.
        parser.error("--concurrency must be between 1 and 99")
    return args


def _interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # unwinds through every `finally`: servers are stopped


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)
    arguments = parse_args()
    summary = asyncio.run(
        main(Sizes.from_args(arguments), only=arguments.only, keep=arguments.keep, profile=arguments.profile)
    )
    print(json.dumps({"summary": summary}, default=float), flush=True)
