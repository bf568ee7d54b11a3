"""Scale-out under fire: one `serve` (or one API-only `serve --worker=false`) and two `worker`
processes on PostgreSQL run 300 instances (delays in memory and parked, events, ledger moves)
while a random process is killed -9 every few seconds, the dead are sometimes restarted, and
PostgreSQL restarts once. Every instance ends as it should, the ledger holds exactly the expected
postings, and survivors take over a dead process's instances within `--takeover-after` + 5 s.

The test sends requests only while the API process is alive and between kills, so that every
run request is either answered or refused: what it expects is exact.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import FAST_RETRIES
from tests.testing.fake_stack import FakeStack
from tests.testing.peek import Peek
from tests.testing.postgres import PostgresServer, require_pg_bin
from tests.testing.server import ServerProcess, eventually

INSTANCES = 300
WAVES = 10
TAKEOVER_AFTER = 3.0
TAKEOVER_BOUND = TAKEOVER_AFTER + 5.0
# Each ledger call is answered 0.3 s late: kills land while calls are in flight.
LEDGER_LATENCY = 0.3
PACE = [
    "--heartbeat-interval", "0.5", "--takeover-after", str(TAKEOVER_AFTER), "--park-after", "2",
    "--signal-poll-interval", "0.2",
]  # fmt: skip
_TOOK_OVER = re.compile(r"^(\S+ \S+) WARNING orchestration\.engine\._takeover: took over (\d+) pending "
                        r"instance\(s\) of silent worker (\S+)$")


def _move(ledger: str, destination: str) -> dict[str, Any]:
    return {
        "send": {
            "source": {"account": {"id": "world", "ledger": ledger}},
            "destination": {"account": {"id": destination, "ledger": ledger}},
            "amount": {"amount": 100, "asset": "USD/2"},
        }
    }


def _workflows(ledger: str) -> dict[str, list[dict[str, Any]]]:
    """Each kind of instance: its stages (`${user}` is unique per instance)."""
    return {
        "memory_delay": [{"delay": {"duration": "1500ms"}}, {"noop": {}}],
        "parked_delay": [{"delay": {"duration": "4s"}}, {"noop": {}}],
        "event": [{"wait_event": {"event": "go"}}, {"noop": {}}],
        "send": [{"delay": {"duration": "1s"}}, _move(ledger, "users:${user}:a")],
        "mixed": [
            _move(ledger, "users:${user}:a"),
            {"delay": {"duration": "2500ms"}},
            {"wait_event": {"event": "go"}},
            _move(ledger, "users:${user}:b"),
        ],
    }


@dataclass
class Cluster:
    api: ServerProcess
    workers: list[ServerProcess]
    postgres: PostgresServer
    kills: list[tuple[float, str]] = field(default_factory=list)
    """(wall-clock time, executor id) of every kill -9."""

    @property
    def processes(self) -> list[ServerProcess]:
        return [self.api, *self.workers]

    @staticmethod
    def executor(process: ServerProcess) -> str:
        return process.extra_args[process.extra_args.index("--executor-id") + 1]

    @staticmethod
    def alive(process: ServerProcess) -> bool:
        return process.proc is not None and process.proc.poll() is None

    def kill(self, process: ServerProcess) -> None:
        self.kills.append((time.time(), self.executor(process)))
        process.kill()

    def logs(self) -> list[Path]:
        return sorted(log for p in self.processes for log in p.data_dir.glob("server-*.log"))


@pytest.fixture(params=["serve", "api-only"])
def cluster(fake_stack: FakeStack, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """A PostgreSQL of the test's own (it is restarted), one `serve` and two `worker`s on it; or one
    API-only `serve --worker=false`, whose instances the workers take and start."""
    postgres = PostgresServer(require_pg_bin()).start()
    uri = postgres.create_database("chaos")
    common = [*fake_stack.server_args(), *FAST_RETRIES, *PACE]
    api_only = ["--worker=false"] if request.param == "api-only" else []
    api = ServerProcess(
        data_dir=tmp_path / "api", postgres_uri=uri, extra_args=[*common, *api_only, "--executor-id", "api"]
    )
    workers = [
        ServerProcess(data_dir=tmp_path / f"w{n}", postgres_uri=uri, command="worker",
                      extra_args=[*common, "--executor-id", f"w{n}"])
        for n in range(2)
    ]
    cluster = Cluster(api.start(), [w.start() for w in workers], postgres)
    yield cluster
    for process in cluster.processes:
        process.stop()
    postgres.stop()


@dataclass
class Run:
    kind: str
    user: str
    events_sent: bool = False


def _create(client: httpx.Client, workflow_ids: dict[str, str], kinds: list[str]) -> dict[str, Run]:
    runs = {}
    for kind in kinds:
        user = uuid.uuid4().hex[:12]
        answer = client.post(f"/v2/workflows/{workflow_ids[kind]}/instances", json={"user": user})
        assert answer.status_code == 201, answer.text
        runs[answer.json()["data"]["id"]] = Run(kind, user)
    return runs


def _send_events(client: httpx.Client, runs: dict[str, Run], *, only_older_than: int = 0) -> None:
    """`go` to each instance that waits for it (kept until its wait takes it), once."""
    waiting = [(i, r) for i, r in runs.items() if r.kind in ("event", "mixed") and not r.events_sent]
    for instance_id, run in waiting[: max(0, len(waiting) - only_older_than)]:
        answer = client.post(f"/v2/instances/{instance_id}/events", json={"name": "go"})
        assert answer.status_code == 204, answer.text
        run.events_sent = True


def _probe_while_postgres_is_down(client: httpx.Client, instance_id: str) -> None:
    answer = client.get(f"/v2/instances/{instance_id}")  # the client's timeout: never a hang
    assert answer.status_code == 503, answer.text
    assert answer.json()["errorMessage"] == "the database is unreachable; try again shortly"


def _takeovers(cluster: Cluster) -> list[tuple[str, int, float]]:
    """(executor, instances taken over, seconds since it was last killed) of each takeover: since the
    survivor that took over was started, when it was started after the kill (with an API-only
    server, both workers may be dead at once: the first to come back takes over)."""
    found = []
    started_at = {log: at for process in cluster.processes for log, at in process.started_at.items()}
    for log in cluster.logs():
        began = started_at[log]  # this run of the survivor
        for line in log.read_text(errors="replace").splitlines():
            match = _TOOK_OVER.match(line)
            if match is None:
                continue
            at = _time(match[1])
            executor = match[3]
            killed = [t for t, e in cluster.kills if e == executor and t <= at]
            if killed:
                found.append((executor, int(match[2]), at - max(*killed, began)))
    return found


def _time(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def _kill_a_busy_worker(cluster: Cluster) -> ServerProcess:
    """Kill -9 a worker while it runs an instance's workflow, so that a takeover of it is due. The
    API process wins most wake-ups (the events and the timers are its own): when no worker has been
    busy for a while, it is killed first, and the workers take its instances over."""
    for worker in cluster.workers:
        if not Cluster.alive(worker):
            worker.start()
    workers = {Cluster.executor(w): w for w in cluster.workers}
    began = time.monotonic()
    with Peek(cluster.api) as peek:
        while time.monotonic() - began < 90:
            busy = sorted(peek.running_executors() & workers.keys())
            if busy:
                victim = workers[busy[0]]
                cluster.kill(victim)
                if Cluster.executor(victim) in peek.running_executors():
                    return victim  # left running by the dead: its takeover is due
                victim.start()  # what it ran ended just before the kill: again
            elif time.monotonic() - began > 10 and Cluster.alive(cluster.api):
                cluster.kill(cluster.api)
            time.sleep(0.1)
    raise AssertionError("no worker ran an instance within 90 s")


@pytest.mark.timeout(600)
def test_a_cluster_under_kills_and_a_database_restart_runs_every_instance_once(
    cluster: Cluster, fake_stack: FakeStack
) -> None:
    chance = random.Random()
    seed = chance.randrange(1 << 30)
    chance.seed(seed)
    print(f"chaos seed {seed}")
    ledger = f"chaos-{uuid.uuid4().hex[:8]}"
    fake_stack.create_ledger(ledger)
    fake_stack.hang_next("POST", f"/api/ledger/v2/{ledger}/transactions", LEDGER_LATENCY, times=None)
    client = httpx.Client(base_url=cluster.api.url, timeout=15)
    workflows = _workflows(ledger)
    workflow_ids = {
        kind: client.post("/v2/workflows", json={"stages": stages}).json()["data"]["id"]
        for kind, stages in workflows.items()
    }
    kinds = [list(workflows)[n % len(workflows)] for n in range(INSTANCES)]
    chance.shuffle(kinds)
    runs: dict[str, Run] = {}
    per_wave = INSTANCES // WAVES
    kept_dead: ServerProcess | None = None

    for wave in range(WAVES):
        if not Cluster.alive(cluster.api):
            cluster.api.start()
        runs |= _create(client, workflow_ids, kinds[wave * per_wave:(wave + 1) * per_wave])
        _send_events(client, runs, only_older_than=per_wave)  # the newest wave's have not parked yet
        if wave == WAVES // 2:
            cluster.postgres.pause("fast")
            _probe_while_postgres_is_down(client, next(iter(runs)))
            time.sleep(1.0)  # down for a while: the processes' loops and steps meet the outage
            cluster.postgres.resume()
        if wave == 2:
            # One worker that runs an instance stays dead well past --takeover-after: its instances
            # must be taken over.
            kept_dead = _kill_a_busy_worker(cluster)
        for process in cluster.processes:
            if not Cluster.alive(process) and chance.random() < 0.5 and (wave > 4 or process is not kept_dead):
                process.start()
        time.sleep(chance.uniform(1.5, 3.0))
        alive = [p for p in cluster.processes if Cluster.alive(p)]
        if alive:
            cluster.kill(chance.choice(alive))

    for process in cluster.processes:
        if not Cluster.alive(process):
            process.start()
    _send_events(client, runs)

    def unfinished() -> list[str]:
        return [i for i in runs if not client.get(f"/v2/instances/{i}").json()["data"]["terminated"]]

    eventually(unfinished, lambda left: not left, timeout=120, interval=1.0, what="every instance ended")

    for instance_id, run in runs.items():
        data = client.get(f"/v2/instances/{instance_id}").json()["data"]
        stages = workflows[run.kind]
        assert "error" not in data, (run, data)
        assert [s["stage"] for s in data["status"]] == list(range(len(stages))), (run, data)
        assert all("terminatedAt" in s and "error" not in s for s in data["status"]), (run, data)

    # The money: one posting per move, none twice, none lost.
    expected = sorted(
        f"users:{run.user}:{leg}"
        for run in runs.values()
        for leg in {"send": ["a"], "mixed": ["a", "b"]}.get(run.kind, [])
    )
    posted = sorted(p["destination"] for t in fake_stack.transactions(ledger) for p in t["postings"])
    assert posted == expected
    for account in expected:
        assert fake_stack.balance(ledger, account, "USD/2") == 100

    takeovers = _takeovers(cluster)
    print(f"kills: {len(cluster.kills)}; takeovers (executor, instances, seconds after its kill): {takeovers}")
    assert kept_dead is not None
    assert any(executor == Cluster.executor(kept_dead) for executor, _, _ in takeovers), takeovers
    assert all(latency <= TAKEOVER_BOUND for _, _, latency in takeovers), takeovers
