"""Connections to our database: a SQLite file (embedded) or PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from orchestration.config import StorageSettings

from ._connection import Connection, InlineConnection
from ._inline_sqlite import apply_pragmas, inline_engine
from ._notices import KEEPALIVES, Notice, listening

SQLITE_FILE = "orchestration.sqlite"
_WRITE = "orchestration_write"
# A step waiting for a connection during a burst (thousands of instances resumed at
# once) must wait its turn, not fail its instance.
_POOL_TIMEOUT_SECONDS = 600
# A PostgreSQL host that drops packets would hold a new connection for the system's TCP
# timeout (minutes): give up sooner, so that a request answers 503 instead of hanging.
_CONNECT_TIMEOUT_SECONDS = 10
# A PostgreSQL connection idle in the pool longer than this is pinged before use: one that the
# server dropped meanwhile (a restart) is replaced unseen. One used more recently is not: under
# load, a ping per transaction was a third of a short one's cost. Dropped between two uses, it
# fails its next statement as an outage (503, a step tried again), and the pool is renewed.
_PING_AFTER_IDLE_SECONDS = 1.0

DATABASE_ERRORS: tuple[type[Exception], ...] = (sa.exc.DBAPIError, sa.exc.TimeoutError)
"""Whatever a statement can raise: `unreachable` tells an outage from a refused statement."""


# PostgreSQL's answers that say "not now" rather than "not this": shutting down, starting up,
# too many connections. Class 08 (connection exceptions) is matched by its prefix.
_NOT_NOW_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot answer now (down, restarting, every connection
    taken, or SQLite's lock held too long), rather than that it refused a statement: only
    then may the same request succeed if tried again."""
    if isinstance(exc, sa.exc.TimeoutError):
        return True
    if isinstance(exc, psycopg.Error):  # the listener's connection, outside SQLAlchemy
        return _not_now(exc.sqlstate, failed=isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError))
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    cause = exc.orig
    if isinstance(cause, sqlite3.Error):
        return str(getattr(cause, "sqlite_errorname", "")).startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
    return _not_now(
        getattr(cause, "sqlstate", None), failed=isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)
    )


def _not_now(sqlstate: str | None, *, failed: bool) -> bool:
    """PostgreSQL's answer `sqlstate`, or none at all (then `failed`: the connection failed)."""
    if sqlstate is None:
        return failed
    return str(sqlstate).startswith("08") or sqlstate in _NOT_NOW_SQLSTATES


def database_url(*, postgres_uri: str | None, data_dir: Path) -> URL:
    """The SQLAlchemy URL of our database: psycopg for a `postgres://` or `postgresql://` URI
    from the user (SQLAlchemy's sync and async engines both take it), else the SQLite file in
    `data_dir`."""
    if postgres_uri:
        url = make_url(postgres_uri)
        return url.set(drivername="postgresql+psycopg")
    return URL.create("sqlite", database=str((data_dir / SQLITE_FILE).resolve()))


def log_failure(log: logging.Logger, message: str, exc: BaseException) -> None:
    """A background loop's failed round: one line while the database is down (the loop says so
    every round until it is back), the traceback otherwise."""
    if unreachable(exc):
        log.warning("%s: the database is unreachable (%s)", message, type(exc).__name__)
    else:
        log.error(message, exc_info=exc)


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    apply_pragmas(dbapi_conn)


def _sqlite_begin_immediate(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_on_begin(conn: sa.Connection) -> None:
    # Only `Database.begin`, in its turn, takes the write lock; any other transaction
    # (reads, the health check's ping) begins deferred and reads a WAL snapshot: taking the
    # lock out of turn would make the writer whose turn it is wait in SQLite's busy handler,
    # on the event loop's thread, for the loop to let the other one finish.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


def make_sync_engine(url: URL) -> sa.Engine:
    """An engine whose every transaction takes the write lock at BEGIN (migrations)."""
    engine = sa.create_engine(url)
    if url.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine, "begin", _sqlite_begin_immediate)
    return engine


_LAST_USED = "orchestration_last_used"  # in a pooled connection's `info`: when it was opened or last given back


