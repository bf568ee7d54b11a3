"""Schemathesis, every check, against a real server: the OpenAPI document is the contract.

`schemathesis run <server>/openapi.json --checks all` generates requests from the document
(positive and negative, each edge of each schema, then sequences that follow the ids one
answer gives to the next request) and checks every answer: no 5xx, only documented statuses
and bodies, schema-valid requests accepted, schema-invalid ones refused, 405 with `Allow`.

Where schemathesis' expectations and DESIGN.md §4 / the conformance suite disagree, the
server follows DESIGN.md and schemathesis is told so, as narrowly as it allows:

* `use_after_free` is left out: it expects a 404 once a resource was deleted, but a deleted
  workflow stays readable with its `deletedAt` (Q-10, kept: `test_soft_delete_hides_from_lists_but_keeps_reads`).
  It is the only check about DELETE, and workflows are the only thing deleted.
* Sending an event may answer 400 to a well-formed body: DESIGN §4, "an event sent to a
  terminated instance → 400 VALIDATION"; the stateful phase sends events to instances it ran
  to their end.
* Creating a trigger may answer 400 to a well-formed body: its expressions must compile (E13),
  which no schema can express.
  Only these four operations accept 400 for valid data.
* `cursor` is opaque (spec §2.4): only a cursor the server made is valid, any other string is a
  400 (`test_v2_bad_page_parameters_are_400`), which no schema can express; schemathesis draws
  cursors from ones this server handed out.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.helpers import create_workflow
from tests.testing.server import ServerProcess

SEED = 20261201
MAX_EXAMPLES = 5  # per operation and phase; the coverage phase adds every schema edge on top


@pytest.fixture(scope="module")
def contract_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own, embedded: the document and the routes are the same on both
    databases, and each database's answers to hostile input are tested in
    test_hostile_input.py. `?wait=true` gives up after 300 ms, since schemathesis runs
    workflows whose delays and events never come."""
    server = ServerProcess(data_dir=tmp_path_factory.mktemp("contract"), extra_args=["--wait-timeout", "300ms"])
    server.start()
    yield server
    server.stop()


def server_made_cursors(server: ServerProcess) -> list[str]:
    with server.client() as client:
        for _ in range(3):
            create_workflow(client, [])
        first = client.get("/v2/workflows", params={"pageSize": 1}).json()["cursor"]
        second = client.get("/v2/workflows", params={"cursor": first["next"]}).json()["cursor"]
        return [first["next"], second["next"], second["previous"]]


def config_file(path: Path, cursors: list[str]) -> Path:
    path.write_text(
        f"""
[dictionaries.server-cursors]
values = {json.dumps(cursors)}

[parameters]
"query.cursor" = {{ dictionary = "server-cursors" }}

[[operations]]
include-operation-id = ["v1_send_event", "v2_send_event"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "404"]

[[operations]]
include-operation-id = ["v1_create_trigger", "v2_create_trigger"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "404"]
"""
    )
    return path


# It takes 95-115 s on 2 loaded cores: too near the suite's default bound of 120 s.
@pytest.mark.timeout(300)
def test_every_operation_passes_every_schemathesis_check(contract_server: ServerProcess, tmp_path: Path) -> None:
    config = config_file(tmp_path / "schemathesis.toml", server_made_cursors(contract_server))
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config),
        "run", f"{contract_server.url}/openapi.json",
        "--checks", "all", "--exclude-checks", "use_after_free",
        "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED),
        "--workers", "1",  # Python 3.11's ast.parse is not thread-safe, and Hypothesis calls it
        "--generation-database", "none", "--no-color",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    document = contract_server.client().get("/openapi.json").json()
    operations = sum(len(methods) for methods in document["paths"].values())
    assert re.search(rf"Tested:\s+{operations}\b", result.stdout), report  # every operation of the document
    assert re.search(r"\b(\d+) generated, \1 passed\b", result.stdout), report
