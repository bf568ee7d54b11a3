"""100,000 parked instances created through the API: what they cost the server while they
wait, and how they all resume.

    .venv/bin/python -m bench.parked [--parked 100000] [--concurrency 32] [--postgres] [--quick] [--keep]

One `orchestration serve` on a fresh data dir (embedded SQLite), or with `--postgres` on a
fresh database of a throwaway PostgreSQL cluster (bench.scale's), and two workflows:
`[wait_event go, noop]` and `[delay until ${deadline}, noop]`.

1. create: N instances over HTTP, C in flight, the event waits first, then the delays, every
   delay with the same deadline; instances/s and server CPU per instance of each half, and the
   server's RSS as the count created passes N/10, N/2 and N (what grows with the number parked
   shows between them).
2. parked: the open waits in the database (N expected), and the instances terminated (none).
3. restart: SIGKILL, start again on the same data; the time until /_healthcheck answers, then
   the idle server's RSS and CPU with N parked.
4. events: `go` to every event wait; events accepted per second, and the time until the whole
   half has terminated.
5. deadline: N/2 deadlines at one instant (one batched wake-up); the time from the deadline to
   the first and the last delay terminated, and the peak RSS meanwhile.
6. outcomes: every instance terminated without error, both of its stages ended; the time from
   the restart's first event to the last instance terminated.

Counts and times of step 5 and 6 are read from the database (the server's `terminated_at`),
not through the API. No figure is asserted: targets are printed next to the figures. Every
subprocess, and the cluster, dies with the script.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.testing.postgres import find_pg_bin

from ._client import LOAD_CLIENT_LINE, BenchClient
from ._cluster import BenchCluster
from ._harness import bounded, leave_work_dir, load, run_to_summary, say, wait_until
from ._idle import TARGET_IDLE_CPU_PCT, TARGET_RSS_MB, idle_window
from ._logs import print_log_summary, summarize_log
from ._parked_counts import DataDirParkedCounts, ParkedCounts, PostgresParkedCounts
from ._resume import TARGET_EVENTS_PER_S, TARGET_HEALTHY_S, delivered, send_events
from ._runs import create_workflow, new_client, run_instance
from ._server import BenchServer
from ._sizes import Sizes

EVENT_WORKFLOW = {"name": "bench parked event", "stages": [{"wait_event": {"event": "go"}}, {"noop": {}}]}
DELAY_WORKFLOW = {"name": "bench parked delay", "stages": [{"delay": {"until": "${deadline}"}}, {"noop": {}}]}
STAGES = 2  # in each workflow: an instance that ended well has ended both

# Room left before the deadline for what shared_deadline does not estimate (the count of step 2, a
# restart slower than the first start, a slower machine).
SLACK_S = 30.0
QUICK_SLACK_S = 5.0
RSS_EVERY_S = 0.1  # the server's RSS is sampled this often during the wake-up


class MemoryCheckpoints:
    """The server's RSS, and the waits parked in the database, as the count created passes
    N/10, N/2 and N: memory held per parked instance shows as a slope between them."""

    def __init__(self, server: BenchServer, counts: ParkedCounts, total: int) -> None:
        self._server = server
        self._counts = counts
        self._marks = {max(1, total // 10), max(1, total // 2), total}
        self.created = 0
        self.readings: list[dict[str, float]] = []

    def one_created(self) -> None:
        self.created += 1
        if self.created in self._marks:
            rss = self._server.stats().rss_mb
            parked = self._counts.parked()
            say(
                f"RSS at {self.created:,} parked: {rss:.0f} MB (target <= {TARGET_RSS_MB}; "
                f"{parked:,} parked in the database)"
            )
            self.readings.append({"created": self.created, "parked": parked, "rss_mb": rss})

    def growth_kb_each(self) -> float:
        """RSS gained per instance created between the first and the last reading."""
        first, last = self.readings[0], self.readings[-1]
        kb_each = (last["rss_mb"] - first["rss_mb"]) * 1024 / max(1.0, last["created"] - first["created"])
        say(
            f"RSS from {first['created']:,.0f} to {last['created']:,.0f} parked: "
            f"{last['rss_mb'] - first['rss_mb']:+.0f} MB, {kb_each:+.2f} KB per parked instance "
            f"(target: nothing grows with the number parked)"
        )
        return kb_each


def shared_deadline(event_half_s: float, margin_s: float) -> datetime:
    """The delays' one deadline, on a whole second: after the delay half's creation (estimated at
    1.5 times the event half's), the events of step 4 (as many as the event half created
    instances: estimated to take as long), and `margin_s` for the rest of steps 2-4."""
    ahead = timedelta(seconds=event_half_s * 2.5 + margin_s)
    return (datetime.now(UTC) + ahead).replace(microsecond=0) + timedelta(seconds=1)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds_between(start: datetime, end: datetime | None) -> float:
    return (end - start).total_seconds() if end is not None else float("nan")


@contextlib.asynccontextmanager
async def rss_sampled(server: BenchServer) -> AsyncIterator[list[float]]:
    """The server's RSS every RSS_EVERY_S while inside (MB, a list that grows)."""
    samples = [server.stats().rss_mb]

    async def sample() -> None:
        while True:
            await asyncio.sleep(RSS_EVERY_S)
            samples.append(server.stats().rss_mb)

    task = asyncio.create_task(sample())
    try:
        yield samples
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


