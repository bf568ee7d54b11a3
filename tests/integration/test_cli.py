"""The `orchestration` command: sub-commands, flags as environment variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.testing.server import ServerProcess, eventually, free_port


def _orchestration(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestration", *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_version_prints_the_version() -> None:
    result = _orchestration("version")
    assert result.returncode == 0 and result.stdout.startswith("Version: ")


def test_migrate_creates_the_embedded_databases(tmp_path: Path) -> None:
    result = _orchestration("migrate", "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "d" / "orchestration.sqlite").exists() and (tmp_path / "d" / "engine.sqlite").exists()


def test_flags_can_be_given_as_environment_variables(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "LISTEN": f"127.0.0.1:{port}", "DATA_DIR": str(tmp_path / "env-data"), "DEBUG": "true"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestration", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        eventually(lambda: _answers(f"http://127.0.0.1:{port}/_info"), bool, timeout=30, what="server on LISTEN")
        assert (tmp_path / "env-data" / "orchestration.sqlite").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_an_api_only_server_needs_postgresql(tmp_path: Path) -> None:
    # WORKER=false read from the environment, and refused: embedded, nothing would run its instances.
    env = {**os.environ, "WORKER": "false", "DATA_DIR": str(tmp_path / "d")}
    result = _orchestration("serve", env=env)
    assert result.returncode == 2 and "--worker=false needs --postgres-uri" in result.stderr


def test_a_second_embedded_worker_on_the_same_data_dir_refuses_to_start(tmp_path: Path) -> None:
    first = ServerProcess(data_dir=tmp_path / "shared").start()
    try:
        second = _orchestration("worker", "--data-dir", str(tmp_path / "shared"))
        assert second.returncode != 0
        assert "another worker is using" in second.stderr
    finally:
        first.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
