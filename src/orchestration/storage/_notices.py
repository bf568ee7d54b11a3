"""Notices between processes that share a PostgreSQL database (LISTEN/NOTIFY).

A transaction that makes a parked wait due, parks one until a near deadline, aborts an
instance, or asks for one to be started says so on one channel; PostgreSQL delivers the notice to every
listening process when, and only if, the transaction commits. A worker that listens needs
no poll to find what the others changed. Notices are hints, not the record: a listener that
lost its connection looks at the tables once it listens again. Embedded (SQLite), one
process does everything and nothing is said.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ._connection import Connection

CHANNEL = "orchestration"
# The listener's name in pg_stat_activity.
LISTENER_NAME = "orchestration-listener"
# A connection whose host stops answering is found dead by TCP keepalives within about a minute
# (the kernel's default is two hours): a listener reconnects, a statement fails as an outage.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}

_NOTIFY = sa.select(sa.func.pg_notify(CHANNEL, sa.bindparam("payload", type_=sa.String)))


class NoticeKind(enum.Enum):
    DUE = "due"  # a parked wait of the instance is due now
    ABORTED = "aborted"  # the instance was aborted
    DEADLINE = "deadline"  # a wait was parked until the (ISO 8601) instant, soon
    START = "start"  # an API-only server asks the workers to start the instance
    QUEUED = "queued"  # a takeover put the silent worker's instances in the engine's queue (its id)
    PROBE = "probe"  # a listener checks that it hears (a pooler may pass LISTEN and drop notices)


@dataclass(frozen=True)
class Notice:
    kind: NoticeKind
    subject: str  # the instance's id, the deadline, or the probe's token

    @property
    def deadline(self) -> datetime:
        at = datetime.fromisoformat(self.subject)
        return at if at.tzinfo else at.replace(tzinfo=UTC)


def notice_payload(kind: NoticeKind, subject: str) -> str:
    return f"{kind.value} {subject}"


async def tell(conn: Connection, kind: NoticeKind, subject: str) -> None:
    """Say `kind` of `subject` to every listening process when `conn`'s transaction commits."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_NOTIFY, {"payload": notice_payload(kind, subject)})


def tell_for_each(rows: sa.FromClause) -> sa.Select[Any]:
    """PostgreSQL: a statement that says the bound `payload` once for each of `rows` (a CTE that
    changes rows, say), and returns a row for each: what `tell` does, in the statement that changes
    them instead of one more round trip."""
    return _NOTIFY.select_from(rows)


def _parse(payload: str) -> Notice | None:
    kind, _, subject = payload.partition(" ")
    if not subject:
        return None
    try:
        notice = Notice(NoticeKind(kind), subject)
        if notice.kind is NoticeKind.DEADLINE:
            notice.deadline  # noqa: B018 (read to check it)
    except ValueError:  # another release's notice, or a broken one: passed over
        return None
    return notice


@asynccontextmanager
async def listening(engine: AsyncEngine, *, connect_timeout: float) -> AsyncIterator[AsyncIterator[Notice]]:
    """A connection of its own that listens; yields the notices as they come, once LISTEN holds
    (what was committed before it is not told: look at the tables then). Raises
    `psycopg.OperationalError` when the connection is lost."""
    _, params = engine.dialect.create_connect_args(engine.url)
    options: dict[str, Any] = {
        **KEEPALIVES, "connect_timeout": int(connect_timeout), **params, "application_name": LISTENER_NAME
    }
    conn = await psycopg.AsyncConnection.connect(autocommit=True, **options)
    notices = _notices(conn.pgconn)
    try:
        await conn.execute(f"LISTEN {CHANNEL}")
        yield notices
    finally:
        await notices.aclose()  # its reader off the socket before the socket closes (its number may be reused)
        await conn.close()


async def _notices(pgconn: psycopg.pq.abc.PGconn) -> AsyncGenerator[Notice]:
    """Read by libpq when its socket has something to read: psycopg's own `notifies()` wakes ten
    times a second to look for signals, which cost an idle worker a third of a percent of a core."""
    loop = asyncio.get_running_loop()
    readable = asyncio.Event()
    # Its number read once: libpq closes the socket when the connection is lost, and then says -1.
    socket = pgconn.socket
    loop.add_reader(socket, readable.set)
    try:
        while True:
            await readable.wait()
            readable.clear()
            pgconn.consume_input()  # psycopg.OperationalError once the connection is lost
            while (raw := pgconn.notifies()) is not None:
                notice = _parse(raw.extra.decode(errors="replace"))
                if notice is not None:
                    yield notice
    finally:
        # Closed or not, the socket's number leaves the loop: a socket opened later may get it.
        loop.remove_reader(socket)
