"""Throwaway PostgreSQL servers for tests.

``PostgresServer`` creates a private cluster in a temporary directory, starts it on a free
port of 127.0.0.1 with durability switched off (tests only), and removes it on ``stop()``.
PostgreSQL refuses to run as root, so a root test process runs the server binaries as an
unprivileged user (``postgres`` from the Debian package, else ``nobody``) via ``runuser``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from .tools import missing_tool

_REQUIRED = ("initdb", "pg_ctl", "postgres")
# Test-only speed settings: durability off, plenty of connections for pooled tests.
_SETTINGS = {"listen_addresses": "'127.0.0.1'", "fsync": "off", "synchronous_commit": "off",
             "full_page_writes": "off", "max_connections": "200"}


def _has_bins(d: Path) -> bool:
    return all(os.access(d / name, os.X_OK) for name in _REQUIRED)


def find_pg_bin() -> Path | None:
    """Return the directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or None.

    Looks at ``$PG_BIN`` first, then ``/usr/lib/postgresql/<major>/bin`` (highest
    major version wins), then the directory of ``pg_ctl`` on ``PATH``.
    """
    if env := os.environ.get("PG_BIN"):
        return Path(env) if _has_bins(Path(env)) else None
    installed = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if _has_bins(p)]
    if installed:
        return max(installed, key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.name)])
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and _has_bins(Path(found).parent) else None


def require_pg_bin() -> Path:
    """``find_pg_bin()`` for tests: skip when missing, but fail when ``$CI`` is set."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        missing_tool("PostgreSQL server binaries (initdb/pg_ctl/postgres) not found; run .ci/install-system-deps")
    return bin_dir


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _traversable_by_all(path: Path) -> bool:
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


class PostgresServer:
    """A disposable PostgreSQL cluster listening on 127.0.0.1.

    Use as a context manager or call ``start()``/``stop()`` explicitly::

        with PostgresServer() as pg:
            uri = pg.create_database("app")   # postgresql://postgres@127.0.0.1:<port>/app
    """

    host = "127.0.0.1"
    superuser = "postgres"

    def __init__(self, bin_dir: Path | None = None, *, start_timeout: float = 30.0) -> None:
        found = bin_dir or find_pg_bin()
        if found is None:
            raise RuntimeError("PostgreSQL server binaries not found (see find_pg_bin)")
        self.bin_dir = Path(found)
        self.start_timeout = start_timeout
        self.port: int | None = None
        self.base_dir: Path | None = None
        self._run_as = self._unprivileged_user() if os.geteuid() == 0 else None

    @staticmethod
    def _unprivileged_user() -> pwd.struct_passwd:
        for name in ("postgres", "nobody"):
            with contextlib.suppress(KeyError):
                return pwd.getpwnam(name)
        raise RuntimeError("running as root, but no 'postgres' or 'nobody' user to run PostgreSQL as")

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory (only while started)."""
        assert self.base_dir is not None, "server not started"
        return self.base_dir / "data"

    @property
    def log_path(self) -> Path:
        """The server log file (only while started)."""
        assert self.base_dir is not None, "server not started"
        return self.base_dir / "server.log"

    def _run(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self._run_as is not None:
            cmd = ["runuser", "-u", self._run_as.pw_name, "--", *cmd]
        return subprocess.run(cmd, cwd=self.base_dir, capture_output=True, text=True, timeout=timeout)

    def _log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no server log)"

    def start(self) -> PostgresServer:
        """Create the cluster, start the server and wait until it accepts connections."""
        if self.base_dir is not None:
            return self
        tmp_root = Path(tempfile.gettempdir())
        if self._run_as is not None and not _traversable_by_all(tmp_root):
            tmp_root = Path("/tmp")  # the unprivileged user must reach the cluster directory
        self.base_dir = Path(tempfile.mkdtemp(prefix="pgtest-", dir=tmp_root))
        atexit.register(self.stop)
        try:
            if self._run_as is not None:
                os.chown(self.base_dir, self._run_as.pw_uid, self._run_as.pw_gid)
            res = self._run("initdb", "-D", str(self.data_dir), "-U", self.superuser, "--auth=trust",
                            "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
            if res.returncode != 0:
                raise RuntimeError(f"initdb failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
            settings = {**_SETTINGS, "unix_socket_directories": f"'{self.base_dir}'"}
            with open(self.data_dir / "postgresql.conf", "a") as conf:
                conf.write("".join(f"{k} = {v}\n" for k, v in settings.items()))
            self._start_on_free_port()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_on_free_port(self, attempts: int = 3) -> None:
        for attempt in range(attempts):
            port = _free_port()
            wait = str(max(1, round(self.start_timeout)))
            res = self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path), "-o", f"-p {port}",
                            "-w", "-t", wait, "start", timeout=self.start_timeout + 10)
            if res.returncode == 0:
                self.port = port
                break
            if "could not bind" not in self._log_tail() or attempt == attempts - 1:
                raise RuntimeError(f"PostgreSQL failed to start (pg_ctl exit {res.returncode}, timeout "
                                   f"{self.start_timeout}s): {res.stdout.strip()} {res.stderr.strip()}\n"
                                   f"server log tail:\n{self._log_tail()}")
        try:  # pg_ctl saw "ready"; confirm TCP on 127.0.0.1 works too
            psycopg.connect(self.uri(), connect_timeout=5).close()
        except psycopg.Error as exc:
            raise RuntimeError(f"PostgreSQL refuses TCP connections: {exc}\n{self._log_tail()}") from exc

    def pause(self, mode: str = "immediate") -> None:
        """Stop the server but keep its cluster: `resume()` brings it back on the same port.

        `immediate` is a crash: with durability off, the last commits are lost. `fast`
        disconnects every client and keeps every commit, like a restart in production.
        """
        assert self.base_dir is not None and self.port is not None, "not started"
        res = self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop", timeout=30)
        if res.returncode != 0:
            raise RuntimeError(f"pg_ctl stop failed: {res.stdout} {res.stderr}")

    def resume(self) -> None:
        assert self.base_dir is not None and self.port is not None, "not started"
        wait = str(max(1, round(self.start_timeout)))
        res = self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path), "-o", f"-p {self.port}",
                        "-w", "-t", wait, "start", timeout=self.start_timeout + 10)
        if res.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not come back: {res.stdout} {res.stderr}\n{self._log_tail()}")

    def stop(self) -> None:
        """Kill the server (``pg_ctl stop -m immediate``) and delete the cluster. Idempotent."""
        if self.base_dir is None:
            return
        atexit.unregister(self.stop)
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists():
            res = self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", timeout=30)
            if res.returncode != 0 and pid_file.exists():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
        shutil.rmtree(self.base_dir, ignore_errors=True)
        self.base_dir = self.port = None

    def uri(self, dbname: str = "postgres") -> str:
        """Connection URI for ``dbname`` as the trusted superuser over TCP."""
        if self.port is None:
            raise RuntimeError("server not started")
        return f"postgresql://{self.superuser}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """Create database ``name`` (a copy of database ``template`` if given) and return its URI.

        A template must have no open connection while it is copied.
        """
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with psycopg.connect(self.uri("postgres"), autocommit=True) as conn:
            conn.execute(query)
        return self.uri(name)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
