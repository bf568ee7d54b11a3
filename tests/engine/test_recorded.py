"""Instances parked by an earlier release resume on this one (STYLE R12).

`recorded/<release>_parked` was made by `recorded/make_parked.py` with that release and
left as a crash leaves it: a delay, a wait for an event, a ledger call waiting for its
second attempt and, since 0.2.0, an instance continued after a parked wait. Changing the
instance workflow's step sequence must keep this test green.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.integration.helpers import get_instance, wait_terminated
from tests.testing.fake_stack import FakeStack
from tests.testing.server import ServerProcess

RECORDED = sorted((Path(__file__).parent / "recorded").glob("*_parked"))


@pytest.mark.parametrize("recorded", RECORDED, ids=lambda path: path.name)
def test_parked_instances_of_a_recorded_release_finish(recorded: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(recorded, data)
    ids = json.loads((data / "instances.json").read_text())
    with FakeStack() as stack:
        stack.create_ledger("recorded")
        server = ServerProcess(
            data_dir=data,
            extra_args=[
                "--stack-url",
                stack.url,
                "--stack-client-id",
                "orchestration",
                "--stack-client-secret",
                "secret",
            ],
        ).start()
        try:
            client = server.client()
            assert get_instance(client, ids["wait_event"])["terminated"] is False
            assert client.post(f"/instances/{ids['wait_event']}/events", json={"name": "go"}).status_code == 204
            for name in ids:
                done = wait_terminated(client, ids[name], timeout=30)
                assert "error" not in done, (name, done)
                assert all("terminatedAt" in s and "error" not in s for s in done["status"]), (name, done)
            assert [t["postings"][0]["destination"] for t in stack.transactions("recorded")] == ["bank"]
            [activity] = client.get(f"/instances/{ids['retry']}/stages/0/history").json()["data"]
            assert activity["attempt"] == 2 and activity["terminated"] is True
        finally:
            server.stop()
