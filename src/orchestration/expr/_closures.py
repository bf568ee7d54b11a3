"""The builtins that take a closure (`all(list, {# > 1})`), as expr's compiler unrolls them
(compiler.go, BuiltinNode): which elements are visited, what the body must return, the result.
"""

from __future__ import annotations

from collections.abc import Callable

from ._collections import sort_order, sort_values
from ._errors import OperationError
from ._limits import Meter
from ._operators import add
from ._values import need_bool

Apply = Callable[[int], object]
"""Evaluates the closure's body for the element at an index (the element itself when no body)."""


class Scope:
    """What `#`, `#index` and `#acc` see while a closure runs."""

    __slots__ = ("items", "index", "acc")

    def __init__(self, items: list[object]) -> None:
        self.items = items
        self.index = 0
        self.acc: object = None


def _all(scope: Scope, apply: Apply, extra: list[object], meter: Meter) -> object:
    return all(need_bool(apply(index), "all") for index in range(len(scope.items)))


def _none(scope: Scope, apply: Apply, extra: list[object], meter: Meter) -> object:
    return not any(need_bool(apply(index), "none") for index in range(len(scope.items)))


def _any(scope: Scope, apply: Apply, extra: list[object], meter: Meter) -> object:
    return any(need_bool(apply(index), "any") for index in range(len(scope.items)))


def _one(scope: Scope, apply: Apply, extra: list[object], meter: Meter) -> object:
    # Every element is tested, as expr does: not a short-circuit on the second match.
    return sum(need_bool(apply(index), "one") for index in range(len(scope.items))) == 1


def _filter(scope: Scope, apply: Apply, extra: list[object], meter: Meter) -> object:
    kept = [scope.items[index] for index in range(len(scope.items)) if need_bool(apply(index), "filter")]
    meter.allocate(len(kept))
    return kept


def _map(scope: Scope, apply: Apply, extra: list[object], meter: Meter) -> object:
    results = [apply(index) for index in range(len(scope.items))]
    meter.allocate(len(results))
    return results


def _count(scope: Scope, apply: Apply, extra: list[object], meter: Meter) -> object:
    return sum(need_bool(apply(index), "count") for index in range(len(scope.items)))


def _sum(scope: Scope, apply: Apply, extra: list[object], meter: Meter) -> object:
    total: object = 0
    for index in range(len(scope.items)):
        total = add(apply(index), total, meter)
    return total


def _finder(name: str, backwards: bool, want_index: bool) -> Callable[[Scope, Apply, list[object], Meter], object]:
    def find(scope: Scope, apply: Apply, extra: list[object], meter: Meter) -> object:
        indexes = range(len(scope.items) - 1, -1, -1) if backwards else range(len(scope.items))
        for index in indexes:
            if need_bool(apply(index), name):
                return index if want_index else scope.items[index]
        return None

    return find


def _reduce(scope: Scope, apply: Apply, extra: list[object], meter: Meter) -> object:
    start = 0
    if extra:
        scope.acc = extra[0]
    elif scope.items:
        scope.acc, start = scope.items[0], 1
    else:
        raise OperationError("reduce of empty array with no initial value")
    for index in range(start, len(scope.items)):
        scope.acc = apply(index)
    return scope.acc


def _sort_by(scope: Scope, apply: Apply, extra: list[object], meter: Meter) -> object:
    descending = sort_order("sortBy", extra[0]) if extra else False
    keys = [apply(index) for index in range(len(scope.items))]
    meter.allocate(len(keys))
    return [scope.items[index] for index in sort_values(keys, meter, descending)]


CLOSURES: dict[str, Callable[[Scope, Apply, list[object], Meter], object]] = {
    "all": _all,
    "none": _none,
    "any": _any,
    "one": _one,
    "filter": _filter,
    "map": _map,
    "count": _count,
    "sum": _sum,
    "find": _finder("find", backwards=False, want_index=False),
    "findIndex": _finder("findIndex", backwards=False, want_index=True),
    "findLast": _finder("findLast", backwards=True, want_index=False),
    "findLastIndex": _finder("findLastIndex", backwards=True, want_index=True),
    "reduce": _reduce,
    "sortBy": _sort_by,
}
