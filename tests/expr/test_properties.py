"""Open-ended inputs: any text compiles or raises `ExprError`; any compiled program, run on any
JSON event, returns a JSON-like value or raises `ExprError` (never another exception), within
the bounds."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.expr import ExprError, Limits, compile_expr, evaluate, stringify

VOCABULARY = [
    *"+ - * / % ** ^ == != < > <= >= ! && || ?? ?. ? : .. . , ; | ( ) [ ] { } # = @ & $".split(),
    *"and or not in matches contains startsWith endsWith let if else true false nil".split(),
    *"event a b x len upper split map filter all reduce count sum sortBy link now groupBy".split(),
    *"0 1 -1 42 3.14 1e3 0x1F 0b101 0o17 1_000 .5 1. 1e 0b15 99999999999999999999".split(),
    '"s"',
    "'q'",
    "`raw`",
    '"\\n\\u00e9"',
    '"\\q"',
    '"open',
    "#index",
    "#acc",
    "/* c */",
    "// c\n",
    "\t",
    "\n",
]

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["a", "b", "c", "id"]), inner, max_size=4)
    ),
    max_leaves=20,
)
events = st.dictionaries(st.sampled_from(["a", "b", "items", "s", "n", "links"]), json_values, max_size=6)


@st.composite
def token_soups(draw: st.DrawFn) -> str:
    tokens = draw(st.lists(st.sampled_from(VOCABULARY), max_size=25))
    separators = draw(st.lists(st.sampled_from(["", " "]), min_size=len(tokens), max_size=len(tokens)))
    return "".join(token + separator for token, separator in zip(tokens, separators, strict=True))


ATOMS = [
    "event", "event.a", "event.b", "event.items", "event.s", "event.n", "event.a.b", "event?.a?.b",
    "event['a']", "event.items[0]", "event.items[-1]", "event.items[1:]", "1", "2.5", "0", "-3",
    '"x"', "'abc'", "true", "false", "nil", "[1, 2, 3]", "{a: 1, b: 'x'}", "1..5", "missing",
]  # fmt: skip
UNARY = ["-", "not ", "!", "+"]
BINARY = [
    "+", "-", "*", "/", "%", "**", "==", "!=", "<", ">", "<=", ">=", "and", "or", "??", "in",
    "not in", "contains", "startsWith", "endsWith", "matches", "..",
]  # fmt: skip
CALLS = [
    "len", "upper", "lower", "trim", "string", "int", "float", "abs", "first", "last", "keys", "values",
    "toJSON", "max", "min", "sum", "reverse", "uniq", "flatten", "sort", "type", "split", "join",
    "repeat", "get", "take", "concat", "mean", "median", "fromJSON", "round", "indexOf", "replace",
]  # fmt: skip
CLOSURES = ["all", "any", "none", "one", "filter", "map", "count", "find", "findIndex", "sortBy"]


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 7 if depth < 3 else 0))
    if kind == 0:
        return draw(st.sampled_from(ATOMS))
    if kind == 1:
        return f"({draw(expressions(depth + 1))} {draw(st.sampled_from(BINARY))} {draw(expressions(depth + 1))})"
    if kind == 2:
        return f"{draw(st.sampled_from(UNARY))}({draw(expressions(depth + 1))})"
    if kind == 3:
        args = draw(st.lists(expressions(depth + 1), min_size=1, max_size=3))
        return f"{draw(st.sampled_from(CALLS))}({', '.join(args)})"
    if kind == 4:
        body = draw(st.sampled_from(["#", "# > 1", ".a", "#index", "string(#)", "# ?? 0", "{# != nil}"]))
        return f"{draw(st.sampled_from(CLOSURES))}({draw(expressions(depth + 1))}, {body})"
    if kind == 5:
        return f"({draw(expressions(depth + 1))} ? {draw(expressions(depth + 1))} : {draw(expressions(depth + 1))})"
    if kind == 6:
        return f"{draw(expressions(depth + 1))}.{draw(st.sampled_from(['a', 'b', 'id']))}"
    return f"reduce({draw(expressions(depth + 1))}, #acc + #, {draw(expressions(depth + 1))})"


def is_json_like(value: object) -> bool:
    if isinstance(value, list):
        return all(is_json_like(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and is_json_like(item) for key, item in value.items())
    return value is None or isinstance(value, bool | int | float | str)


def link(obj: object, name: str) -> object:
    return {"role": "admin", "name": name}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200) | token_soups())
def test_any_text_compiles_or_raises_expr_error(source: str) -> None:
    try:
        compile_expr(source)
    except ExprError as error:
        assert str(error)


LIMITS = Limits(max_steps=20_000, max_memory=200_000)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions() | token_soups(), events)
def test_any_program_on_any_event_returns_json_or_raises_expr_error(source: str, event: dict[str, object]) -> None:
    try:
        program = compile_expr(source)
    except ExprError:
        return
    try:
        result = evaluate(program, event=event, link=link, limits=LIMITS)
    except ExprError as error:
        assert str(error)
        return
    assert is_json_like(result)
    try:
        assert isinstance(stringify(result, limits=LIMITS), str)
    except ExprError:
        pass
