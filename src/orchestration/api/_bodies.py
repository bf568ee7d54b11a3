"""Request bodies, parsed by hand to name each problem precisely (DESIGN §4, Q-4, Q-5)."""

from __future__ import annotations

import json
from typing import Any

import yaml

from orchestration.errors import ValidationFailed

YAML_MEDIA_TYPE = "text/vnd.yaml"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON number {name}")


def parse_json(raw: bytes) -> Any:
    """JSON as Go decodes it, exact for integers of any size (Q-19); empty → `EOF`."""
    if not raw.strip():
        raise ValidationFailed("unmarshalling json body: EOF")
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"unmarshalling json body: {exc}") from exc


class _JSONCompatibleLoader(yaml.SafeLoader):
    """YAML that converts to JSON as the original does: dates stay strings."""


_JSONCompatibleLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _stringify_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _stringify_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify_keys(v) for v in value]
    return value


def parse_workflow_body(raw: bytes, content_type: str | None) -> Any:
    """A workflow definition as JSON, or YAML with `text/vnd.yaml` (parameters allowed, Q-36)."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != YAML_MEDIA_TYPE:
        return parse_json(raw)
    try:
        document = yaml.load(raw, Loader=_JSONCompatibleLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ValidationFailed(f"unmarshalling yaml: {exc}") from exc
    return _stringify_keys(document)


def parse_variables(raw: bytes) -> dict[str, str]:
    """The run body: absent, `null`, or an object of strings (Q-33: read whenever present)."""
    if not raw.strip():
        return {}
    body = parse_json(raw)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ValidationFailed("json: cannot unmarshal the body into an object of string variables")
    for key, value in body.items():
        if not isinstance(value, str):
            raise ValidationFailed(
                f"json: cannot unmarshal {type(value).__name__} into variable '{key}' of type string"
            )
    return body


def parse_event(raw: bytes) -> str:
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise ValidationFailed("the event must be a JSON object with a 'name'")
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise ValidationFailed("the event needs a non-empty string 'name'")
    return name
