"""`evaluate`: walks a program's syntax tree over plain data, within the run's `Limits`.

Nothing here reaches Python objects by user-chosen names: members are dictionary keys and list
indexes, functions are looked up in our own builtin table, and the only outside code called is
the `link` function the caller passes in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._ast import (
    ArrayLiteral,
    Binary,
    Call,
    CallValue,
    Chain,
    Closure,
    Conditional,
    Identifier,
    Let,
    Literal,
    MapLiteral,
    Member,
    Node,
    Pointer,
    Program,
    Sequence,
    Slice,
    Unary,
)
from ._builtins import BUILTINS
from ._closures import CLOSURES, Scope
from ._errors import STACK_EXHAUSTED, ExprError, OperationError, located
from ._limits import DEFAULT_LIMITS, Limits, Meter
from ._operators import BINARY, fetch, negate, regex_match, slice_of
from ._values import go_type, need_bool

Link = Callable[[object, str], object]


class _NilChain(Exception):
    """A `?.` met nil: the enclosing `Chain` evaluates to nil."""


def evaluate(program: Program, *, event: object, link: Link | None = None, limits: Limits = DEFAULT_LIMITS) -> object:
    """Evaluate a compiled expression against one event.

    Args:
        program: The result of `compile_expr`.
        event: The event payload, JSON-decoded (dict, list, str, int, float, bool, None); the
            expression sees it as `event`. Integers stay exact.
        link: The `link(object, name)` function of spec §12.3, or None when unavailable (a call
            then fails as an unknown function). Its own exceptions propagate unchanged.
        limits: Bounds on the run's steps, memory, integers, value nesting, regular
            expressions and `link` calls.

    Returns:
        The expression's value: None, bool, int, float, str, list or dict.

    Raises:
        ExprError: The evaluation failed (a missing function, an operation on the wrong types,
            a member of nil, a bound exceeded...), located in the source.
    """
    try:
        return _Evaluator(program, event, link, limits).eval(program.root)
    except RecursionError:  # only when called from an already deep stack: nesting is bounded
        raise ExprError(STACK_EXHAUSTED) from None


class _Evaluator:
    def __init__(self, program: Program, event: object, link: Link | None, limits: Limits) -> None:
        self._source = program.source
        self._event = event
        self._link = link
        self._limits = limits
        self._meter = Meter(limits)
        self._scopes: list[Scope] = []
        self._variables: dict[str, object] = {}
        # Each handler takes the node type it is registered for.
        self._handlers: dict[type[Node], Callable[[Any], object]] = {
            Literal: self._literal,
            Identifier: self._identifier,
            Pointer: self._pointer,
            Member: self._member,
            Chain: self._chain,
            Slice: self._slice,
            Unary: self._unary,
            Binary: self._binary,
            Conditional: self._conditional,
            ArrayLiteral: self._array,
            MapLiteral: self._map,
            Call: self._call,
            CallValue: self._call_value,
            Closure: self._closure,
            Let: self._let,
            Sequence: self._sequence,
        }

    def eval(self, node: Node) -> object:
        try:
            self._meter.step()
            return self._handlers[type(node)](node)
        except OperationError as error:
            raise located(error.message, self._source, node.pos) from None

    def _literal(self, node: Literal) -> object:
        return node.value

    def _identifier(self, node: Identifier) -> object:
        if node.name in self._variables:
            return self._variables[node.name]
        if node.name == "event":
            return self._event
        if node.name == "$env":
            return {"event": self._event}
        return None  # unknown names are nil (the environment is a map)

    def _pointer(self, node: Pointer) -> object:
        scope = self._scopes[-1]
        if node.name == "index":
            return scope.index
        if node.name == "acc":
            return scope.acc
        return scope.items[scope.index]

    def _member(self, node: Member) -> object:
        target = self.eval(node.target)
        if node.optional and target is None:
            raise _NilChain
        return fetch(target, self.eval(node.key))

    def _chain(self, node: Chain) -> object:
        try:
            return self.eval(node.body)
        except _NilChain:
            return None

    def _slice(self, node: Slice) -> object:
        target = self.eval(node.target)
        start = None if node.start is None else self.eval(node.start)
        stop = None if node.stop is None else self.eval(node.stop)
        return slice_of(target, start, stop, self._meter)

    def _unary(self, node: Unary) -> object:
        value = self.eval(node.operand)
        if node.op in ("not", "!"):
            return not need_bool(value, node.op)
        if node.op == "-":
            return negate(value)
        return value  # unary `+` compiles to nothing in expr

    def _binary(self, node: Binary) -> object:
        op = node.op
        if op in ("and", "&&"):
            # The right operand is the result as it is (expr only asserts the left one is a bool).
            return self.eval(node.right) if need_bool(self.eval(node.left), op) else False
        if op in ("or", "||"):
            return True if need_bool(self.eval(node.left), op) else self.eval(node.right)
        if op == "??":
            left = self.eval(node.left)
            return self.eval(node.right) if left is None else left
        left = self.eval(node.left)
        right = self.eval(node.right)
        if op == "matches":
            return regex_match(left, right, self._limits.max_regex_length)
        return BINARY[op](left, right, self._meter)

    def _conditional(self, node: Conditional) -> object:
        test = need_bool(self.eval(node.test), "condition")
        return self.eval(node.then if test else node.otherwise)

    def _array(self, node: ArrayLiteral) -> object:
        self._meter.allocate(len(node.items))
        return [self.eval(item) for item in node.items]

    def _map(self, node: MapLiteral) -> object:
        self._meter.allocate(len(node.entries))
        result: dict[str, object] = {}
        for key_node, value_node in node.entries:
            key = self.eval(key_node)
            if not isinstance(key, str):
                raise OperationError(f"invalid map key (type {go_type(key)}): keys are strings")
            result[key] = self.eval(value_node)
        return result

    def _call(self, node: Call) -> object:
        args = [self.eval(arg) for arg in node.args]
        if node.name == "link" and self._link is not None:
            return self._call_link(self._link, args)
        builtin = BUILTINS.get(node.name)
        if builtin is None:
            raise OperationError(f"unknown function {node.name}")
        return builtin(args, self._meter)

    def _call_link(self, link: Link, args: list[object]) -> object:
        # The checks of the Go service's link() (spec §12.3), before the caller's function runs.
        if len(args) != 2:
            raise OperationError(f"expect two arguments, got {len(args)}")
        name = args[1]
        if not isinstance(name, str):
            raise OperationError("second parameter must be a string")
        self._meter.call_link()
        return link(args[0], name)

    def _call_value(self, node: CallValue) -> object:
        for arg in node.args:
            self.eval(arg)
        callee = self.eval(node.callee)
        if callee is None:
            raise OperationError("invalid operation: cannot call nil")
        raise OperationError(f"invalid operation: cannot call non-function of type {go_type(callee)}")

    def _closure(self, node: Closure) -> object:
        items = self.eval(node.collection)
        if not isinstance(items, list):
            raise OperationError(f"builtin {node.name} takes only array (got {go_type(items)})")
        extra = [] if node.extra is None else [self.eval(node.extra)]
        scope = Scope(items)
        body = node.body

        def apply(index: int) -> object:
            scope.index = index
            return items[index] if body is None else self.eval(body)

        self._scopes.append(scope)
        try:
            return CLOSURES[node.name](scope, apply, extra, self._meter)
        finally:
            self._scopes.pop()

    def _let(self, node: Let) -> object:
        value = self.eval(node.value)
        shadowed = node.name in self._variables
        previous = self._variables.get(node.name)
        self._variables[node.name] = value
        try:
            return self.eval(node.body)
        finally:
            if shadowed:
                self._variables[node.name] = previous
            else:
                del self._variables[node.name]

    def _sequence(self, node: Sequence) -> object:
        result: object = None
        for item in node.items:
            result = self.eval(item)
        return result
