"""`orchestration worker` processes sharing one PostgreSQL database: started together,
ready once each has written its first heartbeat, stopped together; each serves its metrics, which
say how many instances it ended (run in place or through a workflow: only the latter leave a
DBOS row naming the worker)."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import urllib.request
from collections import Counter
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.testing.server import free_port

from ._harness import wait_until
from ._pg_instances import PostgresInstances
from ._server import BenchServer


class Workers:
    """Worker `wK` (K from 1) runs with `--executor-id wK` and a data dir of its own."""

    def __init__(self, work_dir: Path, postgres_uri: str, count: int) -> None:
        self._metrics = [f"127.0.0.1:{free_port()}" for _ in range(count)]
        self.processes = [
            BenchServer(
                data_dir=work_dir / f"worker-w{k}",
                postgres_uri=postgres_uri,
                command="worker",
                extra_args=["--executor-id", f"w{k}", "--metrics-listen", self._metrics[k - 1]],
            )
            for k in range(1, count + 1)
        ]

    @property
    def ids(self) -> list[str]:
        return [f"w{k}" for k in range(1, len(self.processes) + 1)]

    def pids(self) -> list[int]:
        return [worker.pid for worker in self.processes]

    async def start(self, instances: PostgresInstances, timeout_s: float) -> None:
        """Start every worker (from this thread: see die_with_parent) and wait for their heartbeats."""
        for worker in self.processes:
            worker.start()
        ready = await wait_until(
            lambda: set(self.ids) <= instances.heartbeats() or self._exited(),
            every=0.1,
            timeout=timeout_s,
            what="the workers' first heartbeats",
        )
        if not ready or self._exited():
            tails = "\n".join(worker.log_tail(20) for worker in self.processes)
            raise RuntimeError(f"workers not ready:\n{tails}")

    def instances_ended(self) -> Counter[str]:
        """Instances each worker ended so far (succeeded, failed or canceled), from its metrics."""
        return Counter({worker_id: _ended(address) for worker_id, address in zip(self.ids, self._metrics, strict=True)})

    def _exited(self) -> bool:
        return any(worker.proc is not None and worker.proc.poll() is not None for worker in self.processes)

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM to all at once (each stop takes its time), then wait for each."""
        for worker in self.processes:
            if worker.proc is not None and worker.proc.poll() is None:
                worker.proc.send_signal(signal.SIGTERM)
        for worker in self.processes:
            if worker.proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    worker.proc.wait(timeout_s)
            worker.stop()  # closes its log; SIGKILL (and a line) if it ignored the SIGTERM


_ENDED = ("orchestration_instances_succeeded", "orchestration_instances_failed", "orchestration_instances_canceled")


def _ended(address: str) -> int:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return int(sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name in _ENDED
        for sample in family.samples
        if sample.name.endswith("_total")
    ))
