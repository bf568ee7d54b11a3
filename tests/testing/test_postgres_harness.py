"""Tests of the throwaway PostgreSQL helper (tests/testing/postgres.py)."""

from __future__ import annotations

import socket
import time

import psycopg
import pytest

from .postgres import PostgresServer, require_pg_bin

pytestmark = pytest.mark.postgres


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_server_lifecycle_and_databases() -> None:
    bin_dir = require_pg_bin()  # skips locally without PostgreSQL, fails when CI is set

    started = time.monotonic()
    server = PostgresServer(bin_dir).start()
    startup = time.monotonic() - started
    try:
        port = server.port
        assert port is not None
        print(f"PostgreSQL cluster ready on port {port} in {startup:.2f}s")
        data_dir = server.data_dir

        uris = [server.create_database("harness_one"), server.create_database("harness_two")]
        assert uris == [server.uri("harness_one"), server.uri("harness_two")]
        for uri, dbname in zip(uris, ["harness_one", "harness_two"], strict=True):
            assert uri == f"postgresql://postgres@127.0.0.1:{port}/{dbname}"
            with psycopg.connect(uri) as conn:
                version = conn.execute("select version()").fetchone()[0]
                major = conn.execute("show server_version_num").fetchone()[0]
                assert conn.execute("select current_database()").fetchone()[0] == dbname
            assert version.startswith("PostgreSQL ")
            assert int(major) // 10000 >= 15, version
    finally:
        server.stop()

    assert not _accepts_connections(port)
    assert not data_dir.exists()
    server.stop()  # idempotent


def test_context_manager_cleans_up_after_failure() -> None:
    require_pg_bin()
    with pytest.raises(ZeroDivisionError):
        with PostgresServer() as server:
            port, data_dir = server.port, server.data_dir
            assert port is not None and _accepts_connections(port)
            raise ZeroDivisionError("a failing test body")
    assert not _accepts_connections(port)
    assert not data_dir.exists()


def test_a_database_can_start_as_a_copy_of_a_template(postgres: PostgresServer) -> None:
    template = postgres.create_database("harness_template")
    with psycopg.connect(template, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id int)")
        conn.execute("INSERT INTO kept VALUES (7)")
    copy = postgres.create_database("harness_copy", template="harness_template")
    with psycopg.connect(copy, autocommit=True) as conn:
        assert conn.execute("SELECT id FROM kept").fetchall() == [(7,)]
        conn.execute("INSERT INTO kept VALUES (8)")
    with psycopg.connect(template) as conn:  # the copy is a database of its own
        assert conn.execute("SELECT id FROM kept").fetchall() == [(7,)]
