"""`link()` reads the gateway with its credentials, `--link-origins` without, nothing else (§12.3),
against real HTTP servers: the fake gateway and a resource server on another port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest

from orchestration.config import StackSettings
from orchestration.service import LinkFetcher
from orchestration.service._expressions import EvaluationFailed
from orchestration.stack import StackClient
from tests.testing.engine import STACK_CLIENT_ID, STACK_CLIENT_SECRET
from tests.testing.fake_stack import FakeStack
from tests.testing.link_server import LinkServer


@pytest.fixture
def resources() -> Iterator[LinkServer]:
    with LinkServer() as server:
        yield server


@pytest.fixture
async def links(fake_stack: FakeStack, resources: LinkServer) -> AsyncIterator[LinkFetcher]:
    settings = StackSettings(
        url=fake_stack.url, client_id=STACK_CLIENT_ID, client_secret=STACK_CLIENT_SECRET,
        timeout=timedelta(seconds=5), link_origins=("http://127.0.0.1",),
    )  # fmt: skip
    gateway = StackClient(settings.url, client_id=settings.client_id, client_secret=settings.client_secret,
                          timeout=settings.timeout)
    anonymous = StackClient("", timeout=settings.timeout)
    yield LinkFetcher(gateway, anonymous, settings)
    await gateway.aclose()
    await anonymous.aclose()


async def test_the_gateway_is_read_with_its_credentials(links: LinkFetcher, fake_stack: FakeStack) -> None:
    fake_stack.add_resource("/api/payments/accounts/a1", {"name": "foo"})
    assert await links.fetch(fake_stack.url + "/api/payments/accounts/a1") == {"name": "foo"}
    [call] = fake_stack.requests("GET", "/api/payments/accounts/a1")
    assert call.headers["authorization"].startswith("Bearer ")


async def test_other_allowed_origins_never_see_the_gateway_token(links: LinkFetcher, resources: LinkServer) -> None:
    assert await links.fetch(resources.resource({"role": "admin"})) == {"role": "admin"}
    assert [r.authorization for r in resources.requests] == [None]


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("http://169.254.169.254/latest/meta-data", "link() reads only --stack-url and --link-origins"),
        ("https://127.0.0.1/x", "link() reads only"),  # another scheme: another origin
        ("file:///etc/passwd", "not an http(s) URI"),
        ("http://127.0.0.1/" + "a" * 70_000, "not an http(s) URI of at most 2048 characters"),
        ("http://[::1", "not an http(s) URI"),
    ],
)
async def test_what_is_not_allowed_is_refused_before_anything_is_sent(
    links: LinkFetcher, resources: LinkServer, uri: str, message: str
) -> None:
    with pytest.raises(EvaluationFailed, match=message.replace("(", r"\(").replace(")", r"\)")):
        await links.fetch(uri)
    assert resources.requests == []


async def test_a_redirect_is_an_answer_never_followed(links: LinkFetcher, resources: LinkServer) -> None:
    with LinkServer() as elsewhere:
        secret = elsewhere.resource({"role": "admin"})
        with pytest.raises(EvaluationFailed, match="^unexpected status code when reading resource: 302$"):
            await links.fetch(resources.redirect(secret))
        assert elsewhere.requests == []


async def test_an_answer_that_could_not_be_stored_is_an_evaluation_error(
    links: LinkFetcher, resources: LinkServer
) -> None:
    with pytest.raises(EvaluationFailed, match="decoding response: .*lone UTF-16 surrogate"):
        await links.fetch(resources.resource({"name": "\ud800"}))


async def test_http_errors_are_worded_as_the_original(links: LinkFetcher, resources: LinkServer) -> None:
    with pytest.raises(EvaluationFailed, match="^unexpected status code when reading resource: 404$"):
        await links.fetch(resources.url + "/missing")
