"""The two measures of `bench.triggers`: dispatch that starts nothing, and dispatch that
starts one instance per event. Both use one server on a fresh data directory, consuming
one subject of the bench's NATS server: measure 2 runs on the server measure 1 restarted
(a server start and stop less), its triggers on other event types than measure 1's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nats.js import JetStreamContext

from ._bus import backlog, connect, publish_all, publish_paced, server_bus_args, wait_drained, wait_for_durable
from ._harness import fmt_latency, percentiles, say, wait_until
from ._logs import summarize_log
from ._profile import Profiler, print_profile
from ._runs import new_client
from ._server import BenchServer
from ._sizes import Sizes
from ._trigger_sets import REGISTER_IN_FLIGHT, DispatchReader, TriggerSet, no_start_set, one_match_set, register

SUBJECT = "bench-events"
DELAY_POINTS = (50, 99)
CONCURRENCY = 32  # of bench.core's run requests: the consumer's own limit of messages in flight


def _delays(values_ms: list[float]) -> dict[str, float]:
    return percentiles(values_ms, DELAY_POINTS)


@dataclass(frozen=True)
class DispatchSizes:
    """How big each measure of `bench.triggers` is."""

    events: int  # N, measure 1
    matching: int  # M, measure 2: events, and instances started
    sample: int  # measure 2: events published one at a time after the burst, for unhurried delays
    sample_every_s: float
    warmup: int  # measure 2: events (and instances) before the burst, not counted
    publish_in_flight: int  # JetStream publishes awaiting their ack
    timeout_s: float  # any single wait
    core: Sizes = field(repr=False)  # bench.core's measures 1-2, at M instances, for comparison

    @classmethod
    def full(cls, *, events: int | None = None, matching: int | None = None) -> DispatchSizes:
        matching = matching or 500
        return cls(
            events=events or 5000, matching=matching, sample=50, sample_every_s=0.05, warmup=20,
            publish_in_flight=256, timeout_s=600.0, core=Sizes.full(concurrency=CONCURRENCY, instances=matching),
        )  # fmt: skip

    @classmethod
    def quick(cls, *, events: int | None = None, matching: int | None = None) -> DispatchSizes:
        """Every step at small sizes: a smoke run, whose figures mean little."""
        matching = matching or 40
        return cls(
            events=events or 300, matching=matching, sample=5, sample_every_s=0.05, warmup=5,
            publish_in_flight=64, timeout_s=60.0, core=Sizes.quick(concurrency=CONCURRENCY, instances=matching),
        )  # fmt: skip


async def measure_dispatch(
    work_dir: Path, nats_url: str, sizes: DispatchSizes, *, profile: bool
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Measures 1 and 2 on one server; and what the server logged during both."""
    data_dir = work_dir / "dispatch-data"
    server = BenchServer(data_dir=data_dir, extra_args=server_bus_args(nats_url, SUBJECT))
    reader = DispatchReader(data_dir)
    nc, js = await connect(nats_url)
    try:
        server.start()
        await wait_for_durable(js, SUBJECT, timeout=sizes.timeout_s)
        no_start = await measure_no_start(server, reader, js, sizes, profile_to=work_dir if profile else None)
        one_start = await measure_with_instances(server, reader, js, sizes)
    finally:
        server.stop()
        await nc.close()
    return no_start, one_start, summarize_log(server.log_path)


async def _register(server: BenchServer, trigger_set: TriggerSet) -> None:
    async with new_client(server.url, REGISTER_IN_FLIGHT) as client:
        await register(client, trigger_set)


# ---------------------------------------------------------------- measure 1


