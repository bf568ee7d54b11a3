"""Every builtin, plain and with closures, against expr's semantics (builtin/builtin.go)."""

from __future__ import annotations

import json
import re

import pytest

from orchestration.expr import ExprError, compile_expr, evaluate

EVENT = {
    "items": [{"id": "a", "qty": 2}, {"id": "b", "qty": 0}, {"id": "c", "qty": 5}],
    "numbers": [3, 1.5, -2],
    "words": ["b", "a", "c"],
    "meta": {"z": 1, "a": 2},
    "text": "  Hello World  ",
}


def run(source: str, event: object = EVENT) -> object:
    return evaluate(compile_expr(source), event=event)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("len([1, 2])", 2),
        ("len({a: 1})", 1),
        ("len('héllo')", 5),
        ("type(nil)", "nil"),
        ("type(1)", "int"),
        ("type(1.5)", "float"),
        ("type('a')", "string"),
        ("type(true)", "bool"),
        ("type([])", "array"),
        ("type({})", "map"),
        ("abs(-3)", 3),
        ("abs(-2.5)", 2.5),
        ("ceil(1.2)", 2.0),
        ("floor(-1.2)", -2.0),
        ("round(2.5)", 3.0),
        ("round(-2.5)", -3.0),
        ("round(3)", 3.0),
        ("int(3.9)", 3),
        ("int(-3.9)", -3),
        ("int('42')", 42),
        ("int('-7')", -7),
        ("int('123456789012345678901234567890')", 123456789012345678901234567890),
        ("float(3)", 3.0),
        ("float('1.5e3')", 1500.0),
        ("string(1.5)", "1.5"),
        ("string(1200000.0)", "1.2e+06"),
        ("string([1, 'a', nil])", "[1 a <nil>]"),
        ("string({b: 1, a: true})", "map[a:true b:1]"),
        ("trim(event.text)", "Hello World"),
        ("trim('xxaxx', 'x')", "a"),
        ("trimPrefix('prefix-x', 'prefix-')", "x"),
        ("trimPrefix(' x')", "x"),
        ("trimSuffix('x.json', '.json')", "x"),
        ("upper('abc')", "ABC"),
        ("lower('ABC')", "abc"),
        ("split('a,b,c', ',')", ["a", "b", "c"]),
        ("split('a,b,c', ',', 2)", ["a", "b,c"]),
        ("split('a,b', ',', 0)", []),
        ("split('abc', '')", ["a", "b", "c"]),
        ("split('abc', '', 2)", ["a", "bc"]),
        ("splitAfter('a,b,c', ',')", ["a,", "b,", "c"]),
        ("replace('aaa', 'a', 'b')", "bbb"),
        ("replace('aaa', 'a', 'b', 2)", "bba"),
        ("repeat('ab', 3)", "ababab"),
        ("join(['a', 'b'], '-')", "a-b"),
        ("join(['a', 'b'])", "ab"),
        ("indexOf('héllo', 'l')", 3),  # Go counts bytes
        ("lastIndexOf('hello', 'l')", 3),
        ("indexOf('hello', 'z')", -1),
        ("hasPrefix('hello', 'he')", True),
        ("hasSuffix('hello', 'lo')", True),
        ("max(1, 3, 2)", 3),
        ("max(event.numbers)", 3),
        ("min(event.numbers)", -2),
        ("max([1, [5, 2]], 4)", 5),
        ("max([])", None),
        ("max('a')", "a"),
        ("mean([1, 2, 3, 4])", 2.5),
        ("mean([])", 0.0),
        ("median([3, 1, 2])", 2.0),
        ("median([4, 1, 2, 3])", 2.5),
        ("toJSON({b: [1, 2.5], a: 'x<y'})", '{\n  "a": "x\\u003cy",\n  "b": [\n    1,\n    2.5\n  ]\n}'),
        ("toJSON(1200000.0)", "1200000"),
        ("toJSON([])", "[]"),
        ("fromJSON('{\"a\": [1, 2.5, null]}')", {"a": [1, 2.5, None]}),
        ("fromJSON('12345678901234567890')", 12345678901234567890),
        ("toBase64('hi')", "aGk="),
        ("fromBase64('aGk=')", "hi"),
        ("first([1, 2])", 1),
        ("last([1, 2])", 2),
        ("first([])", None),
        ("first(nil)", None),
        ("get([1, 2], 5)", None),
        ("get([1, 2], -1)", 2),
        ("get({a: 1}, 'a')", 1),
        ("get(nil, 'a')", None),
        ("take([1, 2, 3], 2)", [1, 2]),
        ("take([1], 5)", [1]),
        ("keys(event.meta)", ["z", "a"]),
        ("values(event.meta)", [1, 2]),
        ("toPairs({a: 1})", [["a", 1]]),
        ("fromPairs([['a', 1], ['b', 2]])", {"a": 1, "b": 2}),
        ("reverse([1, 2, 3])", [3, 2, 1]),
        ("uniq([1, 1.0, 2, 'a', 'a'])", [1, 2, "a"]),
        ("concat([1], [2, 3], [])", [1, 2, 3]),
        ("flatten([1, [2, [3, []]]])", [1, 2, 3]),
        ("sort(event.words)", ["a", "b", "c"]),
        ("sort(event.numbers, 'desc')", [3, 1.5, -2]),
    ],
)
def test_plain_builtins(source: str, expected: object) -> None:
    result = run(source)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("all(event.items, .qty >= 0)", True),
        ("all([], false)", True),
        ("any(event.items, .qty > 4)", True),
        ("none(event.items, .qty > 10)", True),
        ("one(event.items, .qty == 0)", True),
        ("one([1, 1], # == 1)", False),
        ("filter(event.items, .qty > 0) | map(.id)", ["a", "c"]),
        ("map(event.items, {.id + string(#index)})", ["a0", "b1", "c2"]),
        ("map(1..3, # * 2)", [2, 4, 6]),
        ("count(event.items, .qty > 0)", 2),
        ("count([true, false, true])", 2),
        ("sum(event.items, .qty)", 7),
        ("sum([1, 2.5])", 3.5),
        ("sum([])", 0),
        ("find(event.items, .qty > 1).id", "a"),
        ("findIndex(event.items, .id == 'c')", 2),
        ("findLast(event.items, .qty > 1).id", "c"),
        ("findLastIndex(event.items, .qty > 1)", 2),
        ("find(event.items, .qty > 100)", None),
        ("reduce(1..4, #acc + #)", 10),
        ("reduce(1..4, #acc + #, 100)", 110),
        ("reduce(['a', 'b'], #acc + #, '')", "ab"),
        ("sortBy(event.items, .qty) | map(.id)", ["b", "a", "c"]),
        ("sortBy(event.items, .qty, 'desc') | map(.id)", ["c", "a", "b"]),
        ("map([[1, 2], [3]], sum(#))", [3, 3]),
        ("map([[1, 2], [3]], map(#, # * 10))", [[10, 20], [30]]),
        ("filter(event.items, {let q = .qty; q > 1 and q < 5})", [{"id": "a", "qty": 2}]),
        ("event.items | any(.id == 'b')", True),
        ("[true, false] | count()", 1),
        ("all(event.items, .id in ['a', 'b', 'c'],)", True),
    ],
)
def test_closure_builtins(source: str, expected: object) -> None:
    result = run(source)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("len(1)", "invalid argument for len (type int)"),
        ("abs('a')", "invalid argument for abs (type string)"),
        ("int('1.5')", "invalid operation: int(1.5)"),
        ("int([])", "invalid operation: int([]interface {})"),
        ("float('abc')", "invalid operation: float(abc)"),
        ("float('1e400')", "invalid operation: float(1e400)"),
        ("trim(1)", "invalid argument for trim (type int)"),
        ("split('a')", "invalid number of arguments for split (expected 2 or 3, got 1)"),
        ("repeat('a', -1)", "invalid argument for repeat (expected positive integer, got -1)"),
        ("join([1])", "invalid argument for join"),
        ("max(1, 'a')", "invalid argument for max (type string)"),
        ("mean(['a'])", "invalid argument for mean (type string)"),
        ("fromJSON('{')", "invalid JSON"),
        ("fromJSON('NaN')", "invalid JSON: NaN is not a JSON value"),
        ("toJSON(0 / 0)", "json: unsupported value: NaN"),
        ("fromBase64('***')", "illegal base64 data"),
        ("keys([])", "cannot get keys from slice"),
        ("values(nil)", "cannot get values from invalid"),
        ("take(1, 1)", "cannot take from int"),
        ("take([1], 1.5)", "cannot take float64 elements"),
        ("reverse('ab')", "cannot reverse string"),
        ("concat([1], 2)", "cannot concat int"),
        ("sort([1, 'a'])", "invalid operation"),
        ("sort([1], 'up')", "invalid order up, expected asc or desc"),
        ("sortBy([1], #, 'up')", "unknown order, use asc or desc"),
        ("reduce([], #acc)", "reduce of empty array with no initial value"),
        ("all(nil, true)", "builtin all takes only array (got <nil>)"),
        ("sum(['a'])", "invalid operation: string + int"),
        ("count([1])", "invalid operation: count expects bool, got int"),
        ("fromPairs([[1, 2]])", "invalid pair key"),
    ],
)
def test_builtin_errors(source: str, message: str) -> None:
    with pytest.raises(ExprError, match=re.escape(message)):
        run(source)


def test_to_json_round_trips_through_json() -> None:
    document = run("toJSON(event)")
    assert isinstance(document, str)
    assert json.loads(document) == EVENT
