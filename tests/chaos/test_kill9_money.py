"""SIGKILL the server while money moves; after a restart every move happened exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FAST_RETRIES
from tests.integration.helpers import create_workflow, run, wait_terminated
from tests.testing.fake_stack import FakeStack
from tests.testing.server import ServerProcess


@pytest.fixture
def server(database_uri: str | None, fake_stack: FakeStack, tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(
        data_dir=tmp_path / "data",
        postgres_uri=database_uri,
        extra_args=[
            "--stack-url",
            fake_stack.url,
            "--stack-client-id",
            "orchestration",
            "--stack-client-secret",
            "secret",
            *FAST_RETRIES,
        ],
    )
    yield process.start()
    process.stop()


@pytest.fixture
def ledger(fake_stack: FakeStack) -> str:
    name = f"k-{uuid.uuid4().hex[:8]}"
    fake_stack.create_ledger(name)
    return name


def _move(source: str, destination: str, ledger: str, to_ledger: str | None = None) -> dict[str, object]:
    return {
        "send": {
            "source": {"account": {"id": source, "ledger": ledger}},
            "destination": {"account": {"id": destination, "ledger": to_ledger or ledger}},
            "amount": {"amount": 100, "asset": "USD/2"},
        }
    }


def test_kill_while_a_ledger_call_is_in_flight_posts_once(
    server: ServerProcess, fake_stack: FakeStack, ledger: str
) -> None:
    path = f"/api/ledger/v2/{ledger}/transactions"
    hold = fake_stack.hold("POST", path)
    inst = run(server.client(), create_workflow(server.client(), [_move("world", "bank", ledger)]))["id"]
    assert hold.wait_arrived(timeout=15)  # the Ledger has posted; its answer never reaches the server
    server.kill()
    hold.release()
    server.start()
    done = wait_terminated(server.client(), inst, timeout=30)
    assert "error" not in done, done
    assert len(fake_stack.transactions(ledger)) == 1
    assert fake_stack.balance(ledger, "bank", "USD/2") == 100
    calls = fake_stack.requests("POST", path)
    assert len(calls) == 2 and calls[0].idempotency_key == calls[1].idempotency_key


def test_kill_between_the_two_legs_of_a_cross_ledger_move(
    server: ServerProcess, fake_stack: FakeStack, ledger: str
) -> None:
    other = f"{ledger}-b"
    fake_stack.create_ledger(other)
    fake_stack.fund(ledger, "foo", "USD/2", 100)
    hold = fake_stack.hold("POST", f"/api/ledger/v2/{other}/transactions")
    inst = run(server.client(), create_workflow(server.client(), [_move("foo", "bar", ledger, other)]))["id"]
    assert hold.wait_arrived(timeout=15)
    server.kill()
    hold.release()
    server.start()
    assert "error" not in wait_terminated(server.client(), inst, timeout=30)
    assert len(fake_stack.transactions(ledger)) == 2  # the funding and the first leg, once
    assert len(fake_stack.transactions(other)) == 1
    assert fake_stack.balance(ledger, "foo", "USD/2") == 0 and fake_stack.balance(other, "bar", "USD/2") == 100


def test_kill_while_waiting_to_retry_resumes_the_retries(
    server: ServerProcess, fake_stack: FakeStack, ledger: str
) -> None:
    path = f"/api/ledger/v2/{ledger}/transactions"
    fake_stack.fail_next("POST", path, times=1, status=503, message="ledger restarting")
    hold = fake_stack.hold("POST", path)  # the retry: posted, answer held, then the kill
    inst = run(server.client(), create_workflow(server.client(), [_move("world", "bank", ledger)]))["id"]
    assert hold.wait_arrived(timeout=15)
    server.kill()
    hold.release()
    server.start()
    assert "error" not in wait_terminated(server.client(), inst, timeout=30)
    assert len(fake_stack.transactions(ledger)) == 1
    assert len({c.idempotency_key for c in fake_stack.requests("POST", path)}) == 1
