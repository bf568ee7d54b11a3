"""Precedence, associativity and shapes exactly as expr's parser builds them (parser/parser.go).

A small model of expr's Pratt parser serves as the oracle: for random operator soups, our lark
grammar must group operands exactly as it does, or fail where it fails.
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Lark, logger

from orchestration.expr import ExprError, compile_expr
from orchestration.expr._ast import Binary, Identifier, Node, Unary
from orchestration.expr._grammar import GRAMMAR

# parser/operator/operator.go
PRECEDENCE = {
    "or": 10, "||": 10, "and": 15, "&&": 15,
    "==": 20, "!=": 20, "<": 20, ">": 20, ">=": 20, "<=": 20,
    "in": 20, "matches": 20, "contains": 20, "startsWith": 20, "endsWith": 20,
    "..": 25, "+": 30, "-": 30, "*": 60, "/": 60, "%": 60, "**": 100, "^": 100, "??": 500,
}  # fmt: skip
UNARY = {"not": 50, "!": 50, "-": 90, "+": 90}
RIGHT = {"**", "^"}
RELATIONAL = {"<", ">", "<=", ">="}
NEGATABLE = ("in", "matches", "contains", "startsWith", "endsWith")


class Mixed(Exception):
    """expr refuses `??` followed by another operator in the same loop."""


class ExprPratt:
    """parseExpression / parsePrimary / parseComparison of parser.go, over operand names only."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = [*tokens, "<eof>"]
        self.at = 0

    def parse(self) -> str:
        result = self.expression(0)
        assert self.tokens[self.at] == "<eof>"
        return result

    def expression(self, precedence: int) -> str:
        left = self.primary()
        previous = ""
        while True:
            op = self.tokens[self.at]
            negate = op == "not"
            if negate:
                if PRECEDENCE[self.tokens[self.at + 1]] < precedence:
                    break
                self.at += 1
                op = self.tokens[self.at]
            if op not in PRECEDENCE or PRECEDENCE[op] < precedence:
                break
            self.at += 1
            if previous == "??" and op != "??":
                raise Mixed
            if op in RELATIONAL:
                left = self.comparison(left, op)
            else:
                right = self.expression(PRECEDENCE[op] if op in RIGHT else PRECEDENCE[op] + 1)
                left = f"({left} {op} {right})"
                if negate:
                    left = f"(not {left})"
            previous = op
        return left

    def comparison(self, left: str, op: str) -> str:
        root = ""
        while True:
            right = self.expression(PRECEDENCE[op] + 1)
            compared = f"({left} {op} {right})"
            root = f"({root} && {compared})" if root else compared
            left = right
            if self.tokens[self.at] not in RELATIONAL:
                return root
            op = self.tokens[self.at]
            self.at += 1

    def primary(self) -> str:
        token = self.tokens[self.at]
        self.at += 1
        if token in UNARY:
            return f"({token} {self.expression(UNARY[token])})"
        if token == "(":
            inner = self.expression(0)
            assert self.tokens[self.at] == ")"
            self.at += 1
            return inner
        return token


def render(node: Node) -> str:
    if isinstance(node, Binary):
        return f"({render(node.left)} {node.op} {render(node.right)})"
    if isinstance(node, Unary):
        return f"({node.op} {render(node.operand)})"
    assert isinstance(node, Identifier), node
    return node.name


def parsed(source: str) -> str:
    return render(compile_expr(source).root)


