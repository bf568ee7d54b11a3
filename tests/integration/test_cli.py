"""The `orchestration` command: sub-commands, flags as environment variables."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from unittest import mock

import httpx

from tests.testing.server import ServerProcess, eventually, free_port


def _orchestration(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestration", *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_version_prints_the_version() -> None:
    result = _orchestration("version")
    assert result.returncode == 0 and result.stdout.startswith("Version: ")
    flag = _orchestration("--version")
    assert flag.returncode == 0 and flag.stdout == result.stdout


def test_help_shows_every_setting_with_its_default_and_environment_variable() -> None:
    from orchestration.cli import SETTINGS
    from orchestration.config import Command

    shown = _orchestration("serve", "--help").stdout
    for setting in SETTINGS:
        if Command.SERVE in setting.flag.commands:
            assert setting.flag.name in shown and setting.flag.envvar in shown
    assert "default: (2s)" in shown.replace("\n", " ")  # durations shown as Go durations
    assert "--listen" not in _orchestration("worker", "--help").stdout


def test_durations_are_go_durations_or_seconds(tmp_path: Path) -> None:
    from orchestration.cli import Duration

    assert Duration().convert("1m30s", None, None) == timedelta(seconds=90)
    assert Duration().convert("0.25", None, None) == timedelta(milliseconds=250)
    bad = _orchestration("migrate", "--data-dir", str(tmp_path), "--debug", "maybe")
    assert bad.returncode == 2
    bad = _orchestration("serve", "--data-dir", str(tmp_path), "--park-after", "soon")
    assert bad.returncode == 2 and "neither a Go duration" in bad.stderr
    for flag, value in [("--park-after", "-1"), ("--park-after", "-1s"), ("--signal-poll-interval", "0")]:
        assert _orchestration("serve", "--data-dir", str(tmp_path), flag, value).returncode == 2, (flag, value)


def test_settings_that_do_not_hold_are_refused_before_anything_starts(tmp_path: Path) -> None:
    for args in (["--listen", "localhost:http"], ["--listen", ":99999"], ["--look-ahead-interval", "5m"]):
        result = _orchestration("serve", "--data-dir", str(tmp_path / "d"), *args)
        assert result.returncode == 2 and "Traceback" not in result.stderr, (args, result.stderr)
    assert not (tmp_path / "d").exists()


def test_secrets_stay_out_of_the_settings_repr() -> None:
    from orchestration.config import Settings, StackSettings, StorageSettings

    settings = Settings(
        storage=StorageSettings(postgres_uri="postgresql://u:hunter2@db/x"), stack=StackSettings(client_secret="s3cr3t")
    )
    assert "hunter2" not in repr(settings) and "s3cr3t" not in repr(settings)


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


def test_a_second_embedded_process_on_the_same_data_dir_refuses_to_start(tmp_path: Path) -> None:
    first = ServerProcess(data_dir=tmp_path / "shared").start()
    try:
        # A migration too: the running server migrated when it started, and a second writer
        # would hold up its event loop.
        for command in (["worker"], ["serve", "--listen", f"127.0.0.1:{free_port()}"], ["migrate"]):
            second = _orchestration(*command, "--data-dir", str(tmp_path / "shared"))
            assert second.returncode == 1
            # One line that says what to do, not a traceback.
            assert second.stderr.startswith("Error: another orchestration process is using"), second.stderr
            assert "Traceback" not in second.stderr
    finally:
        first.stop()


def test_a_busy_port_fails_at_once_without_touching_the_data(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _orchestration("serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
    assert " ready on " not in result.stderr
    assert not (tmp_path / "d" / "orchestration.sqlite").exists()  # no migration ran


def test_ctrl_c_stops_the_server_cleanly_with_exit_code_0(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "d").start()
    assert server.proc is not None
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(timeout=30) == 0
    server.stop()
    log = server.log_path.read_text()
    assert "Aborted" not in log and "Traceback" not in log


def test_an_access_log_line_per_request(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "d").start()
    try:
        httpx.get(f"{server.url}/v2/workflows?pageSize=3", timeout=10)
        eventually(
            lambda: server.log_path.read_text(), lambda log: "GET /v2/workflows?pageSize=3" in log, timeout=10,
            what="an access log line",
        )
    finally:
        server.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_readme_lists_every_setting_as_declared() -> None:
    from orchestration.cli import settings_table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert settings_table() in readme, "README's settings table is stale: paste orchestration.cli.settings_table()"


def test_secrets_can_be_read_from_files(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from orchestration import cli

    (tmp_path / "client").write_text("s3cr3t\n")
    (tmp_path / "webhooks").write_text("current\nprevious\n\n")
    runner = CliRunner()
    with mock.patch("orchestration.server.serve") as serve:
        result = runner.invoke(
            cli.main,
            ["serve", "--stack-client-secret-file", str(tmp_path / "client"), "--stack-client-secret", "ignored"],
            env={"WEBHOOKS_SECRET_FILE": str(tmp_path / "webhooks")},
        )
    assert result.exit_code == 0, result.output
    settings = serve.call_args.args[0]
    assert settings.stack.client_secret == "s3cr3t"
    assert settings.webhooks.secrets == ("current", "previous")
    missing = runner.invoke(cli.main, ["serve", "--stack-client-secret-file", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_auth_needs_an_issuer_and_off_beyond_loopback_is_said_loudly(tmp_path: Path) -> None:
    refused = _orchestration("serve", "--data-dir", str(tmp_path / "d"), "--auth-enabled")
    assert refused.returncode == 2 and "--auth-issuer" in refused.stderr
    server = ServerProcess(data_dir=tmp_path / "open").start()  # 127.0.0.1: no warning
    server.stop()
    assert "AUTHENTICATION IS OFF" not in server.log_path.read_text()
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestration", "serve", "--data-dir", str(tmp_path / "wide"), "--listen",
         f"0.0.0.0:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        eventually(lambda: _answers(f"http://127.0.0.1:{port}/_healthcheck"), what="the server")
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0]
    assert "AUTHENTICATION IS OFF" in output


def _answers(url: str) -> bool:
    try:
        return httpx.get(url).status_code == 200
    except httpx.HTTPError:
        return False


def test_json_log_lines_say_which_instance_stage_and_trigger(tmp_path: Path) -> None:
    from tests.integration.test_webhooks import envelope, signed_headers

    server = ServerProcess(
        data_dir=tmp_path / "data", extra_args=["--json-formatting-logger", "--webhooks-secret", "s"]
    ).start()
    try:
        with server.client() as client:
            workflow = client.post("/v2/workflows", json={"stages": [{"wait_event": {}}]}).json()["data"]["id"]
            instance = client.post(f"/v2/workflows/{workflow}/instances", params={"wait": "true"}).json()["data"]
            assert instance["terminated"] and instance["error"]
            trigger = client.post("/v2/triggers", json={
                "workflowID": workflow, "event": "LOGGED", "vars": {"x": 'link(event, "nowhere").name'},
            }).json()["data"]["id"]
            body = json.dumps(envelope("LOGGED", {})).encode()
            failed = client.post("/v2/webhooks", content=body, headers=signed_headers(body, secret="s"))
            occurrence = failed.json()["data"]["failed"][0]
    finally:
        server.stop()
    lines = [json.loads(line) for line in server.log_path.read_text().splitlines() if line.startswith("{")]
    assert lines and all({"time", "level", "logger", "msg"} <= line.keys() for line in lines)
    stage_failed = [line for line in lines if line.get("instance_id") == instance["id"]]
    assert stage_failed and stage_failed[0]["stage"] == 0 and stage_failed[0]["level"] == "warning"
    variable_failed = [line for line in lines if line.get("trigger_id") == trigger]
    assert variable_failed[0]["occurrence_id"] == occurrence and variable_failed[0]["workflow_id"] == workflow
