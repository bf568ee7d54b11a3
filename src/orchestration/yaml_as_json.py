"""YAML read as the JSON it converts to, with the bounds of `orchestration.limits`: workflow definitions
sent to the API, and documents the command-line client reads."""

from __future__ import annotations

from typing import Any

import yaml

from orchestration.errors import ValidationFailed
from orchestration.limits import MAX_DEPTH, too_deep

# libyaml when PyYAML was built with it: several times faster than the pure-Python parser.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# The tags whose values JSON can spell; `!!binary`, `!!set`, `!!omap`, `!!pairs` and
# `!!timestamp` would build bytes, sets, tuples or datetimes that cannot be stored as JSON.
_JSON_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "str", "seq", "map"))


NOT_YAML = "unmarshalling yaml: "
"""How the message of text that does not parse as YAML begins."""


class _JSONCompatibleLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """YAML that converts to JSON as the original does: dates stay strings."""


_JSONCompatibleLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_JSONCompatibleLoader.yaml_constructors = {
    tag: constructor for tag, constructor in yaml.SafeLoader.yaml_constructors.items() if tag in _JSON_TAGS
}
_JSONCompatibleLoader.yaml_constructors[None] = yaml.SafeLoader.yaml_constructors[None]  # unknown tag: an error


def load_yaml(raw: bytes | str) -> Any:
    """One YAML document as JSON-compatible values: string keys, no aliases, at most `MAX_DEPTH` deep."""
    try:
        _check_events(raw)
        document = yaml.load(raw, Loader=_JSONCompatibleLoader)  # a SafeLoader with fewer tags
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: an integer of more digits than Python converts
        raise ValidationFailed(f"{NOT_YAML}{exc}") from exc
    return _stringify_keys(document)


def _check_events(raw: bytes | str) -> None:
    """Refuse aliases and deep nesting from the event stream, before anything is built.

    The parser keeps its own stack, but composing and constructing recurse once per level; and
    an alias (`*name`) reuses a whole subtree, so a few hundred bytes could expand to gigabytes
    ("billion laughs") once converted to JSON.
    """
    depth = 0
    for event in yaml.parse(raw, Loader=_BaseLoader):
        if isinstance(event, yaml.AliasEvent):
            mark = event.start_mark
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise ValidationFailed(
                f"unmarshalling yaml: aliases are not accepted (*{event.anchor}{where}); "
                "write the value out where it is used"
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise too_deep()
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _stringify_keys(value: Any) -> Any:
    # Recursion is bounded by MAX_DEPTH, checked above.
    if isinstance(value, dict):
        return {str(k): _stringify_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify_keys(v) for v in value]
    return value
