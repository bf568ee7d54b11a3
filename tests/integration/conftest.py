"""Fixtures of the integration tests that move money through the fake gateway."""

from __future__ import annotations

import uuid

import pytest

from tests.testing.fake_stack import FakeStack


@pytest.fixture
def ledger(fake_stack: FakeStack) -> str:
    """A new ledger of the session's fake gateway, for one test."""
    name = f"l-{uuid.uuid4().hex[:8]}"
    fake_stack.create_ledger(name)
    return name
