"""Argument checks shared by the builtins, with expr's messages."""

from __future__ import annotations

from collections.abc import Callable

from ._errors import OperationError
from ._limits import Meter
from ._values import go_type

Builtin = Callable[[list[object], Meter], object]
"""A builtin: evaluated arguments and the run's meter in, a value out."""


def arity(name: str, args: list[object], low: int, high: int | None = None) -> None:
    """Fail unless `low <= len(args) <= high` (`high` None: exactly `low`; -1: no upper bound)."""
    high = low if high is None else high
    if len(args) >= low and (high < 0 or len(args) <= high):
        return
    if high < 0:
        expected = f"at least {low}"
    elif high == low:
        expected = str(low)
    else:
        expected = f"{low} or {high}" if high == low + 1 else f"{low} to {high}"
    raise OperationError(f"invalid number of arguments for {name} (expected {expected}, got {len(args)})")


def text_argument(name: str, value: object) -> str:
    """`value` if it is a string, else the error expr's builtins give."""
    if isinstance(value, str):
        return value
    raise OperationError(f"invalid argument for {name} (type {go_type(value)})")


def list_argument(name: str, value: object, what: str = "argument") -> list[object]:
    """`value` if it is a list, else an error naming `what` was expected of `name`."""
    if isinstance(value, list):
        return value
    raise OperationError(f"invalid {what} for {name} (type {go_type(value)})")
