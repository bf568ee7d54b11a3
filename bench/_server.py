"""The server under test: the tests' `ServerProcess`, made to die with the bench and
to report its CPU and memory."""

from __future__ import annotations

import signal
import subprocess
from typing import Any
from unittest import mock

from tests.testing.server import ServerProcess

from ._harness import ProcStats, die_with_parent, say


class _PopenDyingWithUs(subprocess.Popen[bytes]):
    """`subprocess.Popen` whose child gets SIGKILLed when the bench dies (see `die_with_parent`)."""

    def __init__(self, args: list[str], **kwargs: Any) -> None:
        super().__init__(args, preexec_fn=die_with_parent, **kwargs)


class BenchServer(ServerProcess):
    """`orchestration serve` on embedded SQLite in `data_dir`, its log (stdout and stderr) in
    `data_dir/server-<port>-<start>.log`; a restart keeps the port and starts a new log.

    ServerProcess also passes test-oriented poll flags (`--signal-poll-interval 0.05`,
    `--heartbeat-interval 0.2`, `--takeover-after 1`): they pace the polling and heartbeats of
    workers sharing a PostgreSQL database, and an embedded server does neither, so they do
    not change the figures.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # A line per request would be measured along with the engine: off, as a deployment
        # that collects metrics instead would have it.
        self.extra_args = ["--access-log=false", *self.extra_args]

    def start(self, timeout: float = 60.0) -> BenchServer:
        """Start and wait until /_healthcheck answers (polled every 50 ms), blocking the caller:
        call it from the main thread (the death signal is tied to the thread that forks)."""
        # ServerProcess has no hook for a preexec_fn: its Popen call is given ours while it starts.
        with mock.patch.object(subprocess, "Popen", _PopenDyingWithUs):
            super().start(timeout)
        return self

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
