"""The conformance vectors: spec §12.2 (filters), §11.6 (variables), §17.7 item 62 (`link`)."""

from __future__ import annotations

import pytest

from orchestration.expr import ExprError, compile_expr, evaluate, stringify


def run(source: str, event: object = None, **kwargs: object) -> object:
    return evaluate(compile_expr(source), event=event, **kwargs)  # type: ignore[arg-type]


def admin_link(obj: object, name: str) -> object:
    return {"role": "admin"}


@pytest.mark.parametrize(
    ("source", "event", "expected"),
    [
        ("event.a.b.c == 3", {"a": {"b": {"c": 3}}}, True),
        ("event.a.b.c == 3", {"a": {"b": {"c": 3.0}}}, True),
        ("event.a.b.c > 3", {"a": {"b": {"c": 3.141592653589793}}}, True),
        ("event.a.b.c < 3.14", {"a": {"b": {"c": 3.14}}}, False),
        ('event.status == "SUCCEEDED"', {"status": "SUCCEEDED"}, True),
        ("len(event.postings) > 1", {"postings": [{}]}, False),
        ('event.ledger == "other"', {"ledger": "default", "transactions": []}, False),
        ('event.ledger == "default"', {"ledger": "default", "transactions": []}, True),
    ],
)
def test_filter_vectors(source: str, event: object, expected: object) -> None:
    assert run(source, event) is expected


@pytest.mark.parametrize(
    ("source", "event", "expected"),
    [
        ("event.metadata.psp", {"metadata": {"psp": "stripe"}}, "stripe"),
        ("event.amount", {"amount": 1200000}, "1200000"),
        ("event.amount", {"amount": 1200000.0}, "1200000"),
        ("event.test", {"test": True}, "true"),
        ('event.foo + "-YYY"', {"foo": "XXX"}, "XXX-YYY"),
        ("1 + 2", {}, "3"),
        ("event.missing", {}, "<nil>"),
        ("event.pi", {"pi": 3.14}, "3.14"),
    ],
)
def test_variable_vectors(source: str, event: object, expected: str) -> None:
    assert stringify(run(source, event)) == expected


def test_link_follows_the_callable_passed_in() -> None:
    assert stringify(run('link(event, "source_account").role', {"links": []}, link=admin_link)) == "admin"


def test_link_receives_the_object_and_the_name() -> None:
    calls: list[tuple[object, str]] = []

    def link(obj: object, name: str) -> object:
        calls.append((obj, name))
        return {"name": "foo"}

    event = {"links": [{"name": "destination_account", "uri": "http://gateway/x"}]}
    assert run('link(event, "destination_account").name', event, link=link) == "foo"
    assert calls == [(event, "destination_account")]


def test_link_checks_its_arguments_as_the_go_service_does() -> None:
    with pytest.raises(ExprError, match="^expect two arguments, got 1"):
        run("link(event)", {}, link=admin_link)
    with pytest.raises(ExprError, match="^second parameter must be a string"):
        run("link(event, 1)", {}, link=admin_link)


def test_link_errors_of_the_callable_propagate_unchanged() -> None:
    class LinkNotDefined(Exception):
        pass

    def link(obj: object, name: str) -> object:
        raise LinkNotDefined(f"link '{name}' not defined for object")

    with pytest.raises(LinkNotDefined):
        run('link(event, "unknown")', {}, link=link)


def test_link_without_a_callable_is_an_unknown_function() -> None:
    with pytest.raises(ExprError, match="^unknown function link"):
        run('link(event, "x")', {})


def test_only_boolean_true_is_a_match_the_caller_decides() -> None:
    # The evaluator returns the value; triggers match on `is True` (spec §11.4).
    assert run("event.count", {"count": 1}) == 1
    assert run('event.status == "A" ? "yes" : nil', {"status": "A"}) == "yes"
