"""A bound on request bodies, enforced before any handler reads one (pure ASGI)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import body_too_large


class BodySizeLimit:
    """Answer 413 to a body larger than `max_body_size` bytes.

    A declared `Content-Length` over the limit is refused before a byte is read; otherwise the
    body is read here, at most up to the first chunk past the limit, and handed on whole. So a
    handler never holds more than the limit, and a client cannot make the server read more.
    """

    def __init__(self, app: ASGIApp, *, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_size:
            await body_too_large(self.max_body_size)(scope, receive, send)
            return
        try:
            body = await self._read_body(receive)
        except _ClientGone:
            return  # nobody to answer, and no half-received body may start anything
        if body is None:
            await body_too_large(self.max_body_size)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it is longer than the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone()
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_size:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


class _ClientGone(Exception):
    pass


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            if not (text.isascii() and text.isdigit()):
                return None  # the HTTP server refuses a malformed length itself
            digits = text.lstrip("0") or "0"
            return int(digits) if len(digits) <= 20 else 10**20  # longer than any limit: no need to convert
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read above, as one message; then whatever the server says next (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
