"""Command line: `orchestration serve | worker | migrate | version`, and the API's client
`orchestration workflows | instances | triggers` (`orchestration.client`).

The options of each server command are generated from the declarations in `config.py`: every
setting is a flag and an environment variable (upper case, `-` → `_`: `--postgres-uri`
↔ `POSTGRES_URI`); flags win over the environment. `--help` shows both, with defaults.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from orchestration import __version__, logs
from orchestration.config import Command, Flag, Settings, flag_of
from orchestration.durations import format_go_duration, parse_go_duration

F = TypeVar("F", bound=Callable[..., Any])


class Duration(click.ParamType):  # type: ignore[type-arg]  # generic in click's stubs only
    """A Go duration (`500ms`, `1m30s`) or a number of seconds (`0.5`); never negative, and
    with `nonzero`, never zero."""

    name = "duration"

    def __init__(self, *, nonzero: bool = False) -> None:
        self.nonzero = nonzero

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> timedelta:
        parsed = value if isinstance(value, timedelta) else self._parse(str(value).strip(), param, ctx)
        if parsed < timedelta(0) or (self.nonzero and parsed == timedelta(0)):
            self.fail(f"{value!r} must be {'more than' if self.nonzero else 'at least'} zero", param, ctx)
        return parsed

    def _parse(self, text: str, param: click.Parameter | None, ctx: click.Context | None) -> timedelta:
        try:
            return timedelta(seconds=float(text))
        except (ValueError, OverflowError):
            pass
        try:
            return parse_go_duration(text)
        except ValueError as exc:
            self.fail(f"{text!r} is neither a Go duration (500ms, 1m30s) nor a number of seconds: {exc}", param, ctx)


class CheckedText(click.ParamType):  # type: ignore[type-arg]
    """Text that its setting's `check` accepts, checked before anything starts."""

    name = "text"

    def __init__(self, check: Callable[[str], object]) -> None:
        self.check = check

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            self.check(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        return str(value)


class TextList(click.ParamType):  # type: ignore[type-arg]
    """Values separated by commas or spaces (as the original reads list flags from the
    environment), each one accepted by the setting's `check` when it has one."""

    name = "list"

    def __init__(self, check: Callable[[str], object] | None) -> None:
        self.check = check

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        parts = tuple(part for part in re.split(r"[,\s]+", str(value)) if part)
        for part in parts:
            try:
                if self.check is not None:
                    self.check(part)
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
        return parts


@dataclasses.dataclass(frozen=True)
class _Declared:
    """One setting as the command line sees it: where it lives in `Settings`, its type, its flag."""

    group: str | None
    """The `Settings` field holding it (`engine`, `stack`, …), None for a top-level setting."""
    attribute: str
    type: Any
    default: Any
    flag: Flag

    @property
    def param(self) -> str:
        """The option's name in the parsed options (`postgres_uri`)."""
        return self.flag.envvar.lower()


def _declared(cls: type[Any], group: str | None = None) -> Iterator[_Declared]:
    hints = typing.get_type_hints(cls)
    for declared in dataclasses.fields(cls):
        if "flag" in declared.metadata:
            yield _Declared(group, declared.name, hints[declared.name], declared.default, flag_of(declared))
        elif dataclasses.is_dataclass(hints[declared.name]):
            yield from _declared(hints[declared.name], declared.name)


SETTINGS = tuple(_declared(Settings))


def _click_option(setting: _Declared) -> Callable[[F], F]:
    flag, kind, default = setting.flag, setting.type, setting.default
    extra: dict[str, Any] = {}
    if flag.multiple:
        extra = {"type": TextList(flag.check), "multiple": True}
    elif kind is bool:
        # `--worker`, `--worker=false` and `WORKER=false` all work, as with the original's flags.
        extra = {"type": click.BOOL, "is_flag": False, "flag_value": True}
    elif kind is int:
        extra = {"type": click.IntRange(min=flag.minimum)}
    elif kind is timedelta:
        extra = {"type": Duration(nonzero=flag.nonzero), "show_default": format_go_duration(default)}
    elif flag.check is not None:
        extra = {"type": CheckedText(flag.check)}
    elif kind is Path:
        extra = {"type": click.Path(path_type=Path)}
    return click.option(
        flag.name,
        setting.param,
        default=default,
        help=flag.help,
        envvar=flag.envvar,
        show_envvar=True,
        show_default=extra.pop("show_default", not flag.secret and default not in (None, "")),
        **extra,
    )


def _file_option(setting: _Declared) -> Callable[[F], F]:
    """`--<secret>-file`: the secret read from a file, as container platforms mount secrets."""
    flag = setting.flag
    lines = " (one per line)" if flag.multiple else ""
    return click.option(
        f"{flag.name}-file",
        f"{setting.param}_file",
        default=None,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help=f"A file holding {flag.name}{lines}; wins over {flag.name}.",
        envvar=f"{flag.envvar}_FILE",
        show_envvar=True,
    )


def settings_options(command: Command) -> Callable[[F], F]:
    """Decorate a command with the options of every setting it takes (and of each secret, its
    `-file` variant)."""

    def decorate(func: F) -> F:
        for setting in reversed(SETTINGS):
            if command in setting.flag.commands:
                if setting.flag.secret:
                    func = _file_option(setting)(func)
                func = _click_option(setting)(func)
        return func

    return decorate


def _secret_from_file(setting: _Declared, path: Path) -> Any:
    text = path.read_text()
    if setting.flag.multiple:
        return tuple(line.strip() for line in text.splitlines() if line.strip())
    return text.rstrip("\r\n")


def settings_from(options: dict[str, Any]) -> Settings:
    """The `Settings` of parsed options; settings a command does not take keep their default."""
    top: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {}
    for setting in SETTINGS:
        if setting.param not in options:
            continue
        value = options[setting.param]
        secret_file = options.get(f"{setting.param}_file")
        if secret_file is not None:
            value = _secret_from_file(setting, secret_file)
        elif setting.flag.multiple:
            value = tuple(part for parts in value for part in parts)
        if setting.type == (str | None) and value == "":
            value = None  # `POSTGRES_URI=` means unset
        if setting.group is None:
            top[setting.attribute] = value
        else:
            groups.setdefault(setting.group, {})[setting.attribute] = value
    hints = typing.get_type_hints(Settings)
    try:
        for group, values in groups.items():
            top[group] = hints[group](**values)
        settings = Settings(**top)
    except ValueError as exc:  # settings that do not hold together
        raise click.UsageError(str(exc)) from None
    logs.configure(debug=settings.logs.debug, json_format=settings.logs.json)
    return settings


def settings_table() -> str:
    """The settings as a Markdown table, as the README shows them (a test keeps the two equal)."""
    rows = ["| flag | env | default | commands | meaning |", "|---|---|---|---|---|"]
    for setting in SETTINGS:
        flag, default = setting.flag, setting.default
        if isinstance(default, timedelta):
            shown = f"`{format_go_duration(default)}`"
        elif default is None or default in ("", ()):
            shown = "—"
        else:
            shown = f"`{str(default).lower() if isinstance(default, bool) else default}`"
        commands = ", ".join(sorted(flag.commands))
        rows.append(f"| `{flag.name}` | `{flag.envvar}` | {shown} | {commands} | {flag.help} |")
    return "\n".join(rows) + "\n"


class _Commands(click.Group):
    """The server's commands, and the API client's groups, imported only when one is run (or
    listed): a server's start does not load the client (rich, its modules)."""

    _CLIENT = ("workflows", "instances", "triggers")

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *self._CLIENT]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._CLIENT:
            from orchestration import client

            command: click.Command = getattr(client, cmd_name)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120})
