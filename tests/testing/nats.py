"""Throwaway NATS servers with JetStream for tests.

``NatsServer`` runs ``nats-server -js`` on a free port of 127.0.0.1 with its JetStream
store in a temporary directory. ``kill()`` (SIGKILL) and ``restart()`` keep the port and
the store, so that a test can crash the bus under a client and bring it back as it was.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from .server import free_port
from .tools import missing_tool

_READY = "Server is ready"
_PORT_TAKEN = "address already in use"


def find_nats_server() -> Path | None:
    """``$NATS_SERVER`` if set, else ``nats-server`` on ``PATH`` or in ``/usr/sbin``; None when missing."""
    if env := os.environ.get("NATS_SERVER"):
        return Path(env) if os.access(env, os.X_OK) else None
    found = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin:/usr/local/sbin")
    return Path(found) if found else None


def require_nats_server() -> Path:
    """``find_nats_server()`` for tests: skip when missing, but fail when ``$CI`` is set."""
    binary = find_nats_server()
    if binary is None:
        missing_tool("nats-server not found (Debian package nats-server); run .ci/install-system-deps")
    return binary


class NatsServer:
    """A disposable ``nats-server`` with JetStream on 127.0.0.1.

    Use as a context manager or call ``start()``/``stop()``::

        with NatsServer() as nats:
            client = await nats_py.connect(nats.url)
            nats.kill()      # SIGKILL: clients see the connection drop
            nats.restart()   # same port, same JetStream store
    """

    host = "127.0.0.1"

    def __init__(self, binary: Path | None = None, *, start_timeout: float = 15.0) -> None:
        found = binary or find_nats_server()
        if found is None:
            raise RuntimeError("nats-server not found (see find_nats_server)")
        self.binary = Path(found)
        self.start_timeout = start_timeout
        self.port: int | None = None
        self.base_dir: Path | None = None
        self.starts = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``nats://127.0.0.1:<port>`` (the port is kept across restarts)."""
        if self.port is None:
            raise RuntimeError("server not started")
        return f"nats://{self.host}:{self.port}"

    def server_args(self, *topics: str, publish_to: str | None = None) -> list[str]:
        """The `orchestration serve` flags that put a server on this bus: consuming `topics`,
        publishing its own events to `publish_to`, reconnecting every 0.1 s."""
        args = ["--publisher-nats-enabled", "--publisher-nats-url", self.url, "--publisher-nats-reconnect-wait", "0.1"]
        for topic in topics:
            args += ["--topics", topic]
        if publish_to is not None:
            args += ["--publisher-topic-mapping", f"*:{publish_to}"]
        return args

    @property
    def store_dir(self) -> Path:
        """The JetStream store directory, kept across restarts."""
        assert self.base_dir is not None, "server not started"
        return self.base_dir / "store"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _log_path(self) -> Path:
        assert self.base_dir is not None
        return self.base_dir / f"server-{self.starts}.log"

    def log_tail(self, lines: int = 30) -> str:
        """The end of the current start's log."""
        with contextlib.suppress(OSError):
            return "\n".join(self._log_path().read_text(errors="replace").splitlines()[-lines:])
        return "(no server log)"

    def start(self) -> NatsServer:
        """Start on a free port with a fresh store and wait until it accepts clients."""
        if self.base_dir is not None:
            return self
        self.base_dir = Path(tempfile.mkdtemp(prefix="natstest-"))
        atexit.register(self.stop)
        try:
            for attempt in range(3):
                self.port = free_port()
                if self._launch() or attempt == 2:
                    break
        except BaseException:
            self.stop()
            raise
        if not self.running:
            tail = self.log_tail()
            self.stop()
            raise RuntimeError(f"nats-server failed to start:\n{tail}")
        return self

    def _launch(self) -> bool:
        """Run the server on ``self.port``; True once it is ready, False if the port was taken."""
        assert self.base_dir is not None and self.port is not None
        self.starts += 1
        cmd = [str(self.binary), "-js", "-a", self.host, "-p", str(self.port), "-sd", str(self.store_dir),
               "-l", str(self._log_path())]
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            log = ""
            with contextlib.suppress(OSError):
                log = self._log_path().read_text(errors="replace")
            if _READY in log:
                return True
            if self._proc.poll() is not None:
                if _PORT_TAKEN in log:
                    self._proc = None
                    return False
                raise RuntimeError(f"nats-server exited with {self._proc.returncode}:\n{self.log_tail()}")
            time.sleep(0.01)
        self.kill()
        raise RuntimeError(f"nats-server not ready after {self.start_timeout}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the server (no clean shutdown); the store stays for ``restart()``."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        if proc is not None:
            proc.wait(timeout=10)

    def restart(self) -> NatsServer:
        """Start again on the same port with the same store (after ``kill()`` or a running server)."""
        if self.base_dir is None or self.port is None:
            raise RuntimeError("server never started")
        self.kill()
        # The port was ours a moment ago; another process grabbing it meanwhile is
        # the only reason to fail here, so try a few times before giving up.
        for _ in range(50):
            if self._launch():
                return self
            time.sleep(0.1)
        raise RuntimeError(f"port {self.port} stayed taken after the kill:\n{self.log_tail()}")

    def stop(self) -> None:
        """Kill the server and delete its store. Idempotent."""
        if self.base_dir is None:
            return
        atexit.unregister(self.stop)
        self.kill()
        shutil.rmtree(self.base_dir, ignore_errors=True)
        self.base_dir = self.port = None

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


async def stream_exists(js: Any, subject: str) -> bool:
    """Whether a JetStream stream captures `subject` (False while the server comes back from a restart)."""
    import nats.errors
    import nats.js.errors

    try:
        await js.find_stream_name_by_subject(subject)
    except (nats.js.errors.NotFoundError, nats.errors.TimeoutError, nats.errors.NoRespondersError):
        return False
    return True


async def stream_messages(js: Any, subject: str) -> list[Any]:
    """Every message stored for `subject`, oldest first (none while the server comes back from a restart)."""
    import nats.errors
    import nats.js.errors

    try:
        stream = await js.find_stream_name_by_subject(subject)
        info = await js.stream_info(stream)
        if not info.state.messages:
            return []
        return [await js.get_msg(stream, seq) for seq in range(info.state.first_seq, info.state.last_seq + 1)]
    except (nats.js.errors.NotFoundError, nats.errors.TimeoutError, nats.errors.NoRespondersError):
        return []
