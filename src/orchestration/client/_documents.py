"""Documents read from a file or standard input (`-`): JSON, or else YAML, as the JSON they convert to.

Within the server's bounds (`orchestration.limits`): nesting, finite numbers, storable text,
integers exact. YAML is read as the server reads it: dates stay strings, no aliases, only the
tags JSON can spell.
"""

from __future__ import annotations

from typing import IO, Any

import click

from orchestration.errors import ValidationFailed
from orchestration.limits import check_storable, load_json
from orchestration.yaml_as_json import NOT_YAML, load_yaml


class DocumentError(click.ClickException):
    """The text is not a document (exit code 1): the message says where and why."""


def source_name(stream: IO[bytes]) -> str:
    """How messages call a file given on the command line (`-`: standard input)."""
    name = getattr(stream, "name", "-")
    return "standard input" if name in ("-", "<stdin>") else str(name)


def read_document(stream: IO[bytes]) -> Any:
    """Read and parse a whole file.

    Raises:
        DocumentError: not UTF-8, neither JSON nor YAML, or beyond the server's bounds.
    """
    name = source_name(stream)
    try:
        text = stream.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{name} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return _parse_document(text, name)


def _parse_document(text: str, name: str) -> Any:
    """JSON, or else YAML.

    Raises:
        DocumentError: neither, or beyond the server's bounds.
    """
    try:
        return load_json(text)
    except ValidationFailed as exc:
        raise DocumentError(f"{name}: {exc.message}") from None
    except ValueError as exc:
        json_error = exc
    try:
        return _load_yaml(text)
    except ValidationFailed as exc:
        if not exc.message.startswith(NOT_YAML):  # YAML, beyond the bounds
            raise DocumentError(f"{name}: {exc.message}") from None
        if text.lstrip().startswith(("{", "[")):
            raise DocumentError(f"{name} is not JSON: {json_error}") from None
        raise DocumentError(f"{name} is not YAML: {exc.message.removeprefix(NOT_YAML)}") from None


def _load_yaml(text: str) -> Any:
    document = load_yaml(text)
    check_storable(document)
    return document
