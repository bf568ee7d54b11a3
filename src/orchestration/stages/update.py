"""The `update` stage (spec §6.4): add metadata to a ledger account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from orchestration.stack import ActivityName
from orchestration.stages import _schema as schema
from orchestration.stages._context import StageContext
from orchestration.stages._errors import StageFailure
from orchestration.stages._type import StageType


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



async def run(ctx: StageContext, cfg: UpdateConfig) -> None:
    """Add the configured metadata to the account with one `AddAccountMetadata` call (spec §6.4, §7.3).

    Args:
        ctx: the running stage.
        cfg: the resolved and validated config.

    Raises:
        StageFailure: the Ledger refused the metadata for good (its message), or the config names
            no account (only possible if it skipped validation).
    """
    account = cfg.account
    if account is None:
        raise StageFailure("update: account must be specified")
    # the history input says `account`, not the OpenAPI's `id`.
    request = {"ledger": account.ledger, "account": account.id, "metadata": dict(account.metadata or {})}
    await ctx.call(ActivityName.ADD_ACCOUNT_METADATA, request)


STAGE = StageType(UpdateConfig, run)
