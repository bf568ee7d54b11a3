"""Tests of the throwaway nats-server helper (tests/testing/nats.py)."""

from __future__ import annotations

import socket

import nats
import pytest
from nats.js.api import StreamConfig

from tests.testing.nats import NatsServer, require_nats_server


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


async def test_kill_and_restart_keep_the_port_and_the_jetstream_store() -> None:
    server = NatsServer(require_nats_server()).start()
    try:
        port, store = server.port, server.store_dir
        assert port is not None and server.url == f"nats://127.0.0.1:{port}"
        client = await nats.connect(server.url)
        await client.jetstream().add_stream(StreamConfig(name="kept", subjects=["kept"]))
        await client.jetstream().publish("kept", b"survives")
        await client.close()

        server.kill()
        assert not server.running and not _accepts_connections(port)
        server.restart()

        assert server.port == port and server.store_dir == store and server.running
        client = await nats.connect(server.url)
        message = await client.jetstream().get_msg("kept", 1)
        await client.close()
        assert message.data == b"survives"
    finally:
        server.stop()

    assert not _accepts_connections(port)
    assert not store.exists()
    server.stop()  # idempotent


def test_the_context_manager_stops_the_server_after_a_failure() -> None:
    require_nats_server()
    port: int | None = None
    with pytest.raises(ZeroDivisionError), NatsServer() as server:
        port, store = server.port, server.store_dir
        assert port is not None and _accepts_connections(port)
        raise ZeroDivisionError("a failing test body")
    assert port is not None
    assert not _accepts_connections(port)
    assert not store.exists()


def test_a_missing_binary_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_SERVER", "/nonexistent/nats-server")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="nats-server not found"):
        require_nats_server()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set: nats-server not found"):
        require_nats_server()
