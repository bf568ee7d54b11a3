"""Error messages and their rendering, in expr-lang's format (file/error.go)."""

from __future__ import annotations

import pickle

import pytest

from orchestration.expr import ExprError, compile_expr, evaluate
from orchestration.expr._errors import format_error, located


def error_of(source: str, event: object = None) -> str:
    with pytest.raises(ExprError) as caught:
        evaluate(compile_expr(source), event=event)
    return str(caught.value)


def test_a_plus_b_fails_at_run_time_with_the_go_text() -> None:
    program = compile_expr("a + b")  # unknown names compile
    with pytest.raises(ExprError) as caught:
        evaluate(program, event={})
    assert str(caught.value) == "invalid operation: <nil> + <nil> (1:3)\n | a + b\n | ..^"
    assert (caught.value.message, caught.value.line, caught.value.column) == ("invalid operation: <nil> + <nil>", 1, 3)
    assert caught.value.source_line == "a + b"


def test_an_incomplete_comparison_is_a_syntax_error_at_eof() -> None:
    with pytest.raises(ExprError) as caught:
        compile_expr("event.a ==")
    assert str(caught.value) == "unexpected token EOF (1:10)\n | event.a ==\n | .........^"


# expr's own parser tests (parser_test.go, TestParse_error), for the inputs handled the same way.
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("foo.", "unexpected end of expression (1:4)\n | foo.\n | ...^"),
        ("a+", "unexpected token EOF (1:2)\n | a+\n | .^"),
        ("a ? (1+2) c", 'unexpected token Identifier("c") (1:11)\n | a ? (1+2) c\n | ..........^'),
        ("[a b]", 'unexpected token Identifier("b") (1:4)\n | [a b]\n | ...^'),
        ("foo.bar(a b)", 'unexpected token Identifier("b") (1:11)\n | foo.bar(a b)\n | ..........^'),
        (
            "{-}",
            "a map key must be a quoted string, a number, a identifier, or an expression enclosed in parentheses "
            '(unexpected token Operator("-")) (1:2)\n | {-}\n | .^',
        ),
        (
            "foo({.bar})",
            "a map key must be a quoted string, a number, a identifier, or an expression enclosed in parentheses "
            '(unexpected token Operator(".")) (1:6)\n | foo({.bar})\n | .....^',
        ),
        ("[1, 2, 3,,]", 'unexpected token Operator(",") (1:10)\n | [1, 2, 3,,]\n | .........^'),
        ("[,]", 'unexpected token Operator(",") (1:2)\n | [,]\n | .^'),
        (
            "{,}",
            "a map key must be a quoted string, a number, a identifier, or an expression enclosed in parentheses "
            '(unexpected token Operator(",")) (1:2)\n | {,}\n | .^',
        ),
        ("{foo:1, bar:2, ,}", 'unexpected token Operator(",") (1:16)\n | {foo:1, bar:2, ,}\n | ...............^'),
        (
            "foo ?? bar || baz",
            "Operator (||) and coalesce expressions (??) cannot be mixed. Wrap either by parentheses. (1:12)\n"
            " | foo ?? bar || baz\n | ...........^",
        ),
        ("0b15", 'bad number syntax: "0b15" (1:4)\n | 0b15\n | ...^'),
        ("0X10G", 'bad number syntax: "0X10G" (1:5)\n | 0X10G\n | ....^'),
        (
            "0o1E",
            'invalid float literal: strconv.ParseFloat: parsing "0o1E": invalid syntax (1:4)\n | 0o1E\n | ...^',
        ),
        (
            "0b1E",
            'invalid float literal: strconv.ParseFloat: parsing "0b1E": invalid syntax (1:4)\n | 0b1E\n | ...^',
        ),
        ("0b1E+6", 'bad number syntax: "0b1E+6" (1:6)\n | 0b1E+6\n | .....^'),
        (
            "0b1E+1",
            'invalid float literal: strconv.ParseFloat: parsing "0b1E+1": invalid syntax (1:6)\n | 0b1E+1\n | .....^',
        ),
        ("1E", 'invalid float literal: strconv.ParseFloat: parsing "1E": invalid syntax (1:2)\n | 1E\n | .^'),
        ("1 not == [1, 2, 5]", 'unexpected token Operator("==") (1:7)\n | 1 not == [1, 2, 5]\n | ......^'),
        ("foo(1; 2; 3)", 'unexpected token Operator(";") (1:6)\n | foo(1; 2; 3)\n | .....^'),
        ("[1; 2; 3]", 'unexpected token Operator(";") (1:3)\n | [1; 2; 3]\n | ..^'),
        (
            "1 + if true { 2 } else { 3 }",
            'unexpected token Operator("if") (1:5)\n | 1 + if true { 2 } else { 3 }\n | ....^',
        ),
        ("if a { 1 } else b", 'unexpected token Identifier("b") (1:17)\n | if a { 1 } else b\n | ................^'),
        ("list | all(#,,)", 'unexpected token Operator(",") (1:14)\n | list | all(#,,)\n | .............^'),
    ],
)
def test_syntax_errors_read_as_expr_writes_them(source: str, expected: str) -> None:
    with pytest.raises(ExprError) as caught:
        compile_expr(source)
    assert str(caught.value) == expected


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "unexpected token EOF"),
        ("a @ b", "unrecognized character: U+0040 '@' (1:3)"),
        ('"abc', "literal not terminated (1:5)"),
        ("'abc\n'", "literal not terminated (1:5)"),
        ("`abc", "literal not terminated (1:5)"),
        ('"\\q"', "invalid char escape (1:3)"),
        ('"\\x4g"', "invalid char escape (1:5)"),
        ("a /* never closed", "unclosed comment (1:18)"),
        ("99999999999999999999", 'invalid integer literal: strconv.ParseInt: parsing "99999999999999999999"'),
        ("1e400", 'invalid float literal: strconv.ParseFloat: parsing "1e400": value out of range'),
        ('"x" + 1 + 1.5e', "invalid float literal"),
        ("#", 'unexpected token Operator("#") (1:1)'),
        (".a", 'unexpected token Operator(".") (1:1)'),
        ("map(xs, #foo)", "unknown pointer #foo (1:9)"),
        ("true.a", 'unexpected token Operator(".") (1:5)'),
        ("all(xs)", "expected at least 2 arguments (1:1)"),
        ("xs | all()", "expected at least 1 arguments (1:6)"),
        ("all(xs, # > 0, 1)", "too many arguments for all (at most 2) (1:1)"),
        ("reduce(xs, #, {1})", 'unexpected token Bracket("{") (1:15)'),
        ('"a" matches "("', "error parsing regexp: missing ): ( (1:5)"),
        ("now()", "unsupported builtin function now (1:1)"),
        ("groupBy(xs, #)", "unsupported builtin function groupBy (1:1)"),
        ("a ?? b ** c", "Operator (**) and coalesce expressions (??) cannot be mixed"),
        ("a ?? b not in c", "Operator (in) and coalesce expressions (??) cannot be mixed"),
        ("a = 1", 'unexpected token Operator("=") (1:3)'),
        # Not expr's: it applies an operator after a pipe call to the call (`len(xs) + 1`); here
        # the pipe is the loosest operator, so parentheses are needed: `(xs | len()) + 1`.
        ("xs | len() + 1", 'unexpected token Operator("+") (1:12)'),
    ],
)
def test_other_syntax_errors(source: str, message: str) -> None:
    with pytest.raises(ExprError) as caught:
        compile_expr(source)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("source", "event", "expected"),
    [
        ("event.user.role", {}, "cannot fetch role from <nil> (1:12)\n | event.user.role\n | ...........^"),
        ("1 % 0", None, "runtime error: integer divide by zero (1:3)\n | 1 % 0\n | ..^"),
        ("event.xs[5]", {"xs": [1]}, "index out of range: 5 (array length is 1) (1:9)"),
        ("event.s.x", {"s": "text"}, "invalid operation: int(string) (1:9)"),  # Go indexes strings by number
        ("event.n.x", {"n": 1}, "cannot fetch x from int (1:9)"),
        ('"a" + 1', None, "invalid operation: string + int (1:5)"),
        ("event.n + true", {"n": 1.5}, "invalid operation: float64 + bool (1:9)"),
        ("not 1", None, "invalid operation: not expects bool, got int (1:1)"),
        ("1 and true", None, "invalid operation: and expects bool, got int (1:3)"),
        ("1 ? 2 : 3", None, "invalid operation: condition expects bool, got int (1:3)"),
        ("foo(1)", None, "unknown function foo (1:1)"),
        ("event.a.b()", {"a": {}}, "invalid operation: cannot call nil (1:9)"),
        ("upper(1)", None, "invalid argument for upper (type int) (1:1)"),
        ("len(1, 2)", None, "invalid number of arguments for len (expected 1, got 2) (1:1)"),
        ("all(event, # > 0)", {}, "builtin all takes only array (got map[string]interface {}) (1:1)"),
        ("filter([1, 2], #)", None, "invalid operation: filter expects bool, got int (1:1)"),
        ("{(1): 2}", None, "invalid map key (type int): keys are strings (1:1)"),
        ("1 in 'abc'", None, 'operator "in" not defined on string (1:3)'),
        ("- 'a'", None, "invalid operation: - string (1:1)"),
        ("'a' < 1", None, "invalid operation: string < int (1:5)"),
        ("'x' matches 1", None, "invalid operation: string matches int (1:5)"),
        ("[1][0:'a']", None, "invalid operation: int(string) (1:4)"),
        ("1 % 1.5", None, "invalid operation: int % float64 (1:3)"),
    ],
)
def test_runtime_errors_are_located_at_the_failing_node(source: str, event: object, expected: str) -> None:
    assert error_of(source, event).startswith(expected)


def test_errors_on_later_lines_point_into_their_line() -> None:
    text = error_of("1 +\n\tfoo(2)")
    assert text == "unknown function foo (2:2)\n |  foo(2)\n | .^"


def test_an_error_on_an_empty_line_shows_only_the_message() -> None:
    assert str(located("boom", "a\n\nb", 2)) == "boom"


def test_format_without_location_is_the_message() -> None:
    assert format_error("expression too long", 0, 0, "") == "expression too long"
    assert str(ExprError("plain")) == "plain"


def test_errors_keep_their_location_through_pickling() -> None:
    with pytest.raises(ExprError) as caught:
        evaluate(compile_expr("a + b"), event={})
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (copy.message, copy.line, copy.column, copy.source_line) == (
        "invalid operation: <nil> + <nil>",
        1,
        3,
        "a + b",
    )
    assert str(copy) == str(caught.value)
