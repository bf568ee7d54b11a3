"""The syntax tree the evaluator walks: frozen dataclasses over plain values.

Every node records `pos`, the character offset that expr reports errors at for that node (the
operator of a binary expression, the property of a member access, the name of a call).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class Node:
    """Base of all nodes."""

    pos: int


@dataclass(frozen=True, slots=True)
class Literal(Node):
    """A constant: None, bool, int, float, str."""

    value: object


@dataclass(frozen=True, slots=True)
class Identifier(Node):
    """A name: a `let` variable, `event`, `$env`, or an unknown name (nil)."""

    name: str


@dataclass(frozen=True, slots=True)
class Pointer(Node):
    """`#` (current element), `#index` or `#acc` inside a closure."""

    name: str


@dataclass(frozen=True, slots=True)
class Member(Node):
    """`target.name`, `target[key]`, and their `?.` forms (`optional`)."""

    target: Node
    key: Node
    optional: bool


@dataclass(frozen=True, slots=True)
class Chain(Node):
    """The extent of an optional chain: a nil before a `?.` inside makes the whole chain nil."""

    body: Node


@dataclass(frozen=True, slots=True)
class Slice(Node):
    """`target[start:stop]`, either bound optional."""

    target: Node
    start: Node | None
    stop: Node | None


@dataclass(frozen=True, slots=True)
class Unary(Node):
    """`-x`, `+x`, `not x`, `!x`."""

    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    """`left op right`; `op` is the source spelling (`and` and `&&` both occur)."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Conditional(Node):
    """`test ? then : otherwise` and `if test { then } else { otherwise }`."""

    test: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True, slots=True)
class ArrayLiteral(Node):
    """`[a, b]`."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class MapLiteral(Node):
    """`{k: v}`; keys are expressions (a name or quoted key is a string literal)."""

    entries: tuple[tuple[Node, Node], ...]


@dataclass(frozen=True, slots=True)
class Call(Node):
    """`name(args)` and `args[0] | name(args[1:])`: a builtin, `link`, or an unknown function."""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class CallValue(Node):
    """`target.name(args)`: calling a value, which plain data never allows."""

    callee: Node
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Closure(Node):
    """A builtin taking a closure: `all(collection, body)`, `reduce(collection, body, extra)`."""

    name: str
    collection: Node
    body: Node | None
    extra: Node | None


@dataclass(frozen=True, slots=True)
class Let(Node):
    """`let name = value; body`."""

    name: str
    value: Node
    body: Node


@dataclass(frozen=True, slots=True)
class Sequence(Node):
    """`a; b; c`: every item is evaluated, the last one is the result."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Program:
    """A compiled expression, ready for `evaluate`.

    Attributes:
        source: The expression's text (errors quote its lines).
        root: The syntax tree.
    """

    source: str
    root: Node


def children(node: Node) -> Iterator[Node]:
    """The direct sub-nodes of `node`."""
    for field in fields(node):
        value = getattr(node, field.name)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, Node):
                    yield item
                elif isinstance(item, tuple):
                    yield from (part for part in item if isinstance(part, Node))


def deepest(root: Node, limit: int) -> Node | None:
    """The first node found deeper than `limit` levels below `root` (walked without recursion)."""
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return node
        stack.extend((child, depth + 1) for child in children(node))
    return None
