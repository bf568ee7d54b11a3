"""`matches` on RE2: the engine and syntax of Go's `regexp`, in linear time.

Python's `re` backtracks (`"(a+)+$"` on a long string never ends) and accepts constructs Go
rejects (backreferences, lookarounds); RE2 has neither problem, so a pattern means here what it
means in the Go service and no input can stall a worker.
"""

from __future__ import annotations

import functools
from typing import Any

import re2  # type: ignore[import-untyped]

from ._errors import OperationError

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print every rejected pattern on stderr
_OPTIONS.max_mem = 8 << 20  # RE2's default program size bound, stated: a larger pattern fails to compile


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    try:
        return re2.compile(pattern, options=_OPTIONS)
    except re2.error as error:
        reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
        raise OperationError(f"error parsing regexp: {reason}") from None


def check_pattern(pattern: str, max_length: int) -> None:
    """Fail unless `pattern` is a valid regular expression of at most `max_length` characters."""
    if len(pattern) > max_length:
        raise OperationError(f"regular expression too long ({len(pattern)} characters, at most {max_length})")
    _compiled(pattern)


def matches(text: str, pattern: str, max_length: int) -> bool:
    """Whether `pattern` matches anywhere in `text` (Go's `regexp.MatchString`)."""
    check_pattern(pattern, max_length)
    return _compiled(pattern).search(text) is not None
