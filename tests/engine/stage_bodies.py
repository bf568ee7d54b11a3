"""Stage definitions the engine tests run, written once."""

from __future__ import annotations

from typing import Any


def move(source: str, destination: str, ledger: str, amount: int = 100, asset: str = "USD/2") -> dict[str, Any]:
    """A `send` stage between two accounts of `ledger`."""
    return {
        "send": {
            "source": {"account": {"id": source, "ledger": ledger}},
            "destination": {"account": {"id": destination, "ledger": ledger}},
            "amount": {"amount": amount, "asset": asset},
        }
    }


def transactions_path(ledger: str) -> str:
    """Where a `send` between accounts of `ledger` posts."""
    return f"/api/ledger/v2/{ledger}/transactions"
