"""The stack client of these tests: the fake gateway's, with its credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from orchestration.stack import StackClient
from tests.testing.engine import STACK_CLIENT_ID, STACK_CLIENT_SECRET
from tests.testing.fake_stack import FakeStack


@pytest.fixture
async def client(fake_stack: FakeStack) -> AsyncIterator[StackClient]:
    gateway = StackClient(fake_stack.url, client_id=STACK_CLIENT_ID, client_secret=STACK_CLIENT_SECRET,
                          timeout=timedelta(seconds=2))
    yield gateway
    await gateway.aclose()