@pytest.mark.parametrize(
    ("source", "grouping"),
    [
        ("a + b * c", "(a + (b * c))"),
        ("a * b + c", "((a * b) + c)"),
        ("a - b - c", "((a - b) - c)"),
        ("a ** b ** c", "(a ** (b ** c))"),
        ("a ^ b ^ c", "(a ^ (b ^ c))"),
        ("-a ** b", "(- (a ** b))"),
        ("-a * b", "((- a) * b)"),
        ("a ** -b ** c", "(a ** (- (b ** c)))"),
        ("not a == b", "((not a) == b)"),
        ("not a * b", "(not (a * b))"),
        ("a * not b * c", "(a * (not (b * c)))"),
        ("! a and b", "((! a) and b)"),
        ("a or b and c", "(a or (b and c))"),
        ("a || b && c", "(a || (b && c))"),
        ("a and b == c", "(a and (b == c))"),
        ("a == b + c", "(a == (b + c))"),
        ("a .. b + c", "(a .. (b + c))"),
        ("a + b .. c", "((a + b) .. c)"),
        ("a < b < c", "((a < b) && (b < c))"),
        ("a < b <= c > d", "(((a < b) && (b <= c)) && (c > d))"),
        ("a == b < c", "((a == b) < c)"),
        ("a < b == c", "((a < b) == c)"),
        ("a not in b", "(not (a in b))"),
        ("a not contains b or c", "((not (a contains b)) or c)"),
        ("not a not in b", "(not ((not a) in b))"),
        ("a ?? b ?? c", "((a ?? b) ?? c)"),
        ("a + b ?? c", "(a + (b ?? c))"),
        ("-a ?? b", "(- (a ?? b))"),
        ("a ?? -b ?? c", "(a ?? (- (b ?? c)))"),
        ("(a ?? b) + c", "((a ?? b) + c)"),
        ("a in b and c matches d", "((a in b) and (c matches d))"),
    ],
)
def test_operators_group_as_in_expr(source: str, grouping: str) -> None:
    assert parsed(source) == grouping


OPERATORS = [*PRECEDENCE, *(f"not {word}" for word in NEGATABLE)]


@st.composite
def operator_soups(draw: st.DrawFn, depth: int = 0) -> list[str]:
    tokens: list[str] = []
    for index in range(draw(st.integers(1, 4))):
        if index:
            tokens += draw(st.sampled_from(OPERATORS)).split()
        tokens += draw(st.lists(st.sampled_from(list(UNARY)), max_size=2))
        if depth < 2 and draw(st.integers(0, 4)) == 0:
            tokens += ["(", *draw(operator_soups(depth + 1)), ")"]
        else:
            tokens.append(draw(st.sampled_from(["a", "b", "c", "d"])))
    return tokens


@settings(max_examples=400, deadline=None)
@given(operator_soups())
def test_random_operator_soups_group_as_expr_pratt_parser_does(tokens: list[str]) -> None:
    try:
        expected = ExprPratt(tokens).parse()
    except Mixed:
        with pytest.raises(ExprError, match="coalesce expressions"):
            compile_expr(" ".join(tokens))
        return
    assert parsed(" ".join(tokens)) == expected


def test_the_grammar_leaves_only_the_intended_conflicts_to_shift() -> None:
    # Unary operands and `let` bodies extend as far as they can (see _grammar.py); any other
    # conflict would be a grammar mistake silently resolved by lark.
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        Lark(GRAMMAR, parser="lalr", lexer="basic", maybe_placeholders=True, debug=True)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    conflicts: dict[str, set[str]] = {}
    terminal = ""
    for message in messages:
        if message.startswith("Shift/Reduce conflict for terminal "):
            terminal = message.split()[-4].rstrip(":")
        elif message.startswith(" * <"):
            conflicts.setdefault(message[4:-1], set()).add(terminal)
    assert not [m for m in messages if "Reduce/Reduce" in m]
    assert conflicts.pop("unary : NOT mul_expr") == {"STAR", "SLASH", "PERCENT"}
    assert conflicts.pop("unary : BANG mul_expr") == {"STAR", "SLASH", "PERCENT"}
    power_and_coalesce = conflicts.pop("pow_expr : coalesce")
    assert len(power_and_coalesce) == 3 and "CIRCUMFLEX" in power_and_coalesce  # `**`, `^`, `??`
    assert set(conflicts) <= {"sequence : expr", "sequence : expr __start_star_0"}
    assert all(terminals == {"SEMICOLON"} for terminals in conflicts.values())


@pytest.mark.parametrize(
    "source",
    [
        "a + b",
        "foo.bar",
        "link(event, 'x')",
        "unknown_function(1, 2)",
        "x.y.z ?? 'default'",
        "event.map.filter",  # builtin names are plain names after a dot
        "{map: 1, true: 2, nil: 3, 1: 4, 'k': 5}",
        "$env.event",
        "a?.[0]?.b",
        "xs[1:], xs[:2], xs[:]",
    ],
)
def test_compilation_needs_no_environment(source: str) -> None:
    if ", " in source and source.startswith("xs"):
        for part in source.split(", "):
            compile_expr(part)
    else:
        compile_expr(source)


def test_comments_and_whitespace_are_ignored() -> None:
    assert parsed("a /* b */ + // c\n d") == "(a + d)"
