"""The server under test: the tests' `ServerProcess`, made to die with the bench and
to report its CPU and memory."""

from __future__ import annotations

import signal
from typing import Any

from tests.testing.server import ServerProcess

from ._harness import ProcStats, die_with_parent, say


class BenchServer(ServerProcess):
    """`orchestration serve` on embedded SQLite in `data_dir`, its log (stdout and stderr) in
    `data_dir/server-<port>-<start>.log`; a restart keeps the port and starts a new log.

    ServerProcess also passes test-oriented poll flags (`--signal-poll-interval 0.05`,
    `--heartbeat-interval 0.2`, `--takeover-after 1`): they pace the polling and heartbeats of
    workers sharing a PostgreSQL database, and an embedded server does neither, so they do
    not change the figures.
    """

    def __init__(self, **kwargs: Any) -> None:
        # Call start() from the main thread: the death signal is tied to the thread that forks.
        super().__init__(preexec_fn=die_with_parent, **kwargs)
        # A line per request would be measured along with the engine: off, as a deployment
        # that collects metrics instead would have it.
        self.extra_args = ["--access-log=false", *self.extra_args]

    @property
    def pid(self) -> int:
        assert self.proc is not None, "server not started"
        return self.proc.pid

    def stats(self) -> ProcStats:
        return ProcStats.read(self.pid)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit within `timeout` (and a line saying so)."""
        running = self.proc is not None and self.proc.poll() is None
        code = super().stop(timeout)
        if running and code == -signal.SIGKILL:
            say(f"  !! server {self.pid} ignored SIGTERM for {timeout:.0f} s: killed")
        return code
