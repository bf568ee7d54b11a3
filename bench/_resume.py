"""Measure 4: SIGKILL the server with W waiting instances, restart it on the same data dir;
the time until the API answers, until a sample sent its event right away has terminated,
then until every instance has. The instances' outcomes are printed: an instance that the
restart failed has also "terminated"."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from typing import Any

from ._client import BenchClient, TransportError
from ._datadir import DataDirReader
from ._harness import bounded, say, wait_until
from ._runs import new_client
from ._server import BenchServer
from ._sizes import Sizes

# Printed next to the figures, not asserted.
TARGET_RESUME_S = 30.0
TARGET_HEALTHY_S = 5.0
TARGET_EVENTS_PER_S = 500
TARGET_ALL_WOKEN_S = 60.0  # for 10,000 woken instances


async def send_events(client: BenchClient, instance_ids: list[str], concurrency: int) -> Counter[str]:
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
            except TransportError as exc:
                status = exc.kind
            else:
                status = str(res.status_code)
                if res.status_code < 500:
                    break
        return [*outcomes, status]

    return Counter(code for codes in await bounded(instance_ids, concurrency, send) for code in codes)


def delivered(codes: Counter[str]) -> int:
    """Events that reached their instance (204), or found it already terminated (400)."""
    return codes["204"] + codes["400"]


async def measure_resume(server: BenchServer, reader: DataDirReader, ids: list[str], sizes: Sizes) -> dict[str, Any]:
    """Kill, restart; time to health, then a sample's events, then everyone's."""
    say(f"== 4. resume after SIGKILL with {sizes.waiting} waiting instances")
    server.kill()
    sample = random.Random(7).sample(ids, min(sizes.sample, len(ids)))
    spawned = time.perf_counter()
    server.start(sizes.timeout_s)
    healthy = time.perf_counter()
    say(
        f"resume: /_healthcheck answers {healthy - spawned:.2f} s after the process started "
        f"(target <= {TARGET_HEALTHY_S:.0f} s)"
    )
    result: dict[str, Any] = {"healthy_s": healthy - spawned, "sample": len(sample)}
    async with new_client(server.url, sizes.concurrency) as client:
        result.update(await _resume_sample(client, reader, sample, sizes, healthy=healthy, spawned=spawned))
        codes: Counter[str] = result.pop("codes")
        rest = sorted(set(ids) - set(sample))
        result.update(await _resume_rest(client, reader, rest, len(ids), sizes, spawned=spawned))
        codes += result.pop("codes")
    result["event_codes"] = dict(codes)
    return result


async def _resume_sample(
    client: BenchClient, reader: DataDirReader, sample: list[str], sizes: Sizes, *, healthy: float, spawned: float
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
    client: BenchClient, reader: DataDirReader, rest: list[str], total: int, sizes: Sizes, *, spawned: float
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
        f"events/s, target >= {TARGET_EVENTS_PER_S}; codes {dict(codes)}); all {total} terminated "
        f"{ended - started:.2f} s after the first of these events (target for 10,000: "
        f"<= {TARGET_ALL_WOKEN_S:.0f} s), {ended - spawned:.2f} s after the process started"
        + ("" if done else " [INCOMPLETE]")
    )
    say(f"resume: outcomes of all {total}: {dict(outcomes)}")
    return {
        "events_per_s": len(rest) / (sent - started),
        "all_terminated_after_events_s": ended - started,
        "all_terminated_s": ended - spawned,
        "all_complete": done,
        "outcomes": dict(outcomes),
        "codes": codes,
    }
