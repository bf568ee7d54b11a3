"""The stack client against the fake gateway, a real HTTP server: what each answer, or its absence,
becomes (spec §7.2), and the token it carries (§7.1)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestration.stack import TRANSPORT, StackClient, StackError, origin_of
from tests.testing.engine import STACK_CLIENT_ID, STACK_CLIENT_SECRET
from tests.testing.fake_stack import FakeStack
from tests.testing.link_server import LinkServer
from tests.testing.server import free_port

POSTING = {"postings": [{"source": "world", "destination": "bank", "amount": 100, "asset": "USD/2"}]}



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


async def test_a_token_is_kept_and_renewed_once_when_the_gateway_forgot_it(
    client: StackClient, fake_stack: FakeStack, ledger: str
) -> None:
    account = f"/api/ledger/{ledger}/accounts/world"
    await client.request("GET", account)
    issued = fake_stack.tokens_issued
    await client.request("GET", account)
    assert fake_stack.tokens_issued == issued  # kept
    fake_stack.expire_tokens()
    await client.request("GET", account)
    assert fake_stack.tokens_issued == issued + 1
    assert len(fake_stack.requests("GET", account)) == 4  # the refused one, then the same again


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
    fake_stack.hang_next("GET", path, seconds=5)  # longer than `client`'s timeout (conftest.py)
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


@pytest.mark.parametrize(
    "uri", ["http://[::1/x", "http://127.0.0.1\\@example.com/x", "http://127.0.0.1:99999/x", "ftp://127.0.0.1/x"]
)
async def test_an_invalid_url_is_refused_before_anything_is_sent(
    client: StackClient, fake_stack: FakeStack, uri: str
) -> None:
    sent = len(fake_stack.requests())
    with pytest.raises(StackError, match="invalid URL") as refused:
        await client.request("GET", uri)
    assert (refused.value.status, refused.value.code, refused.value.retryable) == (400, "VALIDATION", False)
    assert len(fake_stack.requests()) == sent


@pytest.mark.parametrize("path", ["ledger/v2/l/transactions", "", "ftp://127.0.0.1/x"])
async def test_what_is_neither_a_path_nor_a_uri_is_refused(fake_stack: FakeStack, path: str) -> None:
    # Under a gateway URL with a path of its own, "ledger/…" would otherwise be glued to it: /apiledger/….
    prefixed = StackClient(fake_stack.url + "/api", timeout=timedelta(seconds=2))
    sent = len(fake_stack.requests())
    try:
        with pytest.raises(StackError, match="invalid URL: neither a path nor"):
            await prefixed.request("GET", path)
    finally:
        await prefixed.aclose()
    assert len(fake_stack.requests()) == sent


async def test_the_token_goes_to_the_gateway_only(client: StackClient, fake_stack: FakeStack) -> None:
    with LinkServer() as elsewhere:
        await client.request("GET", elsewhere.resource({"name": "a"}))
        # A path beginning with `//` is a path under the gateway, not another host.
        with pytest.raises(StackError):
            await client.request("GET", "//" + elsewhere.url.removeprefix("http://") + "/x")
        assert [r.authorization for r in elsewhere.requests] == [None]
    assert fake_stack.requests("GET", "//127.0.0.1.*")


async def test_a_redirect_is_not_followed_nor_the_token_form_sent_on() -> None:
    with LinkServer() as gateway, LinkServer() as elsewhere:
        gateway.redirect(elsewhere.url + "/api/auth/oauth/token", status=307, path="/api/auth/oauth/token")
        client = StackClient(gateway.url, client_id="id", client_secret="s3cret", timeout=timedelta(seconds=2))
        try:
            with pytest.raises(StackError, match="token request failed") as refused:
                await client.request("POST", "/api/ledger/v2/l/transactions", body=POSTING)
            assert refused.value.status == 307
            moved = StackClient(gateway.url, timeout=timedelta(seconds=2))
            with pytest.raises(StackError):
                await moved.request("POST", gateway.redirect(elsewhere.url + "/x", status=308), body=POSTING)
            await moved.aclose()
        finally:
            await client.aclose()
        assert elsewhere.requests == []


async def test_the_proxy_of_the_environment_is_used_unless_no_proxy_exempts_the_host(
    fake_stack: FakeStack, ledger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = f"/api/ledger/{ledger}/accounts/world"
    with LinkServer() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        proxied = StackClient(fake_stack.url, timeout=timedelta(seconds=2))
        with pytest.raises(StackError):  # the proxy answers 404 to what it does not know
            await proxied.request("GET", account)
        await proxied.aclose()
        assert [r.path for r in proxy.requests] == [fake_stack.url + account]
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        direct = StackClient(fake_stack.url, client_id=STACK_CLIENT_ID, client_secret=STACK_CLIENT_SECRET,
                             timeout=timedelta(seconds=2))
        await direct.request("GET", account)
        await direct.aclose()
        assert len(proxy.requests) == 1


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
    assert origin is None or (origin[0] in ("http", "https") and origin[1] and 0 <= origin[2] < 65536)


@given(
    st.sampled_from(["http", "https", "HTTP"]),
    st.from_regex(r"\A[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,3}\Z"),
    st.none() | st.integers(1, 65535),
    st.from_regex(r"\A(/[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,10}){0,3}\Z"),
)
def test_the_origin_of_a_well_formed_uri_is_its_scheme_host_and_port(
    scheme: str, host: str, port: int | None, path: str
) -> None:
    uri = f"{scheme}://{host}{f':{port}' if port else ''}{path}"
    default = 443 if scheme.lower() == "https" else 80
    assert origin_of(uri) == (scheme.lower(), host, port or default)
