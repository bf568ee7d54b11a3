"""Retryability is decided where a stack error is born (STYLE R5, DESIGN §3)."""

from __future__ import annotations

import pytest

from orchestration.stack import TRANSPORT, StackError


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (0, TRANSPORT, True),
        (429, "TOO_MANY_REQUESTS", True),
        (500, "INTERNAL", True),
        (503, "INTERNAL", True),
        (400, "INSUFFICIENT_FUND", False),
        (400, "VALIDATION", False),
        (400, "CONFLICT", False),
        (409, "CONFLICT", False),
        (404, "NOT_FOUND", False),
        (401, "UNAUTHORIZED", False),
        (500, "INSUFFICIENT_FUND", False),  # whatever the status, a permanent code is permanent
        (500, "COMPILATION_FAILED", False),
    ],
)
def test_only_what_may_succeed_next_time_is_retryable(status: int, code: str, retryable: bool) -> None:
    error = StackError(status, code, "message")
    assert error.retryable is retryable
    assert (error.code, error.message) == (code, "message")
