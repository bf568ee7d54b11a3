"""A real orchestration server in a subprocess on 127.0.0.1, for integration and crash tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from .waiting import eventually

__all__ = ["PortTaken", "ServerProcess", "eventually", "free_port"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PortTaken(RuntimeError):
    """The server could not listen on the port it was given."""


class ServerProcess:
    """`orchestration serve` (or `worker`) on a free port, with a log file per start.

    `postgres_uri=None` runs the embedded SQLite mode in `data_dir`.
    """

    def __init__(
        self,
        *,
        data_dir: Path,
        postgres_uri: str | None = None,
        command: str = "serve",
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        """`preexec_fn` runs in the child before it executes (a death signal, for example)."""
        self.data_dir = data_dir
        self.postgres_uri = postgres_uri
        self.command = command
        self.extra_args = extra_args or []
        self.env = env or {}
        self.preexec_fn = preexec_fn
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.started_at: dict[Path, float] = {}
        """When the run that writes each log was started (wall clock)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"server-{self.port}-{self.starts}.log"

    def start(self, timeout: float = 60.0) -> ServerProcess:
        """Start the process; a server is started once it answers its health check.

        A port taken meanwhile by another process (free ports are picked before the server
        binds them; parallel test workers pick too) moves the server to another free port.
        """
        for _ in range(3):
            try:
                return self._start(timeout)
            except PortTaken:
                self._close_log()
                self.port = free_port()
        return self._start(timeout)

    def _start(self, timeout: float) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        args = [sys.executable, "-m", "orchestration", self.command, "--data-dir", str(self.data_dir)]
        if self.command == "serve":
            args += ["--listen", f"127.0.0.1:{self.port}"]
        if self.postgres_uri:
            args += ["--postgres-uri", self.postgres_uri]
        args += [
            "--signal-poll-interval",
            "0.05",
            "--heartbeat-interval",
            "0.2",
            "--takeover-after",
            "1",
            *self.extra_args,
        ]
        env = {**os.environ, **self.env}
        self._log = open(self.log_path, "wb")  # closed in stop()
        self.started_at[self.log_path] = time.time()
        self.proc = subprocess.Popen(
            args, stdout=self._log, stderr=subprocess.STDOUT, env=env, preexec_fn=self.preexec_fn
        )
        if self.command == "serve":
            self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                tail = self.log_tail()
                if f"cannot listen on 127.0.0.1:{self.port}" in tail:
                    raise PortTaken(tail)
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{tail}")
            try:
                if httpx.get(f"{self.url}/_healthcheck", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server not ready after {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind happens in the server."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._close_log()

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait; returns the exit code."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close_log()
        return self.proc.returncode if self.proc else None

    def restart(self) -> ServerProcess:
        self.kill()
        return self.start()

    def _close_log(self) -> None:
        log = getattr(self, "_log", None)
        if log is not None and not log.closed:
            log.close()

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)