# ---------------------------------------------------------------- 1. create


async def create_half(
    client: BenchClient,
    server: BenchServer,
    checkpoints: MemoryCheckpoints,
    *,
    name: str,
    workflow_id: str,
    count: int,
    concurrency: int,
    variables: dict[str, str] | None = None,
) -> tuple[list[str], dict[str, float]]:
    """Create `count` instances, `concurrency` requests in flight; their ids and the figures."""

    async def create(_: int) -> str:
        instance_id = await run_instance(client, workflow_id, variables)
        checkpoints.one_created()
        return instance_id

    cpu_before = server.stats().cpu_s
    started = time.perf_counter()
    ids = await bounded(range(count), concurrency, create)
    wall = time.perf_counter() - started
    cpu_ms_each = (server.stats().cpu_s - cpu_before) * 1000 / count
    say(
        f"created {count:,} {name}: {count / wall:.0f} instances/s ({wall:.1f} s), server CPU "
        f"{cpu_ms_each:.2f} ms per instance ({load()})"
    )
    return ids, {"count": count, "wall_s": wall, "per_s": count / wall, "cpu_ms_each": cpu_ms_each}


# ---------------------------------------------------------------- 2-3. parked, restart and idle


def check_parked(counts: ParkedCounts, total: int) -> dict[str, int]:
    say("== 2. parked")
    parked, terminated = counts.parked(), sum(counts.terminated_per_workflow().values())
    say(
        f"parked: {parked:,} waits open in instance_waits (target {total:,}), "
        f"{terminated:,} instances terminated (target 0)"
    )
    return {"parked": parked, "terminated": terminated}


async def restart_idle(
    server: BenchServer, total: int, sizes: Sizes, postgres_cpu_s: Callable[[], float] | None
) -> dict[str, Any]:
    """SIGKILL, start on the same data: the time until the API answers; then the idle window,
    and PostgreSQL's CPU over it if it is there."""
    say(f"== 3. restart after SIGKILL with {total:,} parked, then idle")
    server.kill()
    spawned = time.perf_counter()
    server.start(sizes.timeout_s)
    healthy_s = time.perf_counter() - spawned
    say(
        f"restart: /_healthcheck answers {healthy_s:.2f} s after the process started "
        f"(target <= {TARGET_HEALTHY_S:.0f} s)"
    )
    await asyncio.sleep(sizes.settle_s)
    postgres_before = postgres_cpu_s() if postgres_cpu_s else 0.0
    idle = await idle_window(server, settle_s=0.0, window_s=sizes.window_s)
    postgres = ""
    if postgres_cpu_s:
        idle["postgres_cpu_pct"] = (postgres_cpu_s() - postgres_before) / idle["window_s"] * 100
        postgres = f"; PostgreSQL {idle['postgres_cpu_pct']:.2f}%"
    say(
        f"idle with {total:,} parked: RSS {idle['rss_mb']:.0f} MB (target <= {TARGET_RSS_MB}), "
        f"VmHWM {idle['hwm_mb']:.0f} MB, {idle['threads']} threads"
    )
    say(
        f"idle with {total:,} parked: CPU {idle['cpu_pct']:.2f}% of one core over {idle['window_s']:.0f} s "
        f"(target <= {TARGET_IDLE_CPU_PCT}%){postgres}, after {sizes.settle_s:g} s settling ({load()})"
    )
    return {"healthy_s": healthy_s, "idle": idle}


