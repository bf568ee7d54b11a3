"""The `send` stage (spec §6.5): move money between accounts, wallets and payments.

`_config` declares the configuration; `_flows` picks and runs the flow for a source and a
destination, with the ledger moves in `_moves`, wallets in `_wallets`, payments in `_payments`.
"""

from __future__ import annotations

from orchestration.stages._context import StageContext
from orchestration.stages._type import StageType
from orchestration.stages.send._config import SendConfig, without_newer_options
from orchestration.stages.send._flows import run_send

__all__ = ["STAGE", "SendConfig", "run", "without_newer_options"]


async def run(ctx: StageContext, cfg: SendConfig) -> None:
    """Move the money: the flow is chosen by the kinds of source and destination (spec §6.5.3).

    Args:
        ctx: the running stage.
        cfg: the resolved and validated config.

    Raises:
        StageFailure: the flow's own checks failed, or a call to the stack failed for good.
    """
    await run_send(ctx, cfg)


STAGE = StageType(SendConfig, run)
