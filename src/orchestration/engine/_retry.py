"""How activities are retried (DESIGN §3): bounded, with a growing durable wait."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    max_attempts: int = 15
    initial_interval: timedelta = timedelta(seconds=2)
    max_interval: timedelta = timedelta(seconds=200)

    def delay_after(self, attempt: int) -> timedelta:
        """The wait after failed attempt number `attempt` (1-based): doubling, capped."""
        grown: timedelta = self.initial_interval * (2 ** (attempt - 1))
        return min(grown, self.max_interval)

    def gives_up_after(self, attempt: int) -> bool:
        return attempt >= self.max_attempts
