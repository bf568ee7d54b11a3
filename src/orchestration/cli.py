"""Command line: `orchestration serve | worker | migrate | version`.

Every flag can also be given as an environment variable: upper case, `-` → `_`
(`--postgres-uri` → `POSTGRES_URI`); flags win over the environment.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from orchestration import __version__, logs
from orchestration.config import DEFAULT_DATA_DIR, DEFAULT_LISTEN, Settings


def _bool_option(name: str, default: bool, help: str) -> Callable[[Any], Any]:
    # `--worker`, `--worker=false` and `WORKER=false` all work, as with the original's flags.
    return click.option(name, type=click.BOOL, is_flag=False, flag_value=True, default=default, help=help)


def _storage_options(func: Any) -> Any:
    for option in reversed(
        [
            click.option("--postgres-uri", default=None, help="PostgreSQL URI; without it, embedded SQLite."),
            click.option(
                "--data-dir", type=click.Path(path_type=Path), default=DEFAULT_DATA_DIR, show_default=True,
                help="Directory of the embedded SQLite files.",
            ),
        ]
    ):
        func = option(func)
    return func


def _engine_options(func: Any) -> Any:
    for option in reversed(
        [
            click.option("--executor-id", default=None, help="Engine name of this process (unique per process)."),
            click.option("--stack-url", default="", help="Formance gateway URL (Ledger, Wallets, Payments)."),
            click.option("--stack-client-id", default="", help="OAuth2 client id for the gateway."),
            click.option("--stack-client-secret", default="", help="OAuth2 client secret for the gateway."),
            click.option(
                "--stack-timeout", type=float, default=30.0, show_default=True,
                help="Seconds one call to the gateway may take.",
            ),
            click.option(
                "--activity-max-attempts", type=click.IntRange(min=1), default=15, show_default=True,
                help="Attempts of one activity before its stage fails.",
            ),
            click.option(
                "--activity-retry-initial", type=float, default=2.0, show_default=True,
                help="Seconds to wait after a first failed attempt; the wait doubles.",
            ),
            click.option(
                "--activity-retry-max", type=float, default=200.0, show_default=True,
                help="Longest wait between two attempts, in seconds.",
            ),
            click.option(
                "--signal-poll-interval", type=float, default=0.5, show_default=True,
                help="Seconds between looks for events and aborts sent through other processes, "
                "and for parked instances whose wait is over (PostgreSQL).",
            ),
            click.option(
                "--heartbeat-interval", type=float, default=2.0, show_default=True,
                help="Seconds between two heartbeats of this worker.",
            ),
            click.option(
                "--takeover-after", type=float, default=10.0, show_default=True,
                help="Seconds of silence after which a worker's instances are resumed by the others.",
            ),
            _bool_option("--debug", False, "Debug logging."),
            _bool_option("--json-formatting-logger", False, "JSON log lines."),
        ]
    ):
        func = option(func)
    return func


def _settings(**options: Any) -> Settings:
    logs.configure(debug=options.get("debug", False), json_format=options.get("json_formatting_logger", False))
    return Settings(
        listen=options.get("listen", DEFAULT_LISTEN),
        postgres_uri=options.get("postgres_uri") or None,
        data_dir=options.get("data_dir", DEFAULT_DATA_DIR),
        worker=options.get("worker", True),
        executor_id=options.get("executor_id") or None,
        debug=options.get("debug", False),
        json_logs=options.get("json_formatting_logger", False),
        stack_url=options.get("stack_url", ""),
        stack_client_id=options.get("stack_client_id", ""),
        stack_client_secret=options.get("stack_client_secret", ""),
        stack_timeout=timedelta(seconds=options.get("stack_timeout", 30.0)),
        activity_max_attempts=options.get("activity_max_attempts", 15),
        activity_retry_initial=timedelta(seconds=options.get("activity_retry_initial", 2.0)),
        activity_retry_max=timedelta(seconds=options.get("activity_retry_max", 200.0)),
        wait_timeout=timedelta(seconds=options.get("wait_timeout", 60.0)),
        signal_poll_interval=timedelta(seconds=options.get("signal_poll_interval", 0.5)),
        heartbeat_interval=timedelta(seconds=options.get("heartbeat_interval", 2.0)),
        takeover_after=timedelta(seconds=options.get("takeover_after", 10.0)),
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Formance Orchestration (Flows) API v1/v2 on a durable engine."""


@main.command()
@click.option("--listen", default=DEFAULT_LISTEN, show_default=True, help="HTTP listen address host:port.")
@_bool_option("--worker", True, "Also run the engine worker in this process.")
@click.option(
    "--wait-timeout", type=float, default=60.0, show_default=True,
    help="Seconds `?wait=true` waits for the end of an instance.",
)
@_storage_options
@_engine_options
def serve(**options: Any) -> None:
    """HTTP API, with the engine worker unless --worker=false."""
    from orchestration.server import serve as run

    settings = _settings(**options)
    if not settings.worker and not settings.postgres_uri:
        # Embedded, one process runs everything: nothing would ever run what it starts.
        raise click.UsageError("--worker=false needs --postgres-uri (API-only servers share a PostgreSQL database)")
    run(settings)


@main.command()
@_storage_options
@_engine_options
def worker(**options: Any) -> None:
    """Engine worker only (no HTTP), for scale-out on PostgreSQL."""
    from orchestration.server import run_worker

    run_worker(_settings(**options))


@main.command()
@_storage_options
@_bool_option("--debug", False, "Debug logging.")
def migrate(**options: Any) -> None:
    """Apply the database migrations and exit."""
    from orchestration.server import migrate_all

    migrate_all(_settings(**options))
    click.echo("database is up to date")


@main.command()
def version() -> None:
    """Print the version."""
    click.echo(f"Version: {__version__}")


def _auto_envvars() -> None:
    """`--postgres-uri` ↔ POSTGRES_URI: click's prefix rule gives `_POSTGRES_URI` with an
    empty prefix, so name each option's variable explicitly."""
    for command in main.commands.values():
        for param in command.params:
            if isinstance(param, click.Option) and param.envvar is None:
                param.envvar = param.name.upper() if param.name else None


_auto_envvars()