# ---------------------------------------------------------------- 4-5. events, deadline


async def resume_events(
    client: BenchClient, server: BenchServer, counts: ParkedCounts, ids: list[str], workflow_id: str, sizes: Sizes
) -> dict[str, Any]:
    """`go` to every event wait; the events' rate, and when the last of the half terminated."""
    say(f"== 4. events: 'go' to the {len(ids):,} event waits, {sizes.concurrency} in flight")
    cpu_before = server.stats().cpu_s
    first_event = datetime.now(UTC)
    started = time.perf_counter()
    codes = await send_events(client, ids, sizes.concurrency)
    sent_s = time.perf_counter() - started
    expected = delivered(codes)  # an instance whose event was lost for good would never end
    done = await wait_until(
        lambda: counts.terminated_per_workflow()[workflow_id] >= expected,
        every=0.2, timeout=sizes.timeout_s, what="the event half",
    )  # fmt: skip
    cpu_ms_each = (server.stats().cpu_s - cpu_before) * 1000 / len(ids)
    _, last = counts.termination_span()[workflow_id]
    terminated_s = seconds_between(first_event, last)
    say(
        f"events: {len(ids) / sent_s:.0f} accepted per second (target >= {TARGET_EVENTS_PER_S}; "
        f"{sent_s:.1f} s, codes {dict(codes)}); the half all terminated {terminated_s:.1f} s after the "
        f"first event; server CPU {cpu_ms_each:.2f} ms per event, its wake-up included ({load()})"
        + ("" if done else " [INCOMPLETE]")
    )
    return {
        "first_event": first_event,
        "events_per_s": len(ids) / sent_s,
        "sent_s": sent_s,
        "terminated_s": terminated_s,
        "last_terminated": last,
        "cpu_ms_each": cpu_ms_each,
        "codes": dict(codes),
        "complete": done,
    }


async def wake_at_deadline(
    server: BenchServer, counts: ParkedCounts, workflow_id: str, count: int, deadline: datetime, sizes: Sizes
) -> dict[str, Any]:
    """Wait for the shared deadline; when did the first and the last delay terminate after it?"""
    say(f"== 5. the shared deadline: {count:,} delays due at {rfc3339(deadline)}")
    ahead_s = (deadline - datetime.now(UTC)).total_seconds()
    if ahead_s < 0:
        say(f"  !! the deadline came {-ahead_s:.1f} s before step 4 ended: the wake-up overlapped it")
    else:
        say(f"deadline: {ahead_s:.0f} s ahead, waiting")
    await asyncio.sleep(max(0.0, ahead_s - 1.0))  # the RSS sampled from a second before
    cpu_before = server.stats().cpu_s
    async with rss_sampled(server) as rss:
        done = await wait_until(
            lambda: counts.terminated_per_workflow()[workflow_id] >= count,
            every=0.2, timeout=sizes.timeout_s, what="the delay half",
        )  # fmt: skip
    cpu_ms_each = (server.stats().cpu_s - cpu_before) * 1000 / count
    first, last = counts.termination_span()[workflow_id]
    first_s, last_s = seconds_between(deadline, first), seconds_between(deadline, last)
    say(
        f"wake-up: the first delay terminated {first_s:.2f} s after the deadline, the last {last_s:.2f} s "
        f"after ({count / max(last_s, 1e-3):.0f} instances/s); server CPU {cpu_ms_each:.2f} ms per instance "
        f"({load()})" + ("" if done else " [INCOMPLETE]")
    )
    say(
        f"wake-up: peak RSS {max(rss):.0f} MB (target <= {TARGET_RSS_MB}), VmHWM since the restart "
        f"{server.stats().hwm_mb:.0f} MB"
    )
    return {
        "first_after_deadline_s": first_s,
        "last_after_deadline_s": last_s,
        "last_terminated": last,
        "peak_rss_mb": max(rss),
        "cpu_ms_each": cpu_ms_each,
        "complete": done,
    }


