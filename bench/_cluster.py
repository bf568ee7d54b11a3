"""The bench's own PostgreSQL cluster: the tests' throwaway `PostgresServer`, with
`pg_stat_statements` loaded when it is installed, stopped with the bench even when the
bench is SIGKILLed, and the CPU its processes spent."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg

from tests.testing.postgres import PostgresServer

from ._harness import CLOCK_TICKS, say

# `2026-01-02 03:04:05.678 UTC [123] ERROR:  message`: the severity and the message.
_LOG_LINE = re.compile(r"\[\d+\] ([A-Z]+):\s+(.*)")
# Ids, numbers and literals in a message: masked so that the same message counts once
# (quoted names of relations and columns are kept).
_VOLATILE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+(\.\d+)?|'[^']*'", re.I)


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the parenthesised command name: [0] state, [1] ppid,
    [11] utime, [12] stime, [13] cutime, [14] cstime (clock ticks)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


class BenchCluster:
    """One PostgreSQL cluster for a whole run; each measure creates a fresh database in it."""

    def __init__(self, bin_dir: Path) -> None:
        self._pg = PostgresServer(bin_dir)
        self._watchdog: subprocess.Popen[bytes] | None = None
        self.statements = False  # whether pg_stat_statements is loaded (figures per statement)
        self._stats: psycopg.Connection[tuple[object, ...]] | None = None

    def start(self) -> BenchCluster:
        self._pg.start()
        self._watchdog = self._stop_when_we_die()
        self.statements = self._load_pg_stat_statements()
        return self

    def stop(self) -> None:
        if self._stats is not None:
            self._stats.close()
        if self._watchdog is not None:
            self._watchdog.kill()  # ours, by pid: the cluster is stopped right below
            self._watchdog.wait()
        self._pg.stop()

    def version(self) -> str:
        with self.connect() as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"

    def log_summary(self) -> dict[str, Any]:
        """Lines of the server's log per severity, and its distinct errors and warnings (as
        bench._logs summarizes a server's log)."""
        levels: Counter[str] = Counter()
        notable: Counter[str] = Counter()
        lines = self._pg.log_path.read_text(errors="replace").splitlines() if self._pg.log_path.exists() else []
        for line in lines:
            match = _LOG_LINE.search(line)
            level = match.group(1) if match else "continued"
            levels[level] += 1
            if match and level in ("WARNING", "ERROR", "FATAL", "PANIC"):
                notable[f"{level}: {_VOLATILE.sub('#', match.group(2))[:140]}"] += 1
        return {"lines": len(lines), "levels": dict(levels), "notable": dict(notable.most_common(10))}

    def keep_log(self, path: Path) -> None:
        shutil.copyfile(self._pg.log_path, path)

    def create_database(self, name: str) -> str:
        """A fresh database; its URI."""
        return self._pg.create_database(name)

    def connect(self) -> psycopg.Connection[tuple[object, ...]]:
        """A connection to the `postgres` database, where the bench's own statistics reads run:
        they stay out of the counters of the databases under test."""
        return psycopg.connect(self._pg.uri("postgres"), autocommit=True)

    def stats_connection(self) -> psycopg.Connection[tuple[object, ...]]:
        """`connect()`, kept for every reading: a new connection costs PostgreSQL a process."""
        if self._stats is None:
            self._stats = self.connect()
        return self._stats

    def cpu_s(self) -> float:
        """CPU seconds of the postmaster and its processes: those alive, and those it has reaped
        (a backend's CPU moves to the postmaster's cutime/cstime when its connection ends)."""
        postmaster = int((self._pg.data_dir / "postmaster.pid").read_text().split()[0])
        own = _stat_fields(postmaster)
        ticks = sum(int(own[i]) for i in (11, 12, 13, 14))
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = _stat_fields(int(entry.name))
            except (OSError, ValueError):
                continue  # gone meanwhile
            if fields[1] == str(postmaster):
                ticks += int(fields[11]) + int(fields[12])
        return ticks / CLOCK_TICKS

    def _stop_when_we_die(self) -> subprocess.Popen[bytes]:
        """A watchdog that stops the cluster once the bench is gone, even SIGKILLed: pg_ctl
        detaches PostgreSQL, so the death signal that ends our other subprocesses misses it.

        It waits for the end of its stdin, a pipe only the bench holds; a session of its own
        keeps a Ctrl-C meant for the bench from killing it first."""
        assert self._pg.base_dir is not None
        pg_ctl = [str(self._pg.bin_dir / "pg_ctl"), "-D", str(self._pg.data_dir), "-m", "immediate", "stop"]
        if os.geteuid() == 0:  # PostgresServer runs the cluster as the owner of its directory
            owner = self._pg.data_dir.owner()
            pg_ctl = ["runuser", "-u", owner, "--", *pg_ctl]
        script = 'cat >/dev/null; "$@"; rm -rf "$0"'
        return subprocess.Popen(
            ["sh", "-c", script, str(self._pg.base_dir), *pg_ctl],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _load_pg_stat_statements(self) -> bool:
        """Load pg_stat_statements into this cluster only (a restart), if it is installed."""
        with self.connect() as conn:
            installed = conn.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements'"
            ).fetchone()
        if not installed:
            say("pg_stat_statements is not installed: no figures per statement")
            return False
        with open(self._pg.data_dir / "postgresql.conf", "a") as conf:
            conf.write("shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.max = 10000\n")
        self._pg.pause("fast")
        self._pg.resume()
        with self.connect() as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")  # its view reads every database's
        return True
