"""Faults a test server injects into its answers, each for a number of requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar


class Counted(Protocol):
    times: int | None
    """Requests it still applies to (None: every one, until cleared)."""


F = TypeVar("F", bound=Counted)


def take_fault(faults: list[F], matches: Callable[[F], bool]) -> F | None:
    """The first of `faults` that `matches` a request, used once: dropped when its `times` run out."""
    for fault in faults:
        if matches(fault):
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    faults.remove(fault)
            return fault
    return None
