"""The stack client against the fake gateway, a real HTTP server: what each answer, or its absence,
becomes (spec §7.2), and the token it carries (§7.1)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestration.stack import TRANSPORT, StackClient, StackError, origin_of
from tests.testing.engine import STACK_CLIENT_ID, STACK_CLIENT_SECRET
from tests.testing.fake_stack import FakeStack
from tests.testing.server import free_port

POSTING = {"postings": [{"source": "world", "destination": "bank", "amount": 100, "asset": "USD/2"}]}


@pytest.fixture
async def client(fake_stack: FakeStack) -> AsyncIterator[StackClient]:
    gateway = StackClient(fake_stack.url, client_id=STACK_CLIENT_ID, client_secret=STACK_CLIENT_SECRET,
                          timeout=timedelta(seconds=0.5))
    yield gateway
    await gateway.aclose()


@pytest.fixture
def ledger(fake_stack: FakeStack) -> str:
    name = f"http-{uuid.uuid4().hex[:8]}"
    fake_stack.create_ledger(name)
    return name


async def test_a_call_carries_the_token_and_its_idempotency_key(
    client: StackClient, fake_stack: FakeStack, ledger: str
) -> None:
    answer = await client.request("POST", f"/api/ledger/v2/{ledger}/transactions", body=POSTING,
                                  idempotency_key="key-1")
    assert answer["data"]["postings"][0]["destination"] == "bank"
    [call] = fake_stack.requests("POST", f"/api/ledger/v2/{ledger}/transactions")
    assert call.idempotency_key == "key-1"
    assert call.headers["authorization"].startswith("Bearer ")


async def test_a_token_the_gateway_forgot_is_renewed_once(
    client: StackClient, fake_stack: FakeStack, ledger: str
) -> None:
    await client.request("GET", f"/api/ledger/{ledger}/accounts/world")
    issued = fake_stack.tokens_issued
    fake_stack.expire_tokens()
    await client.request("GET", f"/api/ledger/{ledger}/accounts/world")
    assert fake_stack.tokens_issued == issued + 1


async def test_a_refused_token_request_is_an_error_naming_it(fake_stack: FakeStack, ledger: str) -> None:
    stranger = StackClient(fake_stack.url, client_id="stranger", client_secret="nope", timeout=timedelta(seconds=1))
    try:
        with pytest.raises(StackError, match="token request failed") as refused:
            await stranger.request("GET", f"/api/ledger/v2/{ledger}/transactions")
    finally:
        await stranger.aclose()
    assert refused.value.status == 401 and refused.value.code == "UNAUTHORIZED" and not refused.value.retryable
    assert fake_stack.requests("GET", f"/api/ledger/v2/{ledger}/transactions") == []


@pytest.mark.parametrize(
    ("status", "code", "message", "expected_code", "retryable"),
    [
        (400, "INSUFFICIENT_FUND", "balance too low", "INSUFFICIENT_FUND", False),
        (404, None, "no such ledger", "NOT_FOUND", False),  # a text body: the code comes from the status
        (503, None, "upstream down", "INTERNAL", True),
        (429, "TOO_MANY_REQUESTS", "slow down", "TOO_MANY_REQUESTS", True),
    ],
)
async def test_an_error_answer_keeps_the_services_code_and_message(
    client: StackClient, fake_stack: FakeStack, ledger: str, status: int, code: str | None, message: str,
    expected_code: str, retryable: bool,
) -> None:
    path = f"/api/ledger/v2/{ledger}/transactions"
    fake_stack.fail_next("POST", path, status=status, code=code, message=message)
    with pytest.raises(StackError) as failed:
        await client.request("POST", path, body=POSTING, idempotency_key="k")
    assert (failed.value.status, failed.value.code, failed.value.message) == (status, expected_code, message)
    assert failed.value.retryable is retryable


async def test_no_answer_within_the_timeout_is_a_transport_error(
    client: StackClient, fake_stack: FakeStack, ledger: str
) -> None:
    path = f"/api/ledger/{ledger}/accounts/world"
    fake_stack.hang_next("GET", path, seconds=3)
    with pytest.raises(StackError, match="no answer within the timeout") as failed:
        await client.request("GET", path)
    assert (failed.value.status, failed.value.code, failed.value.retryable) == (0, TRANSPORT, True)


async def test_a_gateway_that_is_not_there_is_a_transport_error() -> None:
    nowhere = StackClient(f"http://127.0.0.1:{free_port()}", timeout=timedelta(seconds=2))
    try:
        with pytest.raises(StackError) as failed:
            await nowhere.request("GET", "/api/ledger/v2/x/transactions")
    finally:
        await nowhere.aclose()
    assert (failed.value.status, failed.value.code, failed.value.retryable) == (0, TRANSPORT, True)


@pytest.mark.parametrize("uri", ["http://[::1/x", "http://127.0.0.1\\@example.com/x", "http://127.0.0.1:99999/x"])
async def test_an_invalid_url_is_refused_before_anything_is_sent(client: StackClient, uri: str) -> None:
    with pytest.raises(StackError, match="invalid URL") as refused:
        await client.request("GET", uri)
    assert (refused.value.status, refused.value.code, refused.value.retryable) == (400, "VALIDATION", False)


def test_an_origin_is_what_a_request_would_reach() -> None:
    assert origin_of("http://user@127.0.0.1:8080/a?b#c") == ("http", "127.0.0.1", 8080)
    assert origin_of("HTTPS://Gateway.Example.com/x") == ("https", "gateway.example.com", 443)
    assert origin_of("http://[::1]/x") == ("http", "::1", 80)
    # What the client refuses has no origin, rather than one it would not reach.
    assert origin_of("http://127.0.0.1\\@example.com/") is None
    assert origin_of("file:///etc/passwd") is None
    assert origin_of("/relative/path") is None


@given(st.text(max_size=80) | st.from_regex(r"\Ahttps?://[^/]{0,30}/?.{0,20}\Z"))
def test_any_text_has_an_origin_or_none_never_an_error(uri: str) -> None:
    origin = origin_of(uri)
    assert origin is None or (origin[0] in ("http", "https") and origin[1] and 0 < origin[2] < 65536)
