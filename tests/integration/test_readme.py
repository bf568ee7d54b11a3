"""The README's walkthroughs run as written, against a real server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.testing.server import ServerProcess

README = Path(__file__).resolve().parents[2] / "README.md"


def _block(section: str, language: str) -> str:
    """The first fenced `language` block under the README heading `section`."""
    text = README.read_text()
    start = text.index(f"## {section}\n")
    match = re.compile(rf"```{language}\n(.*?)```", re.S).search(text, start)
    assert match, f"no {language} block under {section!r}"
    return match.group(1)


def _documents(output: str) -> list[Any]:
    """The JSON documents curl printed one after the other (with no newline between them)."""
    decoder, documents, position = json.JSONDecoder(), [], 0
    while (position := output.find("{", position)) != -1:
        document, position = decoder.raw_decode(output, position)
        documents.append(document)
    return documents


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(data_dir=tmp_path_factory.mktemp("readme")).start()
    yield server
    server.stop()


def test_the_curl_walkthrough_runs_as_written(server: ServerProcess) -> None:
    script = _block("Five minutes with curl", "bash").replace("localhost:8080", f"127.0.0.1:{server.port}")
    # `set -x` shows each command before its answer, so a failure says which one.
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "set -x\n" + script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-3000:]
    history, aborted, waited = _documents(result.stdout)
    assert [stage["name"] for stage in history["data"]][0] == "RunWaitEvent"
    assert aborted["data"]["terminated"] and aborted["data"]["error"] == "canceled"
    assert waited["data"]["terminated"] and not waited["data"].get("error")


def test_the_sdk_walkthrough_runs_as_written(server: ServerProcess) -> None:
    script = _block("Five minutes with the official SDK", "python")
    script = script.replace("127.0.0.1:8080", f"127.0.0.1:{server.port}")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "[('RunWaitEvent', True)]" in result.stdout


@pytest.fixture(scope="module")
def webhook_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Started as the triggers walkthrough says."""
    server = ServerProcess(
        data_dir=tmp_path_factory.mktemp("readme-webhooks"), extra_args=["--webhooks-secret", "my-webhook-secret"]
    ).start()
    yield server
    server.stop()


def test_the_triggers_walkthrough_runs_as_written(webhook_server: ServerProcess) -> None:
    text = README.read_text()
    start = text.index("## Triggers: Formance events start workflows\n")
    blocks = re.compile(r"```bash\n(.*?)```", re.S).findall(text, start)
    assert "--webhooks-secret my-webhook-secret" in blocks[0]
    script = blocks[1].replace("localhost:8080", f"127.0.0.1:{webhook_server.port}")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "set -x\n" + script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-3000:]
    tested, delivered, occurrences = _documents(result.stdout)
    expected = json.loads(re.search(r"# (\{\"data\":\{\"filter\".*)", blocks[1]).group(1))  # type: ignore[union-attr]
    assert tested == expected
    assert len(delivered["data"]["started"]) == 1 and delivered["data"]["duplicates"] == 0
    [occurrence] = occurrences["cursor"]["data"]
    assert occurrence["workflowInstanceID"] == delivered["data"]["started"][0]


def test_the_worked_trigger_compiles_and_picks_its_variables(webhook_server: ServerProcess) -> None:
    text = README.read_text()
    start = text.index("### Worked example: a ledger event pays out\n")
    yaml_stages = re.compile(r"```yaml\n(.*?)```", re.S).search(text, start).group(1)  # type: ignore[union-attr]
    trigger = json.loads(re.compile(r"```json\n(.*?)```", re.S).search(text, start).group(1))  # type: ignore[union-attr]
    with webhook_server.client() as client:
        res = client.post("/v2/workflows", content=yaml_stages, headers={"Content-Type": "application/yaml"})
        assert res.status_code == 201, res.text
        trigger["workflowID"] = res.json()["data"]["id"]
        res = client.post("/v2/triggers", json=trigger)
        assert res.status_code == 201, res.text
        event = {"ledger": "main", "transactions": [{
            "postings": [{"source": "world", "destination": "users:42", "amount": 1000000, "asset": "EUR/2"}],
            "metadata": {"wallet": "w-42"}, "id": 1, "timestamp": "2026-12-01T10:00:00Z", "reverted": False}]}
        tested = client.post(f"/v2/triggers/{res.json()['data']['id']}/test", json=event).json()["data"]
    assert tested["filter"] == {"match": True}
    assert {name: v["value"] for name, v in tested["variables"].items()} == {
        "account": "users:42", "ledger": "main", "wallet": "w-42", "amount": "1000000", "asset": "EUR/2",
    }


def test_the_command_line_walkthrough_runs_as_written(server: ServerProcess, tmp_path: Path) -> None:
    script = _block("The command-line client", "bash")
    # In a directory of its own (it writes its definitions there), with this environment's command.
    script = script.replace(". .venv/bin/activate", f"export PATH={Path(sys.executable).parent}:$PATH")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "set -x\n" + script],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "ORCHESTRATION_URL": server.url, "COLUMNS": "200"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    # What the README says `validate` prints, it prints.
    printed = re.search(r"The validation above prints:\n\n```\n(.*?)```", README.read_text(), re.S)
    assert printed
    problems, summary = printed.group(1).rsplit("Error: ", 1)
    assert problems in result.stdout and f"Error: {summary}" in result.stderr
    assert "matches: the trigger fires" in result.stdout
    assert result.stdout.count("succeeded") >= 3  # the approval's two stages, the pause's one
