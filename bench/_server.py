"""The server under test: the tests' `ServerProcess`, made to die with the bench and
to report its CPU and memory."""

from __future__ import annotations

import signal
from typing import Any

from orchestration.config import EngineSettings
from orchestration.durations import format_go_duration
from tests.testing.server import ServerProcess

from ._harness import ProcStats, die_with_parent, say

_ENGINE = EngineSettings()
_DEFAULT_PACE = [
    "--signal-poll-interval", format_go_duration(_ENGINE.signal_poll_interval),
    "--heartbeat-interval", format_go_duration(_ENGINE.heartbeat_interval),
    "--takeover-after", format_go_duration(_ENGINE.takeover_after),
]  # fmt: skip


class BenchServer(ServerProcess):
    """`orchestration serve` on embedded SQLite in `data_dir` (or on `postgres_uri`; or
    `command="worker"`, which has no HTTP port), its log (stdout and stderr) in
    `data_dir/server-<port>-<start>.log`; a restart keeps the port and starts a new log.

    ServerProcess passes test-oriented poll flags (`--signal-poll-interval 0.05` and others);
    the bench gives them their defaults again (the last value of a flag wins): the engine's own
    listener polls at `--signal-poll-interval` even embedded, and an idle server's CPU is
    measured as it runs by default.
    """

    def __init__(self, **kwargs: Any) -> None:
        # Call start() from the main thread: the death signal is tied to the thread that forks.
        super().__init__(preexec_fn=die_with_parent, **kwargs)
        # A line per request would be measured along with the engine: off, as a deployment
        # that collects metrics instead would have it.
        access_log = ["--access-log=false"] if self.command == "serve" else []  # a worker has no HTTP
        self.extra_args = [*access_log, *_DEFAULT_PACE, *self.extra_args]

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
