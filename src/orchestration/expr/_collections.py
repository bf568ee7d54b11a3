"""expr's builtins on lists and maps (builtin/builtin.go, builtin/lib.go): aggregates, access,
reshaping. Every walk over elements is metered.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from ._arguments import Builtin, arity, list_argument
from ._errors import OperationError
from ._limits import Meter
from ._operators import fetch
from ._values import compare, equal, go_kind, go_type, is_int, is_number, to_float, to_int


def _extreme(name: str, replaces: str) -> Builtin:
    """max / min (lib.go, minMax): numbers, or lists of them at any depth; one non-number is returned as is."""

    def visit(args: list[object], meter: Meter, depth: int) -> object:
        meter.check_depth(depth)
        best: object = None
        for arg in args:
            meter.step()
            candidates: list[object]
            if isinstance(arg, list):
                candidates = [visit([item], meter, depth + 1) for item in arg]
                for candidate in candidates:
                    if not is_number(candidate):
                        raise OperationError(f"invalid argument for {name} (type {go_type(candidate)})")
            elif is_number(arg):
                candidates = [arg]
            elif len(args) == 1:
                return arg
            else:
                raise OperationError(f"invalid argument for {name} (type {go_type(arg)})")
            for candidate in candidates:
                if best is None or compare(replaces, best, candidate):
                    best = candidate
        return best

    def builtin(args: list[object], meter: Meter) -> object:
        if not args:
            raise OperationError(f"not enough arguments to call {name}")
        return visit(args, meter, 0)

    return builtin


def _numbers(name: str, args: list[object], meter: Meter, depth: int = 0) -> list[float]:
    meter.check_depth(depth)
    values: list[float] = []
    for arg in args:
        meter.step()
        if isinstance(arg, list):
            values.extend(_numbers(name, arg, meter, depth + 1))
        elif is_number(arg):
            values.append(to_float(arg))
        else:
            raise OperationError(f"invalid argument for {name} (type {go_type(arg)})")
    return values


def _mean(args: list[object], meter: Meter) -> object:
    values = _numbers("mean", args, meter)
    return sum(values) / len(values) if values else 0.0


def _median(args: list[object], meter: Meter) -> object:
    values = sorted(_numbers("median", args, meter))
    middle = len(values) // 2
    if not values:
        return 0.0
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def _end(name: str, index: int) -> Builtin:
    # first / last recover from any failure with nil (builtin.go).
    def builtin(args: list[object], meter: Meter) -> object:
        arity(name, args, 1)
        try:
            return fetch(args[0], index)
        except OperationError:
            return None

    return builtin


def _get(args: list[object], meter: Meter) -> object:
    """get(from, key): `from[key]`, or nil where that fails (lib.go, get)."""
    arity("get", args, 2)
    target, key = args
    if isinstance(target, list | str):
        index = to_int(key)  # a non-number index still fails, as runtime.ToInt does
        try:
            return fetch(target, index)
        except OperationError:
            return None
    if isinstance(target, dict):
        key = "" if key is None else key
        return target.get(key) if isinstance(key, str) else None
    return None


def _take(args: list[object], meter: Meter) -> object:
    arity("take", args, 2)
    items, count = args
    if not isinstance(items, list):
        raise OperationError(f"cannot take from {go_kind(items)}")
    if not is_int(count):
        raise OperationError(f"cannot take {go_kind(count)} elements")
    if count < 0:
        raise OperationError(f"slice bounds out of range [:{count}]")
    meter.allocate(min(count, len(items)))
    return items[:count]


def _map_view(name: str, refusal: str, view: Callable[[dict[str, object]], list[object]]) -> Builtin:
    def builtin(args: list[object], meter: Meter) -> object:
        arity(name, args, 1)
        value = args[0]
        if not isinstance(value, dict):
            raise OperationError(refusal.format(go_kind(value)))
        meter.allocate(len(value))
        return view(value)

    return builtin


def _from_pairs(args: list[object], meter: Meter) -> object:
    arity("fromPairs", args, 1)
    pairs = list_argument("fromPairs", args[0])
    meter.allocate(len(pairs))
    result: dict[str, object] = {}
    for pair in pairs:
        if not isinstance(pair, list) or len(pair) != 2:
            raise OperationError(f"invalid pair {go_type(pair)}")
        key, value = pair
        if not isinstance(key, str):
            raise OperationError(f"invalid pair key (type {go_type(key)}): map keys are strings")
        result[key] = value
    return result


def _reverse(args: list[object], meter: Meter) -> object:
    arity("reverse", args, 1)
    items = args[0]
    if not isinstance(items, list):
        raise OperationError(f"cannot reverse {go_kind(items)}")
    meter.allocate(len(items))
    return items[::-1]


def _uniq(args: list[object], meter: Meter) -> object:
    arity("uniq", args, 1)
    items = args[0]
    if not isinstance(items, list):
        raise OperationError(f"cannot uniq {go_kind(items)}")
    meter.allocate(len(items))
    kept: list[object] = []
    for item in items:
        if not any(equal(item, seen, meter) for seen in kept):
            kept.append(item)
    return kept


def _concat(args: list[object], meter: Meter) -> object:
    arity("concat", args, 1, -1)
    result: list[object] = []
    for items in args:
        if not isinstance(items, list):
            raise OperationError(f"cannot concat {go_kind(items)}")
        meter.allocate(len(items))
        result.extend(items)
    return result


def _flatten(args: list[object], meter: Meter) -> object:
    arity("flatten", args, 1)
    items = args[0]
    if not isinstance(items, list):
        raise OperationError(f"cannot flatten {go_kind(items)}")
    result: list[object] = []

    def visit(values: list[object], depth: int) -> None:
        meter.check_depth(depth)
        for value in values:
            meter.step()
            if isinstance(value, list):
                visit(value, depth + 1)
            else:
                result.append(value)

    visit(items, 1)
    meter.allocate(len(result))
    return result


def sort_values(values: list[object], meter: Meter, descending: bool) -> list[int]:
    """The order of `values` (indexes), ascending or descending; numbers and strings only."""

    def order(left: int, right: int) -> int:
        meter.step()
        if compare("<", values[left], values[right]):
            return -1
        return 1 if compare(">", values[left], values[right]) else 0

    return sorted(range(len(values)), key=functools.cmp_to_key(order), reverse=descending)


def sort_order(name: str, value: object) -> bool:
    """Whether an `asc`/`desc` argument asks for descending order."""
    if value == "asc":
        return False
    if value == "desc":
        return True
    if name == "sort":
        raise OperationError(f"invalid order {value}, expected asc or desc")
    raise OperationError("unknown order, use asc or desc")


def _sort(args: list[object], meter: Meter) -> object:
    arity("sort", args, 1, 2)
    items = args[0]
    if not isinstance(items, list):
        raise OperationError(f"invalid argument for sort (type {go_type(items)})")
    descending = sort_order("sort", args[1]) if len(args) == 2 else False
    meter.allocate(len(items))
    return [items[index] for index in sort_values(items, meter, descending)]


COLLECTION_BUILTINS: dict[str, Builtin] = {
    "max": _extreme("max", "<"),
    "min": _extreme("min", ">"),
    "mean": _mean,
    "median": _median,
    "first": _end("first", 0),
    "last": _end("last", -1),
    "get": _get,
    "take": _take,
    "keys": _map_view("keys", "cannot get keys from {}", lambda value: list(value)),
    "values": _map_view("values", "cannot get values from {}", lambda value: list(value.values())),
    "toPairs": _map_view("toPairs", "cannot transform {} to pairs", lambda value: [[k, v] for k, v in value.items()]),
    "fromPairs": _from_pairs,
    "reverse": _reverse,
    "uniq": _uniq,
    "concat": _concat,
    "flatten": _flatten,
    "sort": _sort,
}
