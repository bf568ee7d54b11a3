"""Options the client commands share: where the server is, how to authenticate, how often to look.

They sit on each command (`orchestration workflows list --server …`), each with its environment
variable, so that a script sets them once (`ORCHESTRATION_URL`, `ORCHESTRATION_TOKEN`, …).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
import httpx

from orchestration.client._auth import BearerToken, ClientCredentials
from orchestration.client._http import DEFAULT_SERVER, Api


class Seconds(click.FloatRange):
    """A number of seconds, finite and at most a day: NaN and infinity pass a range's bounds."""

    name = "seconds"

    def __init__(self, *, minimum: float, min_open: bool = False) -> None:
        super().__init__(min=minimum, max=86_400, min_open=min_open)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        seconds = super().convert(value, param, ctx)
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return seconds


DEFAULT_SCOPE = "orchestration:read orchestration:write"


def _url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise click.BadParameter(f"{value!r} is not an http(s) URL, e.g. {DEFAULT_SERVER}")
    return value


_CONNECTION = (
    click.option(
        "--server",
        envvar="ORCHESTRATION_URL",
        show_envvar=True,
        default=DEFAULT_SERVER,
        show_default=True,
        callback=_url,
        help="The orchestration service (behind a Formance gateway: https://<stack>/api/orchestration).",
    ),
    click.option("--token", envvar="ORCHESTRATION_TOKEN", show_envvar=True, help="A bearer token (JWT) to send."),
    click.option(
        "--client-id",
        envvar="ORCHESTRATION_CLIENT_ID",
        show_envvar=True,
        help="OAuth2 client credentials: fetch a token from --issuer with this client…",
    ),
    click.option("--client-secret", envvar="ORCHESTRATION_CLIENT_SECRET", show_envvar=True, help="…and this secret."),
    click.option(
        "--issuer",
        envvar="ORCHESTRATION_ISSUER",
        show_envvar=True,
        callback=_url,
        help="The OpenID issuer of the client credentials (a Formance stack's: https://<stack>/api/auth).",
    ),
    click.option(
        "--scope",
        envvar="ORCHESTRATION_SCOPE",
        show_envvar=True,
        default=DEFAULT_SCOPE,
        show_default=True,
        help="The scopes asked of the issuer with client credentials.",
    ),
    click.option(
        "--timeout",
        envvar="ORCHESTRATION_TIMEOUT",
        show_envvar=True,
        type=Seconds(minimum=0, min_open=True),
        default=30.0,
        show_default=True,
        help="Seconds to wait for each answer (of the server or the issuer).",
    ),
)


@dataclass(frozen=True)
class _Credentials:
    token: str | None
    client_id: str | None
    client_secret: str | None
    issuer: str | None
    scope: str
    timeout: float

    def auth(self) -> httpx.Auth | None:
        if self.token and (self.client_id or self.client_secret):
            raise click.UsageError("give --token or client credentials (--client-id, --client-secret), not both")
        if self.token:
            return BearerToken(self.token)
        if not (self.client_id or self.client_secret):
            return None
        if self.client_id and self.client_secret and self.issuer:
            return ClientCredentials(
                issuer=self.issuer,
                client_id=self.client_id,
                client_secret=self.client_secret,
                scope=self.scope,
                timeout=self.timeout,
            )
        needed = (("--client-id", self.client_id), ("--client-secret", self.client_secret), ("--issuer", self.issuer))
        missing = ", ".join(flag for flag, value in needed if not value)
        raise click.UsageError(f"client credentials need {missing} too (or their ORCHESTRATION_* variables)")


def with_api(func: Callable[..., None]) -> Callable[..., None]:
    """Add the connection options to a command, and call it with `api`, an open `Api`."""

    @functools.wraps(func)
    def command(
        *args: Any,
        server: str,
        token: str | None,
        client_id: str | None,
        client_secret: str | None,
        issuer: str | None,
        scope: str,
        timeout: float,
        **kwargs: Any,
    ) -> None:
        auth = _Credentials(token, client_id, client_secret, issuer, scope, timeout).auth()
        with Api(server, auth=auth, timeout=timeout) as api:
            func(*args, api=api, **kwargs)

    for option in reversed(_CONNECTION):
        command = option(command)
    return command


def name_value_pairs(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    """A repeated `NAME=VALUE` option, as a dict (the value may hold `=`)."""
    pairs = {}
    for value in values:
        name, equals, text = value.partition("=")
        if not equals or not name:
            raise click.BadParameter(f"{value!r} is not NAME=VALUE", ctx, param)
        pairs[name] = text
    return pairs


POLL_INTERVAL = click.option(
    "--interval",
    type=Seconds(minimum=0.01),
    default=0.5,
    show_default=True,
    help="Seconds between two looks at the instance.",
)
