"""Adversarial inputs fail fast with `ExprError`: nothing hangs, recurses without bound or
exhausts memory, whatever the expression or the event."""

from __future__ import annotations

import pytest

from orchestration.expr import ExprError, Limits, compile_expr, evaluate

# What each test proves is the error it gets; an input that escaped its bound would hang
# instead (the unbounded versions of these take hours), and this timeout says so.
pytestmark = pytest.mark.timeout(60)


def run(source: str, event: object = None, **kwargs: object) -> object:
    return evaluate(compile_expr(source), event=event, **kwargs)  # type: ignore[arg-type]


def test_ten_thousand_nested_parentheses_are_refused() -> None:
    with pytest.raises(ExprError, match="^expression too long"):
        compile_expr("(" * 10_000 + "1" + ")" * 10_000)
    with pytest.raises(ExprError, match="^expression nested too deeply"):
        compile_expr("(" * 4_000 + "1" + ")" * 4_000)


@pytest.mark.parametrize(
    "source",
    [
        "-" * 5000 + "1",
        "not " * 2000 + "true",
        "+".join(["1"] * 3000),
        " ** ".join(["2"] * 2000),
        "[" * 3000 + "]" * 3000,
        "a" + ".b" * 3000,
        "a < " * 1500 + "b",
        "f(" * 3000 + ")" * 3000,
        "map(x, " * 1000 + "#" + ")" * 1000,
    ],
)
def test_deep_nesting_of_any_kind_is_refused_at_compilation(source: str) -> None:
    with pytest.raises(ExprError, match="^expression nested too deeply"):
        compile_expr(source)


def test_nesting_within_the_limit_compiles_and_runs() -> None:
    assert run("(" * 90 + "1" + ")" * 90) == 1
    assert run("+".join(["1"] * 90)) == 90
    assert run("(" * 30 + "1" + ")" * 30, limits=Limits(max_depth=40)) == 1


def test_a_huge_range_exceeds_the_memory_budget() -> None:
    with pytest.raises(ExprError, match=r"^memory budget exceeded \(1:2\)"):
        run("1..10**9")


def test_catastrophic_regular_expressions_run_in_linear_time() -> None:
    subject = "a" * 200_000 + "!"
    assert run('event.s matches "(a+)+$"', {"s": subject}) is False
    assert run("event.s matches event.p", {"s": subject, "p": "(a|aa)+$"}) is False
    assert run("event.s matches '^(a*)*b'", {"s": subject}) is False


def test_constructs_go_regexp_lacks_are_refused() -> None:
    with pytest.raises(ExprError, match="^error parsing regexp"):
        compile_expr(r"x matches '(a)\\1'")
    with pytest.raises(ExprError, match="^error parsing regexp"):
        run("'x' matches event.p", {"p": "(?=a)"})
    with pytest.raises(ExprError, match="^regular expression too long"):
        run("'x' matches event.p", {"p": "a" * 2000})


@pytest.mark.parametrize(
    "source",
    [
        'reduce(1..64, #acc + #acc, "x")',
        'repeat("x", 100000000)',
        'map(1..900, repeat("x", 2000))',
        "let a = 1..900; let b = map(1..900, a); toJSON(b)",
        "let a = 1..900; string(map(1..900, a))",
        'replace(repeat("a", 1000), "", repeat("b", 1000))',
        "concat(1..500000, 1..500000)",
    ],
)
def test_value_growth_exceeds_the_memory_budget(source: str) -> None:
    with pytest.raises(ExprError, match="^memory budget exceeded"):
        run(source)


@pytest.mark.parametrize(
    "source",
    [
        "map(1..900, map(1..900, #))",
        "map(1..999999, #)",
        "let a = 1..900; let b = map(1..900, a); b == b",
        "count(1..900, any(1..900, # < 0))",
        "let a = 1..900; all(1..900, a == a)",
    ],
)
def test_work_exceeds_the_step_budget(source: str) -> None:
    with pytest.raises(ExprError, match="^step budget exceeded"):
        run(source)


def test_integers_are_bounded() -> None:
    with pytest.raises(ExprError, match="^integer overflow"):
        run("reduce(1..100, #acc * 1000000000000000, 1)")
    assert run("2 ** 5000") == float("inf")  # `**` is a float64 power, as in Go


def test_deeply_nested_events_are_walked_within_bounds() -> None:
    maps: object = 1
    lists: object = 1
    for _ in range(500):
        maps = {"a": maps}
        lists = [lists]
    for source in ("event == event", "toJSON(event)", "string(event)", "event in [event]"):
        for event in (maps, lists):
            with pytest.raises(ExprError, match="^value nested too deeply"):
                run(source, event)
    for source in ("flatten(event)", "max(event)", "mean(event)", "uniq([event, event])"):
        with pytest.raises(ExprError, match="^value nested too deeply"):
            run(source, lists)
    with pytest.raises(ExprError, match="^invalid JSON: nested too deeply"):
        run("fromJSON(event)", "[" * 100_000)


def test_link_calls_are_bounded() -> None:
    with pytest.raises(ExprError, match=r"^too many link calls \(at most 10\)"):
        run('map(1..20, link(event, "x"))', {}, link=lambda obj, name: {})


def test_long_sources_are_refused() -> None:
    with pytest.raises(ExprError, match=r"^expression too long \(10001 characters, at most 10000\)"):
        compile_expr("1" + " " * 10_000)
    compile_expr("1" + " " * 9_999)


def test_the_deepest_program_runs_from_a_deep_call_stack() -> None:
    # The evaluator recurses along the syntax tree: at `max_depth`, with values nested to
    # `max_value_depth`, it must still fit in Python's stack when called from deep inside a worker.
    nested: object = 1
    for _ in range(99):
        nested = [nested]
    programs = [
        compile_expr("(" * 60 + "toJSON(event)" + ")" * 60),
        compile_expr("map([1], " * 49 + "string(event)" + ")" * 49),
        compile_expr(" + ".join(["1"] * 99)),
    ]

    def at_depth(levels: int) -> None:
        if levels:
            at_depth(levels - 1)
            return
        for program in programs:
            evaluate(program, event=nested)

    at_depth(400)
