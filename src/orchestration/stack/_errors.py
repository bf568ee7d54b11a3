"""Errors of calls to the Formance stack, typed where they are born (STYLE R5)."""

from __future__ import annotations

# Codes whose retry could only fail the same way, whatever their status (DESIGN §3).
_PERMANENT_CODES = frozenset({"INSUFFICIENT_FUND", "VALIDATION", "CONFLICT", "NO_SCRIPT", "COMPILATION_FAILED"})

CONFLICT = "CONFLICT"
"""The code of a duplicate: a Ledger reference, or a Payments transfer initiation's, already used."""
TRANSPORT = "TRANSPORT"
"""The code of a call that got no answer (connection refused, reset, timeout)."""


class StackError(Exception):
    """A call to Ledger, Wallets or Payments failed.

    `status` is the HTTP status (0: no answer at all), `code` the service's
    `errorCode` (or `TRANSPORT`/`INTERNAL`), `message` its `errorMessage`.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        # Retry what may go through next time: no answer, throttling, server errors.
        self.retryable = (status == 0 or status == 429 or status >= 500) and code not in _PERMANENT_CODES
