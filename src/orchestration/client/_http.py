"""The public v2 API of one server (prefix `/v2`), over httpx.

Every failure becomes the exception of its exit code, with a message that says what to do: the
server's own `errorMessage` for an API error (1), and for nothing answering (3) where to point.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import click
import httpx

from orchestration import __version__
from orchestration.client._errors import ApiError, Unreachable

API_PREFIX = "/v2"
DEFAULT_SERVER = "http://127.0.0.1:8080"

_NO_TOKEN = (
    "pass a token with --token (ORCHESTRATION_TOKEN), or client credentials with --client-id, "
    "--client-secret and --issuer"
)
_BAD_TOKEN = "check that the token has not expired and comes from the issuer the server trusts"


def path(*segments: str | int) -> str:
    """An API path from its segments, each quoted (`path("instances", id)` → `/instances/<id>`).

    Raises:
        click.UsageError: an empty segment (an empty ID would name the list, not one of its items).
    """
    if any(str(segment).strip() == "" for segment in segments):
        raise click.UsageError("an ID cannot be empty")
    try:
        return "".join("/" + quote(str(segment), safe="") for segment in segments)
    except UnicodeEncodeError as exc:
        raise _not_utf8(exc) from None


def _not_utf8(exc: UnicodeEncodeError) -> click.UsageError:
    """An argument of bytes that are not UTF-8 (the shell passes them as they are): it cannot be sent."""
    return click.UsageError(f"an argument is not UTF-8 text ({exc.object[exc.start : exc.end]!a} at {exc.start})")


@dataclass(frozen=True)
class Page:
    """One page of a v2 list: its items, and the cursor of the next page when there is one."""

    items: list[Any]
    next: str | None


class Api:
    """The v2 API of the server at `server` (`http://127.0.0.1:8080`, or a gateway's
    `https://<stack>/api/orchestration`)."""

    def __init__(self, server: str, *, auth: httpx.Auth | None = None, timeout: float = 30.0) -> None:
        base = server.rstrip("/")
        # As messages name it: credentials written into the URL stay out of them.
        self.server = str(httpx.URL(base).copy_with(userinfo=b"")) if "@" in base else base
        self._authenticated = auth is not None
        self._http = httpx.Client(
            base_url=base + API_PREFIX,
            auth=auth,
            timeout=timeout,
            headers={"User-Agent": f"orchestration-cli/{__version__}"},
        )

    def __enter__(self) -> Api:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._http.close()

    def call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        missing_ok: bool = False,
    ) -> Any:
        """Send one request; the answer's JSON body (None for `204`, and for `404` with `missing_ok`).

        Raises:
            ApiError: the server refused (4xx, 5xx) or answered something that is not JSON.
            Unreachable: nothing answered.
        """
        try:
            response = self._http.request(method, url, params=params, json=json)
        except UnicodeEncodeError as exc:  # in the body or the query, from an argument
            raise _not_utf8(exc) from None
        except httpx.TimeoutException:
            raise Unreachable(
                f"the server at {self.server} did not answer {method} {url} within --timeout "
                f"({self._http.timeout.read} s); try again, or check its health (GET /_healthcheck)"
            ) from None
        except httpx.TransportError as exc:
            raise Unreachable(
                f"cannot reach the server at {self.server}: {exc or type(exc).__name__}. Is it running? "
                "Point --server (ORCHESTRATION_URL) at it."
            ) from None
        except httpx.HTTPError as exc:  # an answer that cannot be read (a body that does not decode)
            raise ApiError(
                f"{method} {url} answered something this client cannot read ({type(exc).__name__}): "
                f"is {self.server} an orchestration server?"
            ) from None
        if response.status_code == 404 and missing_ok:
            return None
        if not response.is_success:
            raise ApiError(self._refusal(response))
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(self._not_the_api(response)) from None

    def data(
        self, method: str, url: str, *, json: Any = None, missing_ok: bool = False, kind: type = dict
    ) -> Any:
        """The `data` of an answer `{"data": …}`, an object (or with `kind=list`, an array); None
        for `404` with `missing_ok`."""
        body = self.call(method, url, json=json, missing_ok=missing_ok)
        if body is None and missing_ok:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("data"), kind):
            what = "an array" if kind is list else "an object"
            raise ApiError(f"{method} {url} answered without {what} as data: is {self.server} an orchestration server?")
        return body["data"]

    def page(
        self,
        url: str,
        *,
        filters: Mapping[str, str] | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> Page:
        """One page of a list; with `cursor`, the filters and page size are the cursor's (spec §2.4)."""
        params: dict[str, str | int] = {"cursor": cursor} if cursor else dict(filters or {})
        if page_size and not cursor:
            params["pageSize"] = page_size
        body = self.call("GET", url, params=params)
        page = body.get("cursor") if isinstance(body, dict) else None
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            raise ApiError(f"GET {url} answered without a cursor page: is {self.server} a v2 orchestration server?")
        following = page.get("next")
        more = page.get("hasMore") and isinstance(following, str) and following != cursor
        return Page(page["data"], following if more else None)

    def every(self, url: str, *, filters: Mapping[str, str] | None = None, page_size: int | None = None) -> list[Any]:
        """Every item of a list, page after page."""
        page = self.page(url, filters=filters, page_size=page_size)
        items = list(page.items)
        while page.next is not None:
            page = self.page(url, cursor=page.next)
            items += page.items
        return items

    def _refusal(self, response: httpx.Response) -> str:
        status, (code, message) = response.status_code, _error_of(response)
        if status == 404 and (not code or message == "404 page not found"):  # not an error of the API's
            return (
                f"{response.request.method} {response.request.url.path} is not a route of the server at "
                f"{self.server}: point --server at the orchestration service (behind a Formance gateway, "
                "https://<stack>/api/orchestration)"
            )
        answer = f"{status} {code}".strip()
        said = f"{answer}: {message or 'no reason given'}"
        if status == 401:
            return f"the server wants a valid token ({said}); {_BAD_TOKEN if self._authenticated else _NO_TOKEN}"
        if status == 403:
            return (
                f"the token does not allow this ({said}); reading needs the scope orchestration:read, "
                "anything else orchestration:write"
            )
        if status == 503:
            return f"the server is not ready ({said}); try again shortly"
        relative = response.request.url.path.removeprefix(self._http.base_url.path.rstrip("/"))
        listing = relative.split("/")[1] if relative.count("/") > 1 else ""
        if status == 404 and listing in ("workflows", "instances", "triggers"):
            return f"{message} ({answer}); `orchestration {listing} list` shows what there is"
        return f"{message or 'the server gave no reason'} ({answer})"

    def _not_the_api(self, response: httpx.Response) -> str:
        return (
            f"{response.request.method} {response.request.url.path} answered {response.status_code} with "
            f"something that is not JSON: is {self.server} an orchestration server?"
        )


def _error_of(response: httpx.Response) -> tuple[str, str]:
    """The body's `errorCode` and `errorMessage`, else no code and the body's first line of text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("errorMessage"), str):
        code = body.get("errorCode")
        return (code if isinstance(code, str) else "", body["errorMessage"])
    text = response.text.strip()
    return "", text.splitlines()[0][:200] if text else ""
