"""lark's parse tree to our syntax tree (`_ast`), with the checks expr's parser makes on the way:
`??` not mixed with other operators, `#` only inside closures, closure arities, literal values.

Shapes follow parser.go: comparison chains (`a < b < c` is `a < b && b < c`), `not in` as
`not (a in b)`, optional chains (`a?.b.c` is nil as a whole when `a` is nil).
"""

from __future__ import annotations

from collections import abc

from lark import Token, Tree

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
    Sequence,
    Slice,
    Unary,
)
from ._errors import ExprError, OperationError, located
from ._limits import Limits
from ._literals import LiteralError, number_value, string_value
from ._regex import check_pattern

_RELATIONAL = {"<", ">", "<=", ">="}
_KEYWORD_VALUES: dict[str, object] = {"true": True, "false": False, "nil": None}
# expr builtins this package does not implement: rejected at compilation rather than failing
# (and so silently not matching, for a filter) at every event.
_UNSUPPORTED = frozenset(
    {"now", "date", "duration", "timezone", "groupBy"}
    | {"bitand", "bitor", "bitxor", "bitnand", "bitnot", "bitshl", "bitshr", "bitushr"}
)
# (required, at most) arguments of the closure builtins, the collection included.
_CLOSURE_ARITY = {"count": (1, 2), "sum": (1, 2), "sortBy": (2, 3), "reduce": (2, 3)}

_Child = Tree[Token] | Token | None
_Children = abc.Sequence[_Child]