@click.version_option(__version__, "--version", "-v", prog_name="orchestration", message="Version: %(version)s")
def main() -> None:
    """Formance Orchestration (Flows) API v1/v2 on a durable engine."""


@main.command()
@settings_options(Command.SERVE)
def serve(**options: Any) -> None:
    """HTTP API, with the engine worker unless --worker=false."""
    from orchestration.server import StartupError
    from orchestration.server import serve as run

    settings = settings_from(options)
    if not settings.worker and settings.storage.embedded:
        # Embedded, one process runs everything: nothing would ever run what it starts.
        raise click.UsageError("--worker=false needs --postgres-uri (API-only servers share a PostgreSQL database)")
    try:
        run(settings)
    except StartupError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@settings_options(Command.WORKER)
def worker(**options: Any) -> None:
    """Engine worker only (no HTTP), for scale-out on PostgreSQL."""
    from orchestration.server import StartupError, run_worker

    try:
        run_worker(settings_from(options))
    except StartupError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@settings_options(Command.MIGRATE)
def migrate(**options: Any) -> None:
    """Apply the database migrations and exit."""
    from orchestration.server import StartupError, migrate_all

    try:
        migrate_all(settings_from(options))
    except StartupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("database is up to date")


@main.command()
def version() -> None:
    """Print the version."""
    click.echo(f"Version: {__version__}")
