"""Running instances over HTTP, and seeing them terminate.

How termination is seen: a single poller task lists
`GET /v2/instances?running=true&pageSize=100` every ~20 ms. At most `concurrency`
instances are in flight (a run request holds its slot until its instance is seen
terminated), so one page holds every running instance; an instance whose run request
had answered before a poll was sent, and that this poll does not list, has terminated.
One request per poll whatever the concurrency, instead of one per instance in flight.
Latency is therefore quantised by the poll interval plus a poll's round trip.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from ._client import BenchClient
from ._harness import bounded
from ._sizes import Sizes

RUNNING_PAGE = {"running": "true", "pageSize": "100"}  # hence a concurrency of at most 99


def new_client(base_url: str, concurrency: int) -> BenchClient:
    """The client that sends a benchmark's load (see bench._client), for `concurrency` requests in flight."""
    # A connection per request in flight, plus a few for the poller and the probes.
    return BenchClient(base_url, connections=concurrency + 4)


async def create_workflow(client: BenchClient, config: dict[str, Any]) -> str:
    res = await client.post("/v2/workflows", json=config)
    res.raise_for_status()
    workflow_id: str = res.json()["data"]["id"]
    return workflow_id


async def run_instance(client: BenchClient, workflow_id: str, variables: dict[str, str] | None = None) -> str:
    res = await client.post(f"/v2/workflows/{workflow_id}/instances", json=variables or {})
    if res.status_code != 201:
        raise RuntimeError(f"run answered {res.status_code}: {res.text[:200]}")
    instance_id: str = res.json()["data"]["id"]
    return instance_id


class TerminationWatcher:
    """One poller for every instance in flight (see the module docstring).

    `track(id)` right after the run request answered; the returned future gets
    the perf_counter time at which the instance was seen terminated.
    """

    def __init__(self, client: BenchClient, interval: float) -> None:
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
            res = await self._client.get("/v2/instances", params=RUNNING_PAGE)
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


async def run_tracked(client: BenchClient, workflow_id: str, count: int, sizes: Sizes) -> TrackedRun:
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
