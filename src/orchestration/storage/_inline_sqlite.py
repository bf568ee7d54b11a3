"""SQLite, called on the event loop's own thread.

SQLAlchemy's asyncio engine reaches SQLite through aiosqlite, which sends every statement
to a thread of its own and back, and through greenlet switches at each call into the
driver. Our statements are small: the round trips cost more than the statements (a
thread hop was a third of the server's CPU; with it gone, the greenlet switches still
cost two thirds of a transaction). Here SQLAlchemy's sync engine calls `sqlite3`
directly, and `InlineConnection` gives it the coroutine interface the queries use.

Running on the loop is safe because nothing makes a statement wait long: the database
is in WAL mode, where readers never wait for the writer and a commit does not wait for
the disk (synchronous=NORMAL); the one wait, for the write lock, is taken in this
process before BEGIN (`Database.begin`), so BEGIN never finds another connection of
ours holding it. Nor does taking a connection: the pool opens another when all of its
are in use, rather than block the loop until one comes back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import sqlalchemy as sa

# Connections kept open for reuse; more are opened while more transactions run at once.
_POOL_SIZE = 5
# Our own writers take turns before BEGIN: only another process (a migration run by hand,
# a tool) can hold the lock, and meanwhile the loop is blocked: not for long.
_BUSY_TIMEOUT_MS = 5_000


def apply_pragmas(conn: sqlite3.Connection, *, busy_timeout_ms: int = 30_000) -> None:
    """What every connection to our SQLite file needs (migrations' and the server's alike)."""
    # WAL lets the API read while the engine writes. NORMAL keeps every commit across a
    # process kill (only an OS crash may lose the last commits). Transactions are begun
    # by hand so that they take the write lock at BEGIN: a read-then-write transaction
    # must not fail on lock upgrade.
    conn.isolation_level = None
    cursor = conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def inline_engine(url: sa.URL, on_begin: Callable[[sa.Connection], None]) -> sa.Engine:
    """A sync engine on the SQLite file of `url`, to be called on the event loop's thread;
    `on_begin` issues each transaction's BEGIN."""
    path = str(url.database)

    def connect() -> sqlite3.Connection:
        # The pool may close a connection from another thread (the garbage collector's).
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        apply_pragmas(conn, busy_timeout_ms=_BUSY_TIMEOUT_MS)
        return conn

    engine = sa.create_engine(url, creator=connect, poolclass=sa.QueuePool, pool_size=_POOL_SIZE, max_overflow=-1)
    sa.event.listen(engine, "begin", on_begin)
    return engine
