"""An idle kept-alive connection stays open for `--http-keep-alive` (75 s by default), longer than
clients and load balancers keep theirs: closing first, the server would race their next request
on it, which then fails unanswered (seen as `ReadError`s under bursts with uvicorn's 5 s)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testing.server import ServerProcess

REQUEST = b"GET /_healthcheck HTTP/1.1\r\nhost: test\r\n\r\n"


def _ask(conn: socket.socket) -> bytes:
    """Send a request on the connection and read its whole answer; its head."""
    conn.sendall(REQUEST)
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += _received(conn)
    head, _, body = answer.partition(b"\r\n\r\n")
    [length] = [int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")]
    while len(body) < length:
        body += _received(conn)
    return head


def _received(conn: socket.socket) -> bytes:
    chunk = conn.recv(65536)
    assert chunk, "the server closed the connection"
    return chunk


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(data_dir=tmp_path / "data", extra_args=list(request.param)).start()
    yield server
    server.stop()


@pytest.mark.parametrize("server", [["--http-keep-alive", "1s"]], indirect=True)
def test_an_idle_connection_is_closed_after_the_keep_alive(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as conn:
        assert _ask(conn).startswith(b"HTTP/1.1 200")
        answered = time.monotonic()
        assert conn.recv(1) == b""  # the server's close (the timeout above bounds the wait)
        assert time.monotonic() - answered >= 0.9


@pytest.mark.parametrize("server", [[]], indirect=True)
def test_by_default_a_connection_idle_longer_than_clients_wait_is_still_answered(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as conn:
        assert _ask(conn).startswith(b"HTTP/1.1 200")
        time.sleep(6)  # longer than httpx's and uvicorn's own 5 s
        assert _ask(conn).startswith(b"HTTP/1.1 200")