def _ping_when_idle(engine: sa.Engine, idle_s: float) -> None:
    """SQLAlchemy's `pool_pre_ping`, for connections idle in the pool longer than `idle_s` only."""

    def used(_dbapi_conn: Any, record: sa.pool.ConnectionPoolEntry) -> None:
        record.info[_LAST_USED] = time.monotonic()

    def checked_out(dbapi_conn: Any, record: sa.pool.ConnectionPoolEntry, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_LAST_USED, 0.0) <= idle_s:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool replaces it and tries again; on a lost connection, the others are renewed
            # too (a restart dropped them all), as SQLAlchemy's own ping does.
            if engine.dialect.is_disconnect(exc, dbapi_conn, None):
                raise sa.exc.InvalidatePoolError("an idle connection was lost") from exc
            raise sa.exc.DisconnectionError("an idle connection does not answer") from exc

    sa.event.listen(engine, "connect", used)  # (new: not pinged)
    sa.event.listen(engine, "checkout", checked_out)
    sa.event.listen(engine, "checkin", used)


class Database:
    """Our tables' connection pool; one use case is one `begin()` transaction.

    On SQLite, statements run on the event loop's thread (`_inline_sqlite`), and write
    transactions take their turn on an in-process lock before BEGIN: SQLite has one
    writer at a time, and waiting for it in SQLite's busy handler would block the loop.
    """

    def __init__(
        self,
        url: URL,
        *,
        max_connections: int = StorageSettings.postgres_max_open_conns,
        ping_after_idle_s: float = _PING_AFTER_IDLE_SECONDS,
    ) -> None:
        self.url = url
        self.is_sqlite = url.get_backend_name() == "sqlite"
        self._sqlite: sa.Engine | None = None
        self._postgres: AsyncEngine | None = None
        if self.is_sqlite:
            self._sqlite = inline_engine(url, _sqlite_on_begin)
        else:
            defaults = {"connect_timeout": _CONNECT_TIMEOUT_SECONDS, **KEEPALIVES}
            connect_args = {name: value for name, value in defaults.items() if name not in url.query}  # the URI's win
            # Last in, first out: under load the same few connections serve (none idle long
            # enough to be pinged), and the others stay idle until needed.
            self._postgres = create_async_engine(
                url, pool_size=max_connections, max_overflow=0, pool_use_lifo=True, pool_timeout=_POOL_TIMEOUT_SECONDS,
                connect_args=connect_args,
            )
            _ping_when_idle(self._postgres.sync_engine, ping_after_idle_s)
        # PostgreSQL has row locks and many writers: no turn to take in process.
        self._writer: AbstractAsyncContextManager[Any] = asyncio.Lock() if self.is_sqlite else nullcontext()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Connection]:
        """A transaction that may write, committed when the block exits normally."""
        async with self._writer:
            if self._sqlite is not None:
                with self._sqlite.connect() as inline:
                    inline.execution_options(**{_WRITE: True})
                    with inline.begin():
                        yield InlineConnection(inline)
                return
            assert self._postgres is not None
            async with self._postgres.begin() as conn:
                yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        """A read-only transaction: on SQLite it does not take the write lock."""
        if self._sqlite is not None:
            with self._sqlite.connect() as inline, inline.begin():
                yield InlineConnection(inline)
            return
        assert self._postgres is not None
        async with self._postgres.begin() as conn:
            yield conn

    def notices(self) -> AbstractAsyncContextManager[AsyncIterator[Notice]]:
        """PostgreSQL: a connection of its own that hears what other processes changed (`_notices`)."""
        assert self._postgres is not None, "SQLite has no other process to hear"
        return listening(self._postgres, connect_timeout=_CONNECT_TIMEOUT_SECONDS)

    async def ping(self) -> None:
        """One round trip to the database (raises when it cannot answer)."""
        async with self.read() as conn:
            await conn.execute(sa.text("SELECT 1"))

    def pool_use(self) -> tuple[int, int]:
        """(connections in use, connections open) of this process's pool."""
        engine = self._sqlite if self._sqlite is not None else self._postgres
        pool = engine.pool if engine is not None else None
        in_use = int(getattr(pool, "checkedout", lambda: 0)())
        return in_use, in_use + int(getattr(pool, "checkedin", lambda: 0)())

    async def dispose(self) -> None:
        if self._sqlite is not None:
            self._sqlite.dispose()
        if self._postgres is not None:
            await self._postgres.dispose()