async def measure_no_start(
    server: BenchServer, reader: DispatchReader, js: JetStreamContext, sizes: DispatchSizes, *, profile_to: Path | None
) -> dict[str, Any]:
    """Events/s of a consumer whose every event evaluates 100 filters and matches none.

    The server is running and its durable exists: the triggers are registered, the server is
    stopped, the events are published (the durable keeps them: publishing is not measured), and
    the server is started again, and left running. The window opens once it answers its health
    check (its consumer may have begun just before: what it took by then is left out) and
    closes on the poll that finds nothing pending or unacknowledged.
    """
    trigger_set = no_start_set()
    n = sizes.events
    say(
        f"== triggers 1. dispatch, no start: {n} {trigger_set.published_type} events, each evaluated against "
        f"{trigger_set.evaluated_per_event} filters that match none ({len(trigger_set.triggers)} triggers)"
    )
    await _register(server, trigger_set)
    server.stop()
    events = [trigger_set.event(seq, run="no-start") for seq in range(n)]
    started = time.perf_counter()
    await publish_all(js, SUBJECT, events, in_flight=sizes.publish_in_flight)
    publish_s = time.perf_counter() - started
    say(f"published {n} events in {publish_s:.2f} s ({n / publish_s:.0f}/s), the server stopped")
    server.start()  # blocks this loop until the API answers
    profiler = Profiler(server.pid, profile_to / "no-start.collapsed") if profile_to else None
    opened, cpu_before = time.perf_counter(), server.stats().cpu_s
    in_window = await backlog(js, SUBJECT)
    try:
        closed = await wait_drained(js, SUBJECT, every=0.02, timeout=sizes.timeout_s)
    finally:
        cpu_s = server.stats().cpu_s - cpu_before
        if profiler:
            profiler.stop()
    occurrences, _ = reader.occurrences()
    window_s = (closed or float("nan")) - opened
    per_s = in_window / window_s if in_window else float("nan")
    say(
        f"consumed {in_window} events in {window_s:.2f} s: {per_s:.0f} events/s "
        f"({n - in_window} taken before the API answered, left out)"
    )
    say(
        f"server CPU: {cpu_s:.1f} s ({cpu_s / window_s * 100:.0f}% of one core), "
        f"{cpu_s * 1000 / max(in_window, 1):.2f} ms per event; occurrences recorded: {occurrences} (expected 0)"
    )
    if in_window < n // 2:
        say("  !! most events went before the window opened: the figure is rough (publish more with --events)")
    if profiler:
        print_profile(profiler.output)
    return {
        "events": n,
        "triggers": len(trigger_set.triggers),
        "evaluated_per_event": trigger_set.evaluated_per_event,
        "publish_per_s": n / publish_s,
        "measured_events": in_window,
        "wall_s": window_s,
        "per_s": per_s,
        "server_cpu_s": cpu_s,
        "cpu_ms_each": cpu_s * 1000 / max(in_window, 1),
        "occurrences": occurrences,
        "drained": closed is not None,
    }


# ---------------------------------------------------------------- measure 2


@dataclass(frozen=True)
class Phase:
    """Events published together, each to one instance, and what the server recorded of them."""

    wall_s: float  # first publish to last terminatedAt
    ended_at: float  # the last terminatedAt (time.time())
    start_delays_ms: list[float]  # publish to the instance's createdAt
    end_delays_ms: list[float]  # publish to its terminatedAt


async def _run_phase(
    js: JetStreamContext, reader: DispatchReader, events: dict[int, bytes], *, every: float | None,
    expected_total: int, sizes: DispatchSizes,
) -> Phase:  # fmt: skip
    """Publish `events` (by seq) all at once, or one each `every` seconds, and wait until the
    data dir holds `expected_total` terminated instances."""
    seqs = list(events)
    messages = [events[seq] for seq in seqs]
    if every is None:
        sent = await publish_all(js, SUBJECT, messages, in_flight=sizes.publish_in_flight)
    else:
        sent = await publish_paced(js, SUBJECT, messages, every=every)
    done = await wait_until(
        lambda: reader.terminated() >= expected_total, every=0.05, timeout=sizes.timeout_s, what="instances"
    )
    times = reader.instance_times()
    start_delays, end_delays, ends = [], [], []
    for seq, sent_at in zip(seqs, sent, strict=True):
        created, terminated = times.get(seq, (None, None))
        if created is not None:
            start_delays.append((created - sent_at) * 1000)
        if terminated is not None:
            end_delays.append((terminated - sent_at) * 1000)
            ends.append(terminated)
    ended_at = max(ends) if done and ends else float("nan")
    return Phase(ended_at - min(sent), ended_at, start_delays, end_delays)


