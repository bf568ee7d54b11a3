"""The Dockerfile and docker-compose.yml name only commands, flags, settings and paths that exist.

No image registry is reachable where the tests run, so the images are not built here: this
checks what they say against the command line and the repository instead.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import click
import yaml

from orchestration import cli
from orchestration.api import create_app

ROOT = Path(__file__).resolve().parents[1]


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def command_options(name: str) -> tuple[click.Command, set[str]]:
    command = cli.main.commands[name]
    return command, {opt for param in command.params for opt in getattr(param, "opts", [])}


def envvars_of(command: click.Command) -> set[str]:
    return {param.envvar for param in command.params if isinstance(getattr(param, "envvar", None), str)}


def check_invocation(args: list[str], env: dict[str, Any]) -> None:
    """`args` is an `orchestration` command line; `env` its environment: both must be known."""
    assert args and args[0] in cli.main.commands, f"no command {args[:1]}"
    command, options = command_options(args[0])
    for arg in args[1:]:
        if arg.startswith("--"):
            assert arg.split("=", 1)[0] in options, f"{args[0]} takes no {arg}"
    unknown = set(env) - envvars_of(command)
    assert not unknown, f"{args[0]} reads no {sorted(unknown)}"


def test_the_image_runs_orchestration_serve_as_a_user_with_known_settings() -> None:
    instructions = dockerfile()
    entrypoint = json.loads(next(a for i, a in instructions if i == "ENTRYPOINT"))
    command = json.loads(next(a for i, a in instructions if i == "CMD"))
    assert entrypoint == ["orchestration"] and command == ["serve"]
    env = dict(pair.split("=", 1) for i, a in instructions if i == "ENV" for pair in shlex.split(a))
    check_invocation(command, env)
    user = [a for i, a in instructions if i == "USER"]
    assert user and user[-1] not in ("root", "0")
    exposed = next(a for i, a in instructions if i == "EXPOSE")
    assert env["LISTEN"].endswith(f":{exposed}")
    for i, a in instructions:
        if i == "COPY":
            *sources, _ = a.split()
            assert all((ROOT / s).exists() for s in sources), a
    probe = next(a for i, a in instructions if i == "HEALTHCHECK")
    path = re.search(r"127\.0\.0\.1:\d+(/[\w/]+)", probe).group(1)  # type: ignore[union-attr]
    app = create_app(services=None, version="test", max_body_size=1)  # type: ignore[arg-type]
    assert path in app.openapi()["paths"]


def test_every_compose_service_built_here_runs_a_known_command() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    ours = {name: service for name, service in compose["services"].items() if service.get("build") == "."}
    assert {"migrate", "api", "worker-1", "worker-2"} <= set(ours)
    for service in ours.values():
        check_invocation(service["command"], service.get("environment", {}))
    commands = [service["command"][0] for service in ours.values()]
    assert commands.count("worker") == 2 and "serve" in commands
    assert "--worker=false" in ours["api"]["command"]  # the workers run the instances
