"""Trigger expressions at work: compile at creation, evaluate filters and variables (spec §11, §12).

The evaluator of `orchestration.expr` is pure and synchronous; `link(object, name)` needs an
HTTP GET. So an evaluation that reaches a link it has not fetched stops, the link is fetched,
and the expression runs again with it known: a handful of runs at most (`link` calls are
bounded by the evaluator's limits), each one cheap and none of them doing I/O.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from orchestration import expr
from orchestration.config import StackSettings, parse_origin
from orchestration.errors import ValidationFailed
from orchestration.limits import check_storable
from orchestration.stack import StackClient, StackError, origin_of

log = logging.getLogger(__name__)

LINK_ATTEMPTS = 3
"""Tries of one `link()` GET that got no answer or a 5xx/429, before the evaluation fails."""
LINK_RETRY_PAUSE = 0.5
"""Seconds before the second try; doubled before the third."""


compiled = lru_cache(maxsize=4096)(expr.compile_expr)
"""Programs of the expressions in use: every event evaluates them again."""


class EvaluationFailed(Exception):
    """An expression could not be evaluated; the message is the one shown to users."""


QUOTED = 200
"""Characters of an expression (and of its failing line) that an error message quotes."""


def compile_checked(source: str) -> expr.Program:
    """Compile an expression of a trigger being created (E13): a syntax error is a 400."""
    try:
        return expr.compile_expr(source)
    except expr.ExprError as exc:
        quoted = source if len(source) <= QUOTED else source[:QUOTED] + "…"
        located = str(exc) if len(exc.source_line) <= QUOTED else exc.message + f" ({exc.line}:{exc.column})"
        raise ValidationFailed(f"validating data: error compiling expression '{quoted}': {located}") from None


MAX_LINK_URI = 2048
"""Longest URI `link()` follows (longer ones are refused before anything is sent)."""


class LinkFetcher:
    """Follows `link()` URIs (§12.3). The gateway's credentials go to the gateway only: a URI of
    `--stack-url`'s origin is read with the stack client (OAuth2 when configured), one of
    `--link-origins` without credentials, any other is refused, so that an event or a `/test`
    payload can neither take the gateway's token elsewhere nor make the server read any URL."""

    def __init__(self, stack: StackClient, anonymous: StackClient, settings: StackSettings) -> None:
        self._stack = stack
        self._anonymous = anonymous
        self._stack_origin = origin_of(settings.url) if settings.url else None
        self._other_origins = [parse_origin(entry) for entry in settings.link_origins]

    async def fetch(self, uri: str) -> object:
        """The `data` object of the resource at `uri`."""
        client = self._client_for(uri)
        for attempt in range(1, LINK_ATTEMPTS + 1):
            try:
                body = await client.request("GET", uri)
                break
            except StackError as exc:
                if not exc.retryable or attempt == LINK_ATTEMPTS:
                    raise EvaluationFailed(_link_error(uri, exc)) from None
                await asyncio.sleep(LINK_RETRY_PAUSE * 2 ** (attempt - 1))
        if not isinstance(body, dict):
            raise EvaluationFailed(f"decoding response: the resource at {uri} is not a JSON object")
        data = body.get("data")
        try:
            check_storable(data)  # it may become a variable, an error message, an answer
        except ValidationFailed as exc:
            raise EvaluationFailed(f"decoding response: {exc.message}") from None
        return data

    def _client_for(self, uri: str) -> StackClient:
        origin = origin_of(uri) if len(uri) <= MAX_LINK_URI else None
        if origin is None:
            raise EvaluationFailed(
                f"reading resource: {uri[:200]}: not an http(s) URI of at most {MAX_LINK_URI} characters"
            )
        if origin == self._stack_origin:
            return self._stack
        scheme, host, port = origin
        if any(s == scheme and h == host and p in (None, port) for s, h, p in self._other_origins):
            return self._anonymous
        raise EvaluationFailed(f"reading resource: {uri}: link() reads only --stack-url and --link-origins")


def _link_error(uri: str, exc: StackError) -> str:
    if exc.status == 0:
        return f"reading resource: {uri}: {exc.message.removeprefix(f'GET {uri}: ')}"
    return f"unexpected status code when reading resource: {exc.status}"


class _Unfetched(Exception):
    def __init__(self, uri: str) -> None:
        super().__init__(uri)
        self.uri = uri


def _link_uri(subject: object, name: str) -> str:
    """The one link called `name` of the object (§12.3 steps 2 and 4)."""
    links = subject.get("links") if isinstance(subject, dict) else None
    uris: list[str] = [
        link["uri"]
        for link in (links if isinstance(links, list) else [])
        if isinstance(link, dict) and link.get("name") == name and isinstance(link.get("uri"), str)
    ]
    if not uris:
        raise EvaluationFailed(f"link '{name}' not defined for object")
    if len(uris) > 1:
        raise EvaluationFailed(f"multiple link '{name}' found for object")
    return uris[0]


async def evaluate(program: expr.Program, payload: object, links: LinkFetcher | None) -> object:
    """The expression's value for an event payload; `EvaluationFailed` saying why not."""
    fetched: dict[str, object] = {}

    def link(subject: object, name: str) -> object:
        uri = _link_uri(subject, name)
        if uri in fetched:
            return fetched[uri]
        raise _Unfetched(uri)

    while True:
        try:
            return expr.evaluate(program, event=payload, link=link if links is not None else None)
        except expr.ExprError as exc:
            raise EvaluationFailed(str(exc)) from None
        except _Unfetched as need:
            assert links is not None
            fetched[need.uri] = await links.fetch(need.uri)


@dataclass(frozen=True)
class FilterResult:
    match: bool
    error: str | None = None


async def run_filter(source: str | None, payload: object, links: LinkFetcher | None) -> FilterResult | None:
    """None without a filter (`""` is none either, Q-44); a match only for boolean `true`."""
    if not source:
        return None
    try:
        value = await evaluate(compiled(source), payload, links)
    except (expr.ExprError, EvaluationFailed) as exc:
        return FilterResult(False, str(exc))
    return FilterResult(value is True)


@dataclass(frozen=True)
class VariableResult:
    value: str | None = None
    error: str | None = None


async def run_variables(
    sources: dict[str, str] | None, payload: object, links: LinkFetcher | None
) -> dict[str, VariableResult]:
    """Each variable's string (§11.6) or error."""
    results: dict[str, VariableResult] = {}
    for name, source in (sources or {}).items():
        try:
            value = await evaluate(compiled(source), payload, links)
            results[name] = VariableResult(value=expr.stringify(value))
        except (expr.ExprError, EvaluationFailed) as exc:
            results[name] = VariableResult(error=str(exc))
    return results


def first_error(results: dict[str, VariableResult]) -> tuple[str, str] | None:
    """The first variable that failed, with its error."""
    for name, result in results.items():
        if result.error is not None:
            return name, result.error
    return None


def variables_of(results: dict[str, VariableResult]) -> dict[str, Any]:
    return {name: result.value or "" for name, result in results.items()}
