"""Bounds on what a request or an event may carry, checked before anything is parsed deeply or stored.

Nothing a client (or the bus) sends may crash a handler or store a row that a later read cannot
answer: a body is refused with 400 when it nests too deep, holds text that cannot be stored, or
holds a value JSON has no spelling for.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from itertools import accumulate
from typing import Any, Final

from orchestration.errors import ValidationFailed

MAX_DEPTH: Final = 64
"""Deepest nesting of arrays and objects in a body. A real workflow definition nests 6 levels
(`stages[i].send.source.wallet.balance`); 64 keeps every recursive walk downstream (the JSON and
YAML parsers, the stage resolver, the storage serialisers) far below Python's recursion limit."""

MAX_INT32: Final = 2**31 - 1
"""Largest value of a PostgreSQL `integer` column (stage numbers)."""

# A JSON string (an unterminated one runs to the end): its brackets are text, not nesting.
# The unrolled loop never backtracks, so the scan is linear in the body size.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_NESTING_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}

# U+0000 cannot be stored in PostgreSQL text or JSONB; a lone UTF-16 surrogate cannot be
# encoded as UTF-8 at all (it would be stored, then break every read that returns it).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_UNSTORABLE_IN_JSON_TEXT = re.compile(r"\\u(?:0000|[dD][89a-fA-F])|[\x00\ud800-\udfff]")


def too_deep() -> ValidationFailed:
    return ValidationFailed(f"the body nests arrays and objects deeper than the limit of {MAX_DEPTH} levels")


def check_json_nesting(text: str) -> None:
    """Refuse a JSON text nested deeper than `MAX_DEPTH` before the recursive parser sees it."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    depth = max(accumulate(map(_NESTING_STEP.__getitem__, brackets)), default=0)
    if depth > MAX_DEPTH:
        raise too_deep()


def load_json(text: str) -> Any:
    """Parse JSON text within the bounds: nesting, finite numbers, storable text; integers exact.

    Raises `ValidationFailed` for a bound exceeded, `ValueError` for text that is no JSON.
    """
    check_json_nesting(text)
    document = json.loads(text, parse_constant=_reject_constant, parse_float=finite_float)
    # Nesting was checked above and numbers as they were parsed; only text is left to check.
    if may_hold_unstorable_text(text):
        check_storable(document)
    return document


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON number {name}")


def finite_float(text: str) -> float:
    """A JSON number with a fraction or exponent; `1e400` overflows to infinity, which JSON cannot spell."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def may_hold_unstorable_text(json_text: str) -> bool:
    """Whether parsing this JSON text can give a string `check_storable` refuses: only a NUL or
    surrogate escape, or a raw surrogate, can (a raw NUL is a parse error). Most bodies have
    none, and then the walk over every value can be skipped."""
    return _UNSTORABLE_IN_JSON_TEXT.search(json_text) is not None


def check_storable(document: Any) -> None:
    """Refuse a parsed body that cannot be stored and read back as JSON.

    Every key and string must be storable text, every number finite, every value of a JSON
    type, and nothing nested deeper than `MAX_DEPTH`. The walk keeps its own stack; it tracks
    where it is only to name the place of a problem once one is found.
    """
    try:
        _walk(document, None)
    except _Problem:
        _walk(document, ())  # again, to say where


class _Problem(Exception):
    pass


def _walk(document: Any, root: tuple[str | int, ...] | None) -> None:
    """Raise `_Problem` at the first problem when `root` is None, else `ValidationFailed` naming its place."""
    pending: list[tuple[Any, int, tuple[str | int, ...] | None]] = [(document, 1, root)]
    while pending:
        value, depth, path = pending.pop()
        if not isinstance(value, (dict, list)):
            _check_scalar(value, path)
            continue
        if depth > MAX_DEPTH:
            raise too_deep()
        children: Iterable[tuple[str | int, Any]]
        if isinstance(value, dict):
            for key in value:
                _check_scalar(key, path, key_of=True)
            children = value.items()
        else:
            children = enumerate(value)
        for key, child in children:
            child_path = None if path is None else (*path, key)
            if isinstance(child, (dict, list)):
                pending.append((child, depth + 1, child_path))
            elif not (child is None or child is True or child is False or type(child) is int):
                _check_scalar(child, child_path)


def _check_scalar(value: object, path: tuple[str | int, ...] | None, *, key_of: bool = False) -> None:
    if isinstance(value, str):
        found = _UNSTORABLE.search(value)
        if found is None:
            return
        if path is None:
            raise _Problem()
        what = "a NUL character (U+0000)" if found.group() == "\x00" else "a lone UTF-16 surrogate"
        where = f"a key of '{json_path(path)}'" if key_of else f"'{json_path(path)}'"
        raise ValidationFailed(f"the text in {where} contains {what}, which cannot be stored")
    if isinstance(value, float) and not math.isfinite(value):
        if path is None:
            raise _Problem()
        raise ValidationFailed(f"the number at '{json_path(path)}' is {value}; JSON numbers are finite")
    if not (value is None or isinstance(value, (bool, int, float))):
        if path is None:
            raise _Problem()
        raise ValidationFailed(f"the value at '{json_path(path)}' ({type(value).__name__}) has no JSON equivalent")


def json_path(path: tuple[str | int, ...]) -> str:
    """`stages[0].send.amount`; the whole body is `$`."""
    text = "$"
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else f".{step}"
    return text
