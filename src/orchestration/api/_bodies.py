"""Request bodies, parsed by hand to name each problem precisely (DESIGN §4, Q-4, Q-5).

Every body goes through the bounds of `orchestration.limits` before it reaches the service layer.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from orchestration.errors import ValidationFailed
from orchestration.limits import check_storable, load_json
from orchestration.yaml_as_json import load_yaml

YAML_MEDIA_TYPES: Final = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/vnd.yaml")
"""Q-36: the original knows `text/vnd.yaml` only; the others are what YAML tools send."""

# The start of a YAML document that is not JSON: `---`, `key:` or `- item`.
_LOOKS_LIKE_YAML = re.compile(rb"\s*(?:---|[\w.-]+[ \t]*:(?:\s|$)|-[ \t])")


def parse_json(raw: bytes) -> Any:
    """JSON as Go decodes it, exact for integers of any size (Q-19); empty → `EOF`."""
    if not raw.strip():
        raise ValidationFailed("unmarshalling json body: EOF")
    try:
        # As `json.loads(bytes)` decodes: UTF-8, -16 or -32, surrogates let through to be named below.
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"unmarshalling json body: {exc}") from exc
    try:
        return load_json(text)
    except ValueError as exc:
        hint = ""
        if _LOOKS_LIKE_YAML.match(raw):
            hint = " (this looks like YAML: send it with Content-Type: application/yaml)"
        raise ValidationFailed(f"unmarshalling json body: {exc}{hint}") from exc


def is_yaml(content_type: str | None) -> bool:
    """Q-36: the media type decides, whatever its parameters (`; charset=utf-8`)."""
    return (content_type or "").split(";")[0].strip().lower() in YAML_MEDIA_TYPES


def parse_workflow_body(raw: bytes, content_type: str | None) -> Any:
    """A workflow definition as JSON, or YAML with one of `YAML_MEDIA_TYPES`."""
    if not is_yaml(content_type):
        return parse_json(raw)
    document = load_yaml(raw)
    check_storable(document)
    return document


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
