"""The shared NATS connection: made in the background, remade after a loss, quiet while it fails."""

from __future__ import annotations

import asyncio
import logging

import pytest

from orchestration.bus import BusConnection, NatsPublisher, PublishFailed
from tests.testing.nats import NatsServer
from tests.testing.waiting import assert_eventually

from .conftest import Bus, bus_settings

LOGGER = "orchestration.bus._connection"


def records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == level]


async def test_start_returns_at_once_while_nats_is_down_and_connects_once_it_is_up(
    nats_server: NatsServer, bus: Bus
) -> None:
    nats_server.kill()
    connection = await asyncio.wait_for(bus.connection(), 30)  # the bound only keeps a hang from the suite
    assert not connection.connected

    nats_server.restart()
    await assert_eventually(lambda: connection.connected, what="the connection to come up")


async def test_a_run_of_failures_logs_one_warning_and_the_recovery_one_line(
    nats_server: NatsServer, bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="orchestration.bus")
    connection = await bus.connection()
    await assert_eventually(lambda: connection.connected, what="the first connection")
    nats_server.kill()
    await assert_eventually(lambda: len(records(caplog, logging.DEBUG)) >= 5, what="several failed reconnections")

    assert records(caplog, logging.WARNING) == [f"lost the connection to NATS at {nats_server.url}; reconnecting"]
    assert "Traceback" not in caplog.text

    nats_server.restart()
    # nats-py says it is connected before it calls back: the recovery's line ends the run.
    connected = f"connected to NATS at {nats_server.url}"
    await assert_eventually(lambda: records(caplog, logging.INFO).count(connected) == 2, what="the recovery's line")
    assert connection.connected

    nats_server.kill()  # a new run of failures: a new warning
    await assert_eventually(lambda: len(records(caplog, logging.WARNING)) == 2, what="the second run's warning")


async def test_the_log_never_shows_the_credentials_of_the_url(
    nats_server: NatsServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="orchestration.bus")
    nats_server.kill()
    url = nats_server.url.replace("nats://", "nats://alice:s3cr3t@")
    connection = BusConnection(bus_settings(nats_server, nats_url=f"nats://127.0.0.1:1, {url}"))
    await connection.start()
    try:
        await assert_eventually(lambda: len(records(caplog, logging.DEBUG)) >= 2, what="failed attempts")
    finally:
        await connection.close()

    assert f"nats://127.0.0.1:1, {nats_server.url}" in caplog.text
    assert "s3cr3t" not in caplog.text and "alice" not in caplog.text


async def test_after_its_attempts_it_gives_up_and_says_so(
    nats_server: NatsServer, bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    nats_server.kill()
    connection = await bus.connection(nats_max_reconnect=2)

    await assert_eventually(lambda: records(caplog, logging.ERROR), what="the connection to give up")
    assert records(caplog, logging.ERROR) == [
        f"gave up connecting to NATS at {nats_server.url} after 3 attempts (nats: no servers available for "
        "connection); the bus stays down"
    ]
    nats_server.restart()
    publisher = NatsPublisher(connection, bus_settings(nats_server))
    with pytest.raises(PublishFailed):
        await publisher.publish("orchestration", b"{}", message_id="m1")
    assert not connection.connected


async def test_close_stops_the_attempts(nats_server: NatsServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="orchestration.bus")
    nats_server.kill()
    connection = BusConnection(bus_settings(nats_server))
    await connection.start()
    await assert_eventually(lambda: len(records(caplog, logging.DEBUG)) >= 2, what="failed attempts")

    await asyncio.wait_for(connection.close(), 30)
    nats_server.restart()
    await connection.start()  # a closed connection stays closed

    assert not connection.connected