# ---------------------------------------------------------------- 6. outcomes


def report_outcomes(counts: ParkedCounts, halves: dict[str, str]) -> dict[str, dict[str, int]]:
    """Per half: ok, failed and unfinished instances (and the errors)."""
    say("== 6. outcomes")
    per_workflow = counts.outcomes_per_workflow(STAGES)
    result: dict[str, dict[str, int]] = {}
    for name, workflow_id in halves.items():
        outcomes = per_workflow.get(workflow_id, Counter())
        failed = {outcome: n for outcome, n in outcomes.items() if outcome.startswith("failed")}
        say(
            f"outcomes, {name} half: ok {outcomes['ok']:,}, failed {sum(failed.values()):,}, "
            f"unfinished {outcomes['unfinished']:,}, terminated with a stage not ended well "
            f"{outcomes['stages incomplete']:,} (target: all ok)"
        )
        for error, n in failed.items():
            say(f"    {n}x {error}")
        result[name] = dict(outcomes)
    return result


def report_resume_time(events: dict[str, Any], wake: dict[str, Any], deadline: datetime) -> dict[str, float]:
    """From the restart's first event to the last instance terminated, and how much of it was
    spent waiting for the deadline."""
    ends = [end for end in (events["last_terminated"], wake["last_terminated"]) if end is not None]
    total_s = seconds_between(events["first_event"], max(ends, default=None))
    events_done = events["last_terminated"] or events["first_event"]
    waiting_s = max(0.0, (deadline - events_done).total_seconds())
    say(
        f"resume: all instances terminated {total_s:.1f} s after the restart's first event, "
        f"{waiting_s:.1f} s of it waiting for the deadline after the event half had ended"
    )
    return {"resume_all_s": total_s, "waiting_for_deadline_s": waiting_s}


# ---------------------------------------------------------------- the run


async def create_parked(server: BenchServer, counts: ParkedCounts, sizes: Sizes, margin_s: float) -> dict[str, Any]:
    """Step 1 on the first start of the server: the workflows, the event half, the delay half."""
    total = sizes.waiting
    say(f"== 1. create {total:,} parked instances, {sizes.concurrency} in flight")
    checkpoints = MemoryCheckpoints(server, counts, total)
    async with new_client(server.url, sizes.concurrency) as client:
        halves = {
            "event": await create_workflow(client, EVENT_WORKFLOW),
            "delay": await create_workflow(client, DELAY_WORKFLOW),
        }
        say(f"server started: RSS {server.stats().rss_mb:.0f} MB")
        event_ids, event_half = await create_half(
            client, server, checkpoints, name="event waits", workflow_id=halves["event"],
            count=total // 2, concurrency=sizes.concurrency,
        )  # fmt: skip
        deadline = shared_deadline(event_half["wall_s"], margin_s)
        say(
            f"deadline of every delay: {rfc3339(deadline)}, "
            f"{(deadline - datetime.now(UTC)).total_seconds():.0f} s ahead (after their creation and steps 2-4)"
        )
        _, delay_half = await create_half(
            client, server, checkpoints, name="delays", workflow_id=halves["delay"],
            count=total - total // 2, concurrency=sizes.concurrency, variables={"deadline": rfc3339(deadline)},
        )  # fmt: skip
    return {
        "halves": halves,
        "event_ids": event_ids,
        "deadline": deadline,
        "create": {"event": event_half, "delay": delay_half},
        "rss_at": checkpoints.readings,
        "rss_growth_kb_each": checkpoints.growth_kb_each(),
    }