async def measure_with_instances(
    server: BenchServer, reader: DispatchReader, js: JetStreamContext, sizes: DispatchSizes
) -> dict[str, Any]:
    """Events/s (= instances/s) when each event starts one instance of 3 noop stages, from
    the first publish to the last terminatedAt, and the delays from publish to each instance's
    createdAt and terminatedAt: in the burst (queueing behind it included), then for events
    published one at a time, once the server has published the burst's own events (its
    outbox, whose lag is printed too). On the running server of measure 1."""
    trigger_set = one_match_set()
    m = sizes.matching
    say(
        f"== triggers 2. dispatch, one start each: {m} {trigger_set.published_type} events, each evaluated against "
        f"{trigger_set.evaluated_per_event} filters of which one matches ({len(trigger_set.triggers)} triggers); "
        f"workflow of 3 noop stages"
    )
    seqs = iter(range(sizes.warmup + m + sizes.sample))

    def next_events(count: int) -> dict[int, bytes]:
        return {seq: trigger_set.event(seq, run="one-start") for seq in (next(seqs) for _ in range(count))}

    await _register(server, trigger_set)
    total = sizes.warmup  # measure 1 started no instance
    if sizes.warmup:  # connection pools, SQLite caches, compiled filters: not part of the figures
        await _run_phase(js, reader, next_events(sizes.warmup), every=None, expected_total=total, sizes=sizes)
    cpu_before = server.stats().cpu_s
    total += m
    burst = await _run_phase(js, reader, next_events(m), every=None, expected_total=total, sizes=sizes)
    cpu_s = server.stats().cpu_s - cpu_before
    # The server publishes its own events (9 per instance) behind the changes: let it catch
    # up before the sample, whose delays would otherwise include that work.
    await wait_until(lambda: reader.outbox()[1] == 0, every=0.1, timeout=sizes.timeout_s, what="the outbox")
    relay_lags, _, last_published = reader.outbox()
    total += sizes.sample
    paced = await _run_phase(
        js, reader, next_events(sizes.sample), every=sizes.sample_every_s, expected_total=total, sizes=sizes
    )
    left = await backlog(js, SUBJECT)
    occurrences, failed = reader.occurrences()
    outcomes = reader.outcomes()
    per_s = m / burst.wall_s
    burst_start, burst_end = _delays(burst.start_delays_ms), _delays(burst.end_delays_ms)
    paced_start, paced_end = _delays(paced.start_delays_ms), _delays(paced.end_delays_ms)
    say(
        f"burst: {per_s:.1f} events/s = instances/s ({m} from the first publish to the last terminatedAt, "
        f"{burst.wall_s:.2f} s)"
    )
    say(
        f"burst delay publish-to-createdAt: {fmt_latency(burst_start)}; to terminatedAt: {fmt_latency(burst_end)} "
        f"(queueing behind the burst included)"
    )
    relay_ms = _delays([lag * 1000 for lag in relay_lags])
    relay_behind_s = (last_published or float("nan")) - burst.ended_at
    say(
        f"the server's own events (outbox), {len(relay_lags)} of warm-up and burst: recorded-to-published "
        f"{fmt_latency(relay_ms)}; the last published {relay_behind_s:.1f} s after the burst's last instance ended"
    )
    say(
        f"one at a time ({sizes.sample}, one each {sizes.sample_every_s * 1000:.0f} ms): publish-to-createdAt "
        f"{fmt_latency(paced_start)}; to terminatedAt: {fmt_latency(paced_end)}"
    )
    say(
        f"server CPU during the burst: {cpu_s:.1f} s ({cpu_s / burst.wall_s * 100:.0f}% of one core), "
        f"{cpu_s * 1000 / m:.1f} ms per event"
    )
    expected = sizes.warmup + m + sizes.sample
    say(
        f"occurrences: {occurrences} (expected {expected}), {failed} failed; instances: {dict(outcomes)}; "
        f"left in the consumer: {left}"
    )
    return {
        "events": m,
        "triggers": len(trigger_set.triggers),
        "evaluated_per_event": trigger_set.evaluated_per_event,
        "wall_s": burst.wall_s,
        "per_s": per_s,
        "delay_to_created_ms": burst_start,
        "delay_to_terminated_ms": burst_end,
        "paced_delay_to_created_ms": paced_start,
        "paced_delay_to_terminated_ms": paced_end,
        "outbox_events": len(relay_lags),
        "outbox_lag_ms": relay_ms,
        "outbox_behind_s": relay_behind_s,
        "server_cpu_s": cpu_s,
        "cpu_ms_each": cpu_s * 1000 / m,
        "occurrences": occurrences,
        "occurrences_failed": failed,
        "outcomes": dict(outcomes),
    }
