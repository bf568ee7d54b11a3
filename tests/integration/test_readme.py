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
    assert "('RunWaitEvent', " in result.stdout
