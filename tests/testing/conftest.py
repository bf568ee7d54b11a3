"""Fixtures of the fake gateway's own tests: one stack per module, a client with a fresh token, a
fresh ledger per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.testing.fake_stack import FakeStack
from tests.testing.fake_stack._auth import TOKEN_PATH


@pytest.fixture(scope="module")
def stack() -> Iterator[FakeStack]:
    with FakeStack() as s:
        yield s


@pytest.fixture(scope="module")
def _client(stack: FakeStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=5) as client:  # one client: creating one costs ~20 ms
        yield client


def _new_token(client: httpx.Client) -> str:
    answer = client.post(TOKEN_PATH, data={"grant_type": "client_credentials", "client_id": "orchestration",
                                           "client_secret": "secret"})
    token: str = answer.json()["access_token"]
    return token


@pytest.fixture(scope="module")
def token(_client: httpx.Client) -> str:
    """One token for the module, for a test that must not take a fixture per call (a property test)."""
    return _new_token(_client)


@pytest.fixture
def http(_client: httpx.Client) -> httpx.Client:
    """The module's client with a fresh token (a test may have expired the previous one)."""
    _client.headers["Authorization"] = f"Bearer {_new_token(_client)}"
    return _client


@pytest.fixture
def ledger(stack: FakeStack) -> str:
    """A fresh ledger per test: the module's stack is shared."""
    name = f"l{uuid.uuid4().hex[:10]}"
    stack.create_ledger(name)
    return name