async def measure_parked(
    server: BenchServer,
    counts: ParkedCounts,
    sizes: Sizes,
    *,
    slack_s: float,
    postgres_cpu_s: Callable[[], float] | None,
) -> dict[str, Any]:
    total = sizes.waiting
    spawned = time.perf_counter()
    server.start()
    # The restart and the idle window of step 3, estimated: the deadline comes after them.
    margin_s = slack_s + (time.perf_counter() - spawned) + sizes.settle_s + sizes.window_s
    created = await create_parked(server, counts, sizes, margin_s)
    halves, deadline = created.pop("halves"), created.pop("deadline")
    event_ids = created.pop("event_ids")
    summary: dict[str, Any] = {**created, "deadline": rfc3339(deadline), "parked_check": check_parked(counts, total)}
    logs = {"created": summarize_log(server.log_path)}  # a restart starts a new log
    summary["restart"] = await restart_idle(server, total, sizes, postgres_cpu_s)
    async with new_client(server.url, sizes.concurrency) as client:
        events = await resume_events(client, server, counts, event_ids, halves["event"], sizes)
    wake = await wake_at_deadline(server, counts, halves["delay"], total - len(event_ids), deadline, sizes)
    summary["outcomes"] = report_outcomes(counts, halves)
    summary.update(report_resume_time(events, wake, deadline))
    for figures in (events, wake):
        figures.pop("last_terminated")
    events.pop("first_event")
    summary.update(events=events, wake=wake)
    logs["resumed"] = summarize_log(server.log_path)
    summary["logs"] = logs
    return summary


async def main(sizes: Sizes, *, pg_bin: Path | None, keep: bool, slack_s: float) -> dict[str, Any]:
    work_dir = Path(tempfile.mkdtemp(prefix="orchestration-parked-"))
    say(f"work dir: {work_dir} ({os.cpu_count()} CPUs, {load()})")
    say(LOAD_CLIENT_LINE)
    cluster = BenchCluster(pg_bin) if pg_bin is not None else None
    server: BenchServer | None = None
    counts: ParkedCounts | None = None
    try:
        data_dir = work_dir / "data"
        if cluster is not None:
            cluster.start()
            say(f"PostgreSQL {cluster.version()}, durability off (the tests' cluster)")
            uri = cluster.create_database("parked")
            server = BenchServer(data_dir=data_dir, postgres_uri=uri)
            counts = PostgresParkedCounts(uri)
        else:
            say("embedded SQLite")
            server = BenchServer(data_dir=data_dir)
            counts = DataDirParkedCounts(data_dir)
        summary: dict[str, Any] = {"backend": "postgresql" if cluster else "sqlite", "parked": sizes.waiting}
        summary.update(
            await measure_parked(
                server, counts, sizes, slack_s=slack_s, postgres_cpu_s=cluster.cpu_s if cluster else None
            )
        )
        say(f"== server logs (stdout and stderr; {load()})")
        for name, log in summary["logs"].items():
            print_log_summary(name, log)
        if cluster is not None:
            summary["postgres_log"] = cluster.log_summary()
            print_log_summary("postgresql", summary["postgres_log"])
            if keep:
                cluster.keep_log(work_dir / "postgresql.log")
    finally:
        if server is not None:
            server.stop()
        if counts is not None:
            counts.close()
        if cluster is not None:
            cluster.stop()
        leave_work_dir(work_dir, keep=keep)
    return summary


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.parked", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parked", type=int, help="N instances parked, half of each kind (100000; 400 with --quick)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--postgres", action="store_true", help="on a throwaway PostgreSQL cluster, not SQLite")
    parser.add_argument("--quick", action="store_true", help="small sizes and short windows: a smoke run")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (data, server logs, PostgreSQL's)")
    args = parser.parse_args()
    if args.parked is not None and args.parked < 2:
        parser.error("--parked must be at least 2 (a half of each kind)")
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    bin_dir = None
    if arguments.postgres:
        bin_dir = find_pg_bin()
        if bin_dir is None:
            raise SystemExit(
                "bench.parked --postgres needs the PostgreSQL server binaries (initdb, pg_ctl, postgres): "
                ".ci/install-system-deps, or PG_BIN=<their directory>"
            )
    if arguments.quick:
        sizes = Sizes.quick(concurrency=arguments.concurrency, waiting=arguments.parked or 400)
    else:
        sizes = Sizes.full(concurrency=arguments.concurrency, waiting=arguments.parked or 100_000)
    slack = QUICK_SLACK_S if arguments.quick else SLACK_S
    run_to_summary(main(sizes, pg_bin=bin_dir, keep=arguments.keep, slack_s=slack))
