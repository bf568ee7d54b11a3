"""Which database errors mean "not now" (503, try again; a loop says so in one line) and which
mean "not this" (the same request would fail again)."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import errors as pg_errors

from orchestration import storage


def _sqlite_error(errorname: str) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(errorname.lower())
    error.sqlite_errorname = errorname  # type: ignore[attr-defined]  # what the driver sets
    return error


def _wrapped(cause: Exception, kind: type[sa.exc.DBAPIError] = sa.exc.OperationalError) -> sa.exc.DBAPIError:
    return kind("SELECT 1", {}, cause)


@pytest.mark.parametrize(
    "error",
    [
        sa.exc.TimeoutError("QueuePool limit reached"),
        _wrapped(psycopg.OperationalError("connection failed: Connection refused")),
        _wrapped(pg_errors.AdminShutdown("terminating connection due to administrator command")),
        _wrapped(pg_errors.CannotConnectNow("the database system is starting up")),
        _wrapped(pg_errors.TooManyConnections("too many clients already")),
        _wrapped(pg_errors.ConnectionFailure("connection failure")),
        _wrapped(_sqlite_error("SQLITE_BUSY")),
        _wrapped(_sqlite_error("SQLITE_LOCKED_SHAREDCACHE")),
    ],
    ids=repr,
)
def test_an_outage_is_unreachable(error: Exception) -> None:
    assert storage.unreachable(error)


def _real_sqlite_error() -> sqlite3.Error:
    with pytest.raises(sqlite3.OperationalError) as raised:
        sqlite3.connect(":memory:").execute("SELECT * FROM no_such_table")
    return raised.value


@pytest.mark.parametrize(
    "error",
    [
        _wrapped(pg_errors.ProgramLimitExceeded("index row size exceeds btree maximum")),
        _wrapped(pg_errors.DeadlockDetected("deadlock detected")),
        _wrapped(pg_errors.UniqueViolation("duplicate key"), sa.exc.IntegrityError),
        _wrapped(_sqlite_error("SQLITE_FULL")),
        ValueError("not a database error"),
    ],
    ids=repr,
)
def test_a_refused_statement_is_not(error: Exception) -> None:
    assert not storage.unreachable(error)


def test_a_real_sqlite_error_about_the_statement_is_not() -> None:
    assert not storage.unreachable(_wrapped(_real_sqlite_error()))
