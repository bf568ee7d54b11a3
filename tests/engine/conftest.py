"""Fixtures of the engine tests: an engine wired to the fake Formance gateway, a ledger of one's own,
a PostgreSQL database of one's own."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import StartEngine
from tests.testing.engine import EngineHarness
from tests.testing.fake_stack import FakeStack
from tests.testing.postgres import PostgresServer


@pytest.fixture
def ledger(fake_stack: FakeStack) -> str:
    """A new ledger on the shared fake gateway: faults and requests of one test stay apart by path."""
    name = f"e-{uuid.uuid4().hex[:8]}"
    fake_stack.create_ledger(name)
    return name


@pytest.fixture
async def money_engine(start_engine: StartEngine, fake_stack: FakeStack) -> EngineHarness:
    """An engine whose `send` and `update` stages call the fake gateway."""
    return await start_engine(stack_url=fake_stack.url)


@pytest.fixture
async def shared_uri(postgres: PostgresServer, migrated_template: str) -> str:
    """A migrated PostgreSQL database of its own, whatever the backend the test runs for."""
    return postgres.create_database(f"t_{uuid.uuid4().hex[:12]}", template=migrated_template)
