"""A fake Formance gateway (Ledger, Wallets, Payments, OAuth2) on 127.0.0.1 for tests and benchmarks.

A real HTTP server, so the service's real httpx client, retries and OAuth path are exercised:

    with FakeStack() as stack:
        stack.create_ledger("default")
        ...  # point the orchestration's --stack-url at stack.url
        assert stack.balance("default", "bank", "EUR/2") == 100

Faithfulness notes (what was checked against the real services and what was guessed) live in the docstrings of
`_ledger.py`, `_wallets.py`, `_payments.py` and `_auth.py`.
"""

from ._faults import Hold, RecordedRequest
from ._stack import FakeStack

__all__ = ["FakeStack", "Hold", "RecordedRequest"]
