"""Every operator, member access and control form, with expr's runtime semantics."""

from __future__ import annotations

import math

import pytest

from orchestration.expr import ExprError, compile_expr, evaluate

EVENT = {
    "n": 7,
    "f": 2.5,
    "s": "héllo",
    "xs": [1, 2, 3],
    "m": {"a": 1, "b": {"c": None}},
    "nil": None,
    "big": 123456789012345678901234567890,
}


def run(source: str, event: object = EVENT) -> object:
    return evaluate(compile_expr(source), event=event)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # arithmetic: ints stay ints, `/` and `**` give floats
        ("1 + 2", 3),
        ("event.n - 10", -3),
        ("event.n * 3", 21),
        ("event.n / 2", 3.5),
        ("4 / 2", 2.0),
        ("event.n % 3", 1),
        ("-7 % 3", -1),
        ("7 % -3", 1),
        ("2 ** 10", 1024.0),
        ("2 ^ 3", 8.0),
        ("event.f + 1", 3.5),
        ("event.f * 2", 5.0),
        ("event.big + 1", 123456789012345678901234567891),
        ("event.big * 10", 1234567890123456789012345678900),
        ("1 / 0", math.inf),
        ("-1 / 0", -math.inf),
        ("0 ** -1", math.inf),
        ("-event.n", -7),
        ("+event.n", 7),
        ("+'text'", "text"),
        ("-(-2.5)", 2.5),
        # strings
        ('"a" + "b"', "ab"),
        ("'single' + `raw\\n`", "singleraw\\n"),
        ('"tab\\there"', "tab\there"),
        ('"\\u00e9\\x41\\101\\u{1F600}"', "éAA😀"),
        ("`a``b`", "a`b"),
        # comparisons
        ("3 == 3.0", True),
        ("1 != 2", True),
        ("'a' < 'b'", True),
        ("2 >= 2.0", True),
        ("event.f <= 2", False),
        ("nil == nil", True),
        ("event.nil == nil", True),
        ("0 == nil", False),
        ("0 == false", False),
        ("1 == true", False),
        ("[1, 2] == [1.0, 2]", True),
        ("{a: [1]} == {a: [1.0]}", True),
        ("{a: 1} == {b: 1}", False),
        ("'1' == 1", False),
        # logic: short-circuits, the right operand is the result as it is
        ("true and false", False),
        ("false and undefined_function()", False),
        ("true or undefined_function()", True),
        ("true && 5", 5),
        ("false || 'x'", "x"),
        ("not false", True),
        ("!true", False),
        # membership and string tests
        ("2 in event.xs", True),
        ("2.0 in event.xs", True),
        ("5 not in event.xs", True),
        ("'a' in event.m", True),
        ("'z' in event.m", False),
        ("1 in nil", False),
        ("'ell' in ['hello']", False),
        ("event.s contains 'll'", True),
        ("event.s startsWith 'hé'", True),
        ("event.s endsWith 'lo'", True),
        ("event.s not endsWith 'lo'", False),
        ("nil contains 'x'", False),
        ("'x' startsWith nil", False),
        ("'abc123' matches '[0-9]+$'", True),
        ("'abc' matches '^b'", False),
        ("'abc' not matches 'z'", True),
        ("nil matches 'x'", False),
        # ranges
        ("1..3", [1, 2, 3]),
        ("3..1", []),
        ("1.9..3.2", [1, 2, 3]),
        # ternary, elvis, coalescing, if, let, sequences
        ("event.n > 5 ? 'big' : 'small'", "big"),
        ("false ? 1 : true ? 2 : 3", 2),
        ("true ?: 1", True),
        ("event.missing ?? 'default'", "default"),
        ("event.n ?? 'default'", 7),
        ("false ?? true", False),
        ("if event.n > 10 { 'a' } else if event.n > 5 { 'b' } else { 'c' }", "b"),
        ("let x = event.n; let y = x * 2; x + y", 21),
        ("let event = 1; event + 1", 2),
        ("1; 2; 3", 3),
        ("1; 2;", 2),
        # members, indexes, slices
        ("event.m.a", 1),
        ("event['m']['a']", 1),
        ("event.m.b.c", None),
        ("event.missing", None),
        ("event.xs[0]", 1),
        ("event.xs[-1]", 3),
        ("event.xs[1.9]", 2),
        ("event.xs[1:]", [2, 3]),
        ("event.xs[:-1]", [1, 2]),
        ("event.xs[:]", [1, 2, 3]),
        ("event.xs[-10:10]", [1, 2, 3]),
        ("event.xs[2:1]", []),
        ("'abc'[1:]", "bc"),
        ("'abc'[0]", 97),  # Go indexes the bytes of a string
        ("event[nil]", None),
        ("{'': 1}[nil]", 1),
        # optional chaining
        ("event.missing?.a", None),
        ("event.missing?.a.b.c", None),
        ("event.missing?.[0]", None),
        ("event.m?.a", 1),
        ("event.missing?.a ?? 'x'", "x"),
        # pipes
        ("event.s | upper()", "HÉLLO"),
        ("event.xs | map(# * 2) | sum()", 12),
        ("'a,b' | split(',') | join('-')", "a-b"),
        # identifiers
        ("unknown_name", None),
        ("$env.event.n", 7),
        # literals
        ("1_000_000", 1000000),
        ("0x1F", 31),
        ("0o17", 15),
        ("0b101", 5),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("1.", 1.0),
        ("[1, 'a', nil, true, [2]]", [1, "a", None, True, [2]]),
        ("{a: 1, 'b': 2, 3: 3, (event.s): 4}", {"a": 1, "b": 2, "3": 3, "héllo": 4}),
    ],
)
def test_operator_semantics(source: str, expected: object) -> None:
    result = run(source)
    assert result == expected
    assert type(result) is type(expected)


def test_nan_results_follow_ieee() -> None:
    assert math.isnan(run("0 / 0"))  # type: ignore[arg-type]
    assert math.isnan(run("(-8) ** 0.5"))  # type: ignore[arg-type]
    assert run("0 / 0 == 0 / 0") is False


def test_an_index_does_not_join_an_optional_chain() -> None:
    # parser.go: `a?.b[0]` wraps the chain `a?.b`, then indexes nil.
    with pytest.raises(ExprError, match="^cannot fetch 0 from <nil>"):
        run("event.missing?.b[0]")


def test_member_access_never_reaches_python_attributes() -> None:
    assert run("event.__class__") is None
    assert run("$env.__builtins__") is None
    assert run("event.m.keys") is None
    with pytest.raises(ExprError, match="cannot call nil"):
        run("event.m.items()")
    with pytest.raises(ExprError, match=r"invalid operation: int\(string\)"):
        run("event.s.__class__")


def test_let_variables_are_scoped_to_their_body() -> None:
    assert run("[let x = 1; x, x]") == [1, None]
