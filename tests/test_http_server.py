"""`HttpServer`: a request whose head (or trailers) reach `MAX_HEAD_BYTES` is refused with 431
however it arrives, nothing below the bound is, bodies are not counted in it, a refusal is never
read as an earlier request's answer, and the server keeps answering."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn

from orchestration.http_server import MAX_HEAD_BYTES, HttpServer


async def _echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers 200 with the sizes of the request's headers and body."""
    if scope["type"] != "http":
        return
    if scope["path"] == "/slow":
        await asyncio.sleep(0.5)
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    sizes = json.dumps({"headers": sum(len(k) + len(v) for k, v in scope["headers"]), "body": len(body)}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(sizes)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": sizes})


@pytest.fixture
async def port() -> AsyncIterator[int]:
    config = uvicorn.Config(_echo, host="127.0.0.1", port=0, log_level="warning", lifespan="off", timeout_keep_alive=1)
    server = HttpServer(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield server.servers[0].sockets[0].getsockname()[1]
    server.exit_soon()
    await asyncio.wait_for(serving, 10)


async def _exchange(port: int, *pieces: bytes) -> bytes:
    """Send `pieces` one write each, then read until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    except ConnectionError:
        return b""  # refused and closed while the rest was still being sent
    finally:
        writer.close()


def _request(header_bytes: int = 0, body: bytes = b"") -> bytes:
    big = b"x-big: " + b"x" * header_bytes + b"\r\n" if header_bytes else b""
    return (b"POST /echo HTTP/1.1\r\nhost: t\r\nconnection: close\r\n" + big
            + b"content-length: %d\r\n\r\n" % len(body) + body)


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


async def test_a_head_just_under_the_bound_is_answered(port: int) -> None:
    answer = await _exchange(port, _request(MAX_HEAD_BYTES - 200))
    assert _status(answer) == 200, answer[:200]


@pytest.mark.parametrize("piece", [1_000, 60_000, MAX_HEAD_BYTES + 1])
async def test_a_head_over_the_bound_is_431_however_it_is_cut(port: int, piece: int) -> None:
    request = _request(MAX_HEAD_BYTES + 10)
    answer = await _exchange(port, *(request[i : i + piece] for i in range(0, len(request), piece)))
    assert _status(answer) == 431, answer[:200]
    error = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert error == {
        "errorCode": "VALIDATION",
        "errorMessage": f"request line, headers and trailers larger than the limit of {MAX_HEAD_BYTES} bytes",
    }
    assert _status(await _exchange(port, _request())) == 200


@pytest.mark.parametrize("target", [b"/echo/\xe2\x80\xae", b"/\xff\xfe", b"/echo bad"])
async def test_a_request_that_does_not_parse_is_a_json_400(port: int, target: bytes) -> None:
    answer = await _exchange(port, b"GET " + target + b" HTTP/1.1\r\nhost: t\r\n\r\n")
    assert _status(answer) == 400, answer[:200]
    assert b"content-type: application/json" in answer.split(b"\r\n\r\n", 1)[0]
    error = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert error["errorCode"] == "VALIDATION" and error["errorMessage"].startswith("malformed HTTP request: ")
    assert _status(await _exchange(port, _request())) == 200


async def test_a_head_of_megabytes_is_refused_without_reading_it_all(port: int) -> None:
    head = b"GET /echo HTTP/1.1\r\nhost: t\r\nx-big: "
    answer = await _exchange(port, head, *[b"x" * 1_000_000] * 4)
    assert answer == b"" or _status(answer) == 431, answer[:200]
    assert _status(await _exchange(port, _request())) == 200


async def test_a_body_is_not_counted_in_the_head(port: int) -> None:
    body = b"y" * (3 * MAX_HEAD_BYTES)
    answer = await _exchange(port, _request(1000, body))  # one write: head and body arrive together
    assert _status(answer) == 200, answer[:200]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["body"] == len(body)


async def test_each_request_of_a_connection_has_its_own_bound(port: int) -> None:
    keep = _request(MAX_HEAD_BYTES // 2).replace(b"connection: close", b"connection: keep-alive")
    answer = await _exchange(port, keep, keep, keep, _request(MAX_HEAD_BYTES // 2))
    assert answer.count(b"HTTP/1.1 200 OK") == 4, answer[:300]


async def test_the_request_line_counts_in_the_head(port: int) -> None:
    answer = await _exchange(port, b"GET /" + b"a" * MAX_HEAD_BYTES + b" HTTP/1.1\r\nhost: t\r\n\r\n")
    assert _status(answer) == 431, answer[:200]


async def test_trailers_count_in_the_bound(port: int) -> None:
    head = b"POST /echo HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nx-trailer: "
    answer = await _exchange(port, head, *[b"x" * 250_000] * 8, b"\r\n\r\n")
    assert answer == b"" or _status(answer) == 431, answer[:200]
    assert _status(await _exchange(port, _request())) == 200


async def test_a_chunked_body_of_many_chunks_is_not_counted(port: int) -> None:
    chunks = b"".join(b"%x\r\n" % 16_384 + b"z" * 16_384 + b"\r\n" for _ in range(40))
    head = b"POST /echo HTTP/1.1\r\nhost: t\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n"
    answer = await _exchange(port, head + chunks + b"0\r\n\r\n")
    assert _status(answer) == 200, answer[:200]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["body"] == 40 * 16_384


async def test_a_refusal_is_not_sent_while_an_earlier_request_is_answered(port: int) -> None:
    slow = b"GET /slow HTTP/1.1\r\nhost: t\r\n\r\n"
    # Its head follows in the same read: counted from the next read, refused at twice the bound.
    answer = await _exchange(port, slow + _request(2 * MAX_HEAD_BYTES + 10))
    # Only the slow request's answer, then the connection ends: nothing reads as its answer but its own.
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.count(b"HTTP/1.1") == 1, answer[:300]
