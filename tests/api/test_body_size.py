"""The body size limit: 413 before a handler runs, never reading more than the limit and a chunk."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from orchestration.api._body_size import BodySizeLimit

LIMIT = 100


class Upload:
    """A client sending `chunks`; counts what the server took."""

    def __init__(self, chunks: list[bytes], *, disconnect_after: bool = False) -> None:
        self.chunks = chunks
        self.taken = 0
        self.disconnect_after = disconnect_after

    async def receive(self) -> Message:
        if self.taken < len(self.chunks):
            self.taken += 1
            more = self.taken < len(self.chunks) or self.disconnect_after
            return {"type": "http.request", "body": self.chunks[self.taken - 1], "more_body": more}
        return {"type": "http.disconnect"}


class Echo:
    """An app that reads the body the way Starlette does and answers its length."""

    def __init__(self) -> None:
        self.called = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.called = True
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})


async def call(upload: Upload, headers: list[tuple[bytes, bytes]] | None = None) -> tuple[Echo, list[Message]]:
    app = Echo()
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {"type": "http", "method": "POST", "path": "/workflows", "headers": headers or []}
    await BodySizeLimit(app, max_body_size=LIMIT)(scope, upload.receive, send)
    return app, sent


def status_and_body(sent: list[Message]) -> tuple[int, bytes]:
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def test_a_body_within_the_limit_reaches_the_app_whole() -> None:
    app, sent = await call(Upload([b"a" * 60, b"b" * 40]))
    assert app.called and status_and_body(sent) == (200, b"100")


async def test_a_body_over_the_limit_is_413_with_a_json_error_and_the_app_never_runs() -> None:
    upload = Upload([b"a" * 60, b"b" * 41, b"c" * 1000, b"d" * 1000])
    app, sent = await call(upload)
    status, body = status_and_body(sent)
    assert status == 413 and not app.called
    assert json.loads(body) == {
        "errorCode": "VALIDATION",
        "errorMessage": f"the request body is larger than the limit of {LIMIT} bytes",
    }
    assert upload.taken == 2  # stopped at the first chunk past the limit


async def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    upload = Upload([b"a" * 10])
    app, sent = await call(upload, [(b"content-length", str(LIMIT + 1).encode())])
    assert status_and_body(sent)[0] == 413 and upload.taken == 0 and not app.called
    app, sent = await call(Upload([b"a"]), [(b"content-length", b"9" * 5000)])
    assert status_and_body(sent)[0] == 413


async def test_a_client_gone_mid_body_starts_nothing() -> None:
    app, sent = await call(Upload([b"a" * 10], disconnect_after=True))
    assert not app.called and sent == []


async def test_other_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def nothing() -> Message:
        raise AssertionError("the body was read")

    async def ignore(message: Message) -> None:
        pass

    await BodySizeLimit(app, max_body_size=LIMIT)({"type": "lifespan"}, nothing, ignore)
    assert seen == ["lifespan"]