class Builder:
    """Builds the AST of one source; recursion is bounded by the caller's depth check."""

    def __init__(self, source: str, limits: Limits) -> None:
        self._source = source
        self._limits = limits
        self._closure_depth = 0
        self._rules: dict[str, abc.Callable[[_Children], Node]] = {
            "start": self._sequence,
            "sequence": self._sequence,
            "let_expr": self._let,
            "if_expr": self._if,
            "conditional": self._conditional,
            "elvis": self._elvis,
            "piped_call": self._piped_call,
            "piped_closure_call": self._piped_closure_call,
            "binary": self._binary,
            "coalesce": self._binary,
            "comparison": self._comparison,
            "unary": self._unary,
            "keyword_literal": self._keyword_literal,
            "member": self._member,
            "optional_member": self._member,
            "method_call": self._method_call,
            "index": self._index,
            "optional_index": self._index,
            "slice": self._slice,
            "number": self._number,
            "string": self._string,
            "identifier": self._identifier,
            "call": self._call,
            "closure_call": self._closure_call,
            "paren": self._paren,
            "array": self._array,
            "map": self._map,
            "pointer": self._pointer,
            "pointer_member": self._pointer_member,
        }

    def build(self, child: _Child) -> Node:
        """The AST of a parse-tree node."""
        assert isinstance(child, Tree), child
        return self._rules[str(child.data)](child.children)

    def _fail(self, message: str, offset: int | None) -> ExprError:
        return located(message, self._source, offset or 0)

    # Sequences and statements.

    def _sequence(self, children: _Children) -> Node:
        items = tuple(self.build(child) for child in children if isinstance(child, Tree))
        return items[0] if len(items) == 1 else Sequence(items[0].pos, items)

    def _let(self, children: _Children) -> Node:
        _, binding, _, value, _, body = children
        name = _token(binding)
        return Let(name.start_pos or 0, str(name), self.build(value), self.build(body))

    def _if(self, children: _Children) -> Node:
        keyword, test, _, then, _, _, *rest = children
        otherwise = rest[0] if len(rest) == 1 else rest[1]
        return Conditional(_offset(keyword), self.build(test), self.build(then), self.build(otherwise))

    def _conditional(self, children: _Children) -> Node:
        test, mark, then, _, otherwise = children
        return Conditional(_offset(mark), self.build(test), self.build(then), self.build(otherwise))

    def _elvis(self, children: _Children) -> Node:
        # `a ?: b` is expr's ConditionalNode{Cond: a, Exp1: a, Exp2: b}.
        test, mark, _, otherwise = children
        node = self.build(test)
        return Conditional(_offset(mark), node, node, self.build(otherwise))

    # Operators.

    def _binary(self, children: _Children) -> Node:
        left, operator, right = children
        op = _token(operator)
        if str(op) != "??":
            self._check_not_coalesce(left, op)
        return Binary(_offset(op), str(op), self.build(left), self.build(right))

    def _check_not_coalesce(self, left: _Child, op: Token) -> None:
        # parser.go: an operator right after `a ?? b` (unparenthesized) is an error.
        if isinstance(left, Tree) and left.data == "coalesce":
            raise self._fail(
                f"Operator ({op}) and coalesce expressions (??) cannot be mixed. Wrap either by parentheses.",
                op.start_pos,
            )

    def _comparison(self, children: _Children) -> Node:
        operands, comparators = children[0::2], children[1::2]
        result = self.build(operands[0])
        previous = result
        chained = False
        for index, (comparator, operand) in enumerate(zip(comparators, operands[1:], strict=True)):
            assert isinstance(comparator, Tree)
            *negation, op_token = comparator.children
            op = _token(op_token)
            if index == 0:
                self._check_not_coalesce(operands[0], op)
            right = self.build(operand)
            pos = _offset(op)
            if str(op) == "matches" and isinstance(right, Literal) and isinstance(right.value, str):
                self._check_regex(right.value, pos)
            if str(op) in _RELATIONAL and chained:
                result = Binary(pos, "&&", result, Binary(pos, str(op), previous, right))
            else:
                result = Binary(pos, str(op), result, right)
                if negation:
                    result = Unary(pos, "not", result)
            chained = str(op) in _RELATIONAL
            previous = right
        return result

    def _check_regex(self, pattern: str, pos: int) -> None:
        # expr compiles a constant pattern with the program (compiler.go, OpMatchesConst).
        try:
            check_pattern(pattern, self._limits.max_regex_length)
        except OperationError as error:
            raise self._fail(error.message, pos) from None

    def _unary(self, children: _Children) -> Node:
        operator, operand = children
        return Unary(_offset(operator), str(operator), self.build(operand))

    # Postfix: members, indexes, slices, method calls.

    def _member(self, children: _Children) -> Node:
        target, dot, name_tree = children
        name = _token(name_tree)
        optional = str(dot) == "?."
        base = self.build(target)
        chained = isinstance(base, Chain)
        if isinstance(base, Chain):  # `a?.b.c`: `.c` joins the chain started by `?.`
            base = base.body
        node: Node = Member(_offset(name), base, Literal(_offset(name), str(name)), optional)
        return Chain(node.pos, node) if chained or optional else node

    def _method_call(self, children: _Children) -> Node:
        target, dot, name_tree, _, arguments, _ = children
        member = self._member([target, dot, name_tree])
        chained = isinstance(member, Chain)
        if isinstance(member, Chain):
            member = member.body
        node: Node = CallValue(member.pos, member, self._arguments(arguments))
        return Chain(node.pos, node) if chained else node

    def _index(self, children: _Children) -> Node:
        # An index does not join an optional chain (parser.go): `a?.b[0]` fails when `a` is nil.
        target, *marks, key, _ = children
        bracket = _token(marks[-1])
        optional = len(marks) == 2
        node: Node = Member(_offset(bracket), self.build(target), self.build(key), optional)
        return Chain(node.pos, node) if optional else node

    def _slice(self, children: _Children) -> Node:
        target, bracket, start, _, stop, _ = children
        return Slice(
            _offset(bracket),
            self.build(target),
            None if start is None else self.build(start),
            None if stop is None else self.build(stop),
        )

    # Primaries.

    def _number(self, children: _Children) -> Node:
        token = _token(children[0])
        try:
            return Literal(_offset(token), number_value(str(token)))
        except LiteralError as error:
            # parser.go reports a bad literal once it has moved to the next token.
            raise self._fail(error.message, self._next_token_offset(token.end_pos or 0)) from None

    def _next_token_offset(self, offset: int) -> int:
        rest = self._source[offset:]
        while True:
            stripped = rest.lstrip()
            if stripped.startswith("//"):
                newline = stripped.find("\n")
                rest = "" if newline < 0 else stripped[newline:]
            elif stripped.startswith("/*") and "*/" in stripped:
                rest = stripped[stripped.index("*/") + 2 :]
            else:
                rest = stripped
                break
        return len(self._source) - len(rest) if rest else max(len(self._source) - 1, 0)

    def _string(self, children: _Children) -> Node:
        token = _token(children[0])
        return Literal(_offset(token), string_value(str(token)))

    def _keyword_literal(self, children: _Children) -> Node:
        token = _token(children[0])
        return Literal(_offset(token), _KEYWORD_VALUES[str(token)])

    def _identifier(self, children: _Children) -> Node:
        token = _token(children[0])
        return Identifier(_offset(token), str(token))

    def _paren(self, children: _Children) -> Node:
        return self.build(children[1])

    def _array(self, children: _Children) -> Node:
        bracket, arguments, _ = children
        return ArrayLiteral(_offset(bracket), self._arguments(arguments))

    def _map(self, children: _Children) -> Node:
        brace, entries, _ = children
        pairs: list[tuple[Node, Node]] = []
        if isinstance(entries, Tree):
            for entry in entries.children:
                assert isinstance(entry, Tree)
                key_tree, _, value = entry.children
                pairs.append((self._map_key(key_tree), self.build(value)))
        return MapLiteral(_offset(brace), tuple(pairs))

    def _map_key(self, key_tree: _Child) -> Node:
        # parser.go: a name, number or string key is the string of its token; `(expr)` is evaluated.
        assert isinstance(key_tree, Tree)
        key = key_tree.children[0]
        if isinstance(key, Tree):
            return self.build(key)
        token = _token(key)
        text = string_value(str(token)) if token.type == "STRING" else str(token)
        return Literal(_offset(token), text)

    def _pointer(self, children: _Children) -> Node:
        hash_token, name = children
        if self._closure_depth == 0:
            raise self._fail('unexpected token Operator("#")', _offset(hash_token))
        text = "" if name is None else str(name)
        if text not in ("", "index", "acc"):
            raise self._fail(f"unknown pointer #{text}", _offset(hash_token))
        return Pointer(_offset(hash_token), text)

    def _pointer_member(self, children: _Children) -> Node:
        dot, name_tree = children
        if self._closure_depth == 0:
            raise self._fail('unexpected token Operator(".")', _offset(dot))
        name = _token(name_tree)
        return Member(_offset(name), Pointer(_offset(dot), ""), Literal(_offset(name), str(name)), False)

    # Calls.

    def _arguments(self, arguments: _Child) -> tuple[Node, ...]:
        if not isinstance(arguments, Tree):
            return ()
        return tuple(self.build(argument) for argument in arguments.children)

    def _call(self, children: _Children) -> Node:
        name, _, arguments, _ = children
        return self._function(_token(name), self._arguments(arguments))

    def _piped_call(self, children: _Children) -> Node:
        left, _, name, _, arguments, _ = children
        return self._function(_token(name), (self.build(left), *self._arguments(arguments)))

    def _function(self, name: Token, args: tuple[Node, ...]) -> Node:
        if str(name) in _UNSUPPORTED:
            raise self._fail(f"unsupported builtin function {name}", name.start_pos)
        return Call(_offset(name), str(name), args)

    def _closure_call(self, children: _Children) -> Node:
        name, _, arguments, _ = children
        assert isinstance(arguments, Tree)
        first, *rest = arguments.children
        return self._closure(_token(name), self._plain_argument(first), rest, piped=False)

    def _piped_closure_call(self, children: _Children) -> Node:
        left, _, name, _, arguments, _ = children
        rest = arguments.children if isinstance(arguments, Tree) else []
        return self._closure(_token(name), self.build(left), rest, piped=True)

    def _closure(self, name: Token, collection: Node, rest: _Children, *, piped: bool) -> Node:
        if str(name) in _UNSUPPORTED:
            raise self._fail(f"unsupported builtin function {name}", name.start_pos)
        required, at_most = _CLOSURE_ARITY.get(str(name), (2, 2))
        given = len(rest) + 1
        written = 0 if piped else 1  # the arguments inside the parentheses
        if given < required:
            raise self._fail(f"expected at least {required - 1 + written} arguments", name.start_pos)
        if given > at_most:
            raise self._fail(f"too many arguments for {name} (at most {at_most - 1 + written})", name.start_pos)
        self._closure_depth += 1
        try:
            body = self._body(rest[0]) if rest else None
        finally:
            self._closure_depth -= 1
        extra = self._plain_argument(rest[1]) if len(rest) > 1 else None
        return Closure(_offset(name), str(name), collection, body, extra)

    def _body(self, argument: _Child) -> Node:
        assert isinstance(argument, Tree)
        if argument.data == "block":
            return self.build(argument.children[1])
        return self.build(argument)

    def _plain_argument(self, argument: _Child) -> Node:
        # Only a closure's body may be a `{ ... }` block; elsewhere expr reads a map literal.
        assert isinstance(argument, Tree)
        if argument.data == "block":
            raise self._fail('unexpected token Bracket("{")', _offset(argument.children[0]))
        return self.build(argument)


def _token(child: _Child) -> Token:
    """The token of a one-token child (a token itself, or a rule like `member_name` wrapping one)."""
    if isinstance(child, Tree):
        return _token(child.children[0])
    assert isinstance(child, Token), child
    return child


def _offset(child: _Child) -> int:
    return _token(child).start_pos or 0
