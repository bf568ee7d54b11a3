"""`ServerProcess`: a real server in a subprocess, started once it answers; a port taken
between its choice and the server's bind moves the server to another port."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.testing.server import PortTaken, ServerProcess


def _exited(server: ServerProcess, log: str) -> None:
    """As if the server had started and exited at once, writing `log`."""
    server.data_dir.mkdir(parents=True, exist_ok=True)
    server.log_path.write_text(log)
    server.proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(2)"])
    server.proc.wait()


def test_a_server_that_could_not_listen_on_its_port_says_the_port_was_taken(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "data")
    # The line `orchestration serve` prints when its port is busy (tests/integration/test_cli.py).
    _exited(server, f"cannot listen on 127.0.0.1:{server.port}: Address already in use\n")
    with pytest.raises(PortTaken):
        server._wait_ready(timeout=5)


def test_a_server_that_failed_otherwise_is_not_moved(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "data")
    _exited(server, "the database is behind: run orchestration migrate\n")
    with pytest.raises(RuntimeError, match="exited with 2") as failed:
        server._wait_ready(timeout=5)
    assert not isinstance(failed.value, PortTaken)


def test_start_moves_to_another_free_port_when_its_port_was_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ServerProcess(data_dir=tmp_path / "data")
    tried: list[int] = []

    def start(timeout: float) -> ServerProcess:
        tried.append(server.port)
        if len(tried) == 1:
            raise PortTaken("cannot listen")
        return server

    monkeypatch.setattr(server, "_start", start)
    assert server.start() is server
    assert len(tried) == 2 and tried[0] != tried[1] == server.port
