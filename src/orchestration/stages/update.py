"""The `update` stage (spec §6.4): add metadata to a ledger account.

Only the configuration lives here for now; running it needs the stack client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from orchestration.stages import _schema as schema


@dataclass(frozen=True, kw_only=True)
class UpdateAccount:
    """The account to update and the metadata to add."""

    id: str = schema.string("ID", required=True)
    # the default ledger is `main` here, `default` in send.
    ledger: str = schema.string("Ledger", default="main", required=True)
    # Must be present and non-null at start; an empty object passes.
    metadata: dict[str, str] | None = schema.string_map("Metadata", required=True)


@dataclass(frozen=True, kw_only=True)
class UpdateConfig:
    """`{"account": {"id": …, "ledger": …, "metadata": {…}}}`."""

    ONE_OF: ClassVar[tuple[str, ...]] = ("account",)

    account: UpdateAccount | None = schema.nested("Account", UpdateAccount, optional=True)


CONFIG = UpdateConfig
