"""The bounds of compilation and evaluation, and the meter that enforces them during a run.

Expressions come from API users and run on every bus event, so each resource they can consume is
bounded: source size and nesting at compilation; steps, memory, integer size, value nesting,
regular expressions and `link` calls at evaluation. Exceeding a bound is an `ExprError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._errors import OperationError


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Bounds applied by `compile_expr`, `evaluate` and `stringify`."""

    max_source_length: int = 10_000
    """Longest expression accepted by `compile_expr`, in characters."""

    max_depth: int = 100
    """Deepest nesting of an expression's syntax tree (parentheses, operators, calls, closures).

    Evaluation recurses along the tree, so this also bounds the evaluator's stack.
    """

    max_steps: int = 100_000
    """Most units of work of one run: one per syntax-tree node evaluated (a closure's body once
    per element) and one per element a comparison, search, sort or walk visits."""

    max_memory: int = 1_000_000
    """Budget of one run for the values it builds, as expr's `MemoryBudget` (conf.DefaultMemoryBudget):
    one unit per list element, map entry and character of a built string (the output of
    `stringify`/`toJSON` included). Values of the event itself are free."""

    max_int_bits: int = 4096
    """Largest magnitude of an integer computed by a run, in bits (payload integers stay exact)."""

    max_value_depth: int = 100
    """Deepest nesting of lists and maps that comparisons, `toJSON` and `stringify` walk."""

    max_regex_length: int = 1_000
    """Longest pattern accepted by `matches`, in characters."""

    max_link_calls: int = 10
    """Most `link()` calls made by one run."""


DEFAULT_LIMITS = Limits()


class Meter:
    """Counts what one run consumes and raises `OperationError` past a bound of its `Limits`."""

    __slots__ = ("limits", "steps", "memory", "link_calls")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.steps = 0
        self.memory = 0
        self.link_calls = 0

    def step(self, count: int = 1) -> None:
        """Account for `count` units of work (a node evaluated, an element compared)."""
        self.steps += count
        if self.steps > self.limits.max_steps:
            raise OperationError(f"step budget exceeded ({self.limits.max_steps} steps)")

    def allocate(self, size: int) -> None:
        """Account for a value of `size` units about to be built (before building it)."""
        self.memory += size
        # As expr's VM.memGrow: reaching the budget already fails.
        if self.memory >= self.limits.max_memory:
            raise OperationError("memory budget exceeded")

    def call_link(self) -> None:
        """Account for one `link()` call."""
        self.link_calls += 1
        if self.link_calls > self.limits.max_link_calls:
            raise OperationError(f"too many link calls (at most {self.limits.max_link_calls})")

    def check_int(self, value: int) -> int:
        """Return `value` if it fits in `max_int_bits`, else fail."""
        if value.bit_length() > self.limits.max_int_bits:
            raise OperationError(f"integer overflow (more than {self.limits.max_int_bits} bits)")
        return value

    def check_depth(self, depth: int) -> None:
        """Fail when a walk over nested lists and maps goes deeper than `max_value_depth`."""
        if depth > self.limits.max_value_depth:
            raise OperationError(f"value nested too deeply (more than {self.limits.max_value_depth} levels)")
