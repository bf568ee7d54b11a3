"""The fake Ledger's Numscript path (`script.plain`, no postings), over real HTTP with httpx."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.testing.fake_stack import FakeStack

NO_FUNDS = "running numscript: script execution failed: account(s) @{} had/have insufficient funds"
COMPILE_PREFIX = "unexpected error while forging log: failed to compile script: compilation error: "
RED, BLUE, GREY, CLEAR = "\x1b[31m", "\x1b[34m", "\x1b[90m", "\x1b[0m"


def program(source: str, destination: str, amount: object = 100, asset: str = "USD", *, overdraft: bool) -> str:
    """The exact text the orchestration sends (FLOWS-2026 §21.1)."""
    clause = " allowing unbounded overdraft" if overdraft else ""
    return f"send [{asset} {amount}] (\n  source = @{source}{clause}\n  destination = @{destination}\n)"


def script(text: str, **extra: Any) -> dict[str, Any]:
    return {"metadata": None, "script": {"plain": text}, **extra}


def post(http: httpx.Client, ledger: str, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
    return http.post(f"/api/ledger/v2/{ledger}/transactions", json=body, **kwargs)


# -- semantics -------------------------------------------------------------------------------------------------


def test_overdraft_clause_lets_the_source_go_negative(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    r = post(http, ledger, script(program("users:123", "liabilities:payouts", 1000, "USD/2", overdraft=True),
                                  metadata={"k": "v"}, timestamp="2024-05-02T10:11:12Z"))
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["postings"] == [{"source": "users:123", "destination": "liabilities:payouts", "amount": 1000,
                                 "asset": "USD/2"}]
    assert (data["id"], data["metadata"], data["timestamp"], data["reverted"]) == (0, {"k": "v"},
                                                                                   "2024-05-02T10:11:12Z", False)
    assert data["preCommitVolumes"]["users:123"]["USD/2"] == {"input": 0, "output": 0, "balance": 0}
    assert data["postCommitVolumes"]["users:123"]["USD/2"] == {"input": 0, "output": 1000, "balance": -1000}
    assert stack.balance(ledger, "users:123", "USD/2") == -1000
    assert stack.balance(ledger, "liabilities:payouts", "USD/2") == 1000
    assert stack.transactions(ledger) == [data]


def test_without_the_clause_the_source_must_hold_the_funds(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    body = script(program("alice", "bob", 100, overdraft=False))
    empty = post(http, ledger, body)
    assert empty.status_code == 400
    assert empty.json() == {"errorCode": "INSUFFICIENT_FUND", "errorMessage": NO_FUNDS.format("alice")}
    assert stack.transactions(ledger) == []
    stack.fund(ledger, "alice", "USD", 60)
    assert post(http, ledger, body).json()["errorCode"] == "INSUFFICIENT_FUND"  # 60 < 100: still nothing
    stack.fund(ledger, "alice", "USD", 40)
    assert post(http, ledger, body).status_code == 200
    assert (stack.balance(ledger, "alice", "USD"), stack.balance(ledger, "bob", "USD")) == (0, 100)


def test_a_negative_balance_is_reached_only_with_the_clause(stack: FakeStack, http: httpx.Client,
                                                            ledger: str) -> None:
    assert post(http, ledger, script(program("a", "b", 5, overdraft=True))).status_code == 200
    again = post(http, ledger, script(program("a", "b", 1, overdraft=False)))
    assert again.json()["errorCode"] == "INSUFFICIENT_FUND"
    assert post(http, ledger, script(program("a", "b", 0, overdraft=False))).status_code == 200  # 0 never fails
    assert stack.balance(ledger, "a", "USD") == -5


def test_world_is_unbounded_and_refuses_the_clause(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    assert post(http, ledger, script(program("world", "bank", 2**80, overdraft=False))).status_code == 200
    assert stack.balance(ledger, "world", "USD") == -(2**80) and stack.balance(ledger, "bank", "USD") == 2**80
    text = program("world", "bank", overdraft=True)
    r = post(http, ledger, script(text))
    assert r.status_code == 400 and r.json()["errorCode"] == "COMPILATION_FAILED"
    # compiler/error.go's rendering of a logic error over `@world allowing unbounded overdraft` (line 2, col 11).
    line = "  source = @world allowing unbounded overdraft\n"
    assert r.json()["errorMessage"] == (
        f"{COMPILE_PREFIX}{RED}-->{CLEAR} error:2:11\n"
        f"  {BLUE}|{CLEAR}\n"
        f"{RED}2 | {CLEAR}{GREY}{line[:11]}{CLEAR}{line[11:-1]}{GREY}\n{CLEAR}"
        f"  {BLUE}|{CLEAR} {' ' * 11}{RED}{'^' * 35}{CLEAR} @world is already set to an unbounded overdraft\n")


def test_force_does_not_apply_to_scripts(http: httpx.Client, ledger: str) -> None:
    r = http.post(f"/api/ledger/v2/{ledger}/transactions", params={"force": "true"},
                  json=script(program("empty", "b", 1, overdraft=False)))
    assert r.json()["errorCode"] == "INSUFFICIENT_FUND"


@pytest.mark.parametrize("text", [
    "send [EUR/2 7] (\n\tsource = @src\n\tdestination = @dst\n)",  # tabs
    "\n\nsend   [EUR/2   7]   (\n  source   =   @src\n\n\n  destination = @dst\n)\n\n",  # blank lines, no spaces
    "send [EUR/2 7] (\r\n  source = @src\r\n  destination = @dst\r\n)",  # CRLF
    "send [EUR/2 7] (\n  destination = @dst\n  source = @src\n)",  # either order
    "/* move */ send [EUR/2 7] ( /* why */\n  source = @src /* here */\n  destination = @dst\n)",  # comments
    "send [EUR/2 007] (\n  source = @src\n  destination = @dst\n)",  # a big.Int parses leading zeros
])
def test_whitespace_and_comments_are_tolerated_as_numscript_does(stack: FakeStack, http: httpx.Client, ledger: str,
                                                                  text: str) -> None:
    stack.fund(ledger, "src", "EUR/2", 7)
    r = post(http, ledger, script(text))
    assert r.status_code == 200, r.text
    assert r.json()["data"]["postings"] == [{"source": "src", "destination": "dst", "amount": 7, "asset": "EUR/2"}]


# -- compilation failures --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "says"), [
    (program("a", "b", "<nil>", overdraft=True), "no viable alternative at input '[USD]'"),
    (program("a", "b", "<nil>", overdraft=True), "token recognition error at: '<'"),
    (program("users:1 2", "b", overdraft=True), "mismatched input '2' expecting NEWLINE"),
    (program('"x"', "b", overdraft=True), "token recognition error at: '@\"'"),
    (program('users:"x"', "b", overdraft=True), "token recognition error at: ':'"),
    (program("a", "b", overdraft=True).replace("(\n", "( // a line comment eats its newline\n"),
     "missing NEWLINE at 'source'"),
    (program("users:x", "b\n)\nsend [USD 1] (\n  source = @world\n  destination = @c", overdraft=True),
     "fake stack: only one `send"),
    (program("a", "b", overdraft=True)[:-1], "missing ')' at '<EOF>'"),
    (program("a", "b", overdraft=True)[:-2], "mismatched input '<EOF>' expecting NEWLINE"),
    (program("a", "b", overdraft=True).replace("\n", " "), "missing NEWLINE at 'source'"),
    ("send [USD 1] (\n  source = @a\n  \n  destination = @b\n)", "extraneous input '\\n' expecting 'destination'"),
    ("vars {\n  account $a\n}\n" + program("a", "b", overdraft=False), "fake stack:"),
    (program("a", "b", overdraft=True).replace("unbounded", "unbounded "), "token recognition error at: 'allowing "),
    (program("a", "b", overdraft=True).replace("[USD 100]", "[10 100]"),
     "the expression in monetary literal should be of type 'asset' instead of 'number'"),
    (program("a", "b", overdraft=True).replace("[USD 100]", "USD"),
     "send monetary: the expression should be of type 'monetary' instead of 'asset'"),
    (program("a", "b", asset="usd", overdraft=True), "token recognition error at: 'u'"),
    ("  ", "mismatched input '<EOF>' expecting {NEWLINE, 'vars'"),
])
def test_programs_that_do_not_compile_are_compilation_failed(stack: FakeStack, http: httpx.Client, ledger: str,
                                                             text: str, says: str) -> None:
    r = post(http, ledger, script(text))
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["errorCode"] == "COMPILATION_FAILED"
    assert body["errorMessage"].startswith(COMPILE_PREFIX + f"{RED}-->{CLEAR} error:")
    assert says in body["errorMessage"]
    assert stack.transactions(ledger) == []


def test_lexer_errors_are_all_listed_then_the_parser_error(http: httpx.Client, ledger: str) -> None:
    message = post(http, ledger, script(program("a", "b", "<nil>", overdraft=True))).json()["errorMessage"]
    reasons = [line.rsplit(f"{CLEAR} ", 1)[-1] for line in message.splitlines() if "^" in line]
    assert reasons == ["token recognition error at: '<'", "token recognition error at: 'ni'",
                       "token recognition error at: 'l'", "token recognition error at: '>'",
                       "no viable alternative at input '[USD]'"]
    assert re.findall(r"--> ?\x1b\[0m error:(\d+:\d+)", message) == ["1:10", "1:11", "1:13", "1:14", "1:15"]


def test_vars_for_a_program_without_any_are_extraneous(http: httpx.Client, ledger: str) -> None:
    body = {"script": {"plain": program("world", "b", overdraft=False), "vars": {"amount": "1"}}}
    r = post(http, ledger, body)
    assert r.json() == {"errorCode": "COMPILATION_FAILED", "errorMessage": "unexpected error while forging log: "
                        "failed to execute program: failed to set vars from JSON: extraneous variable $amount"}


@pytest.mark.parametrize(("body", "code"), [
    ({"script": {"plain": "send"}, "postings": [{"source": "world", "destination": "a", "amount": 1,
                                                  "asset": "USD"}]}, "VALIDATION"),
    ({"script": {"plain": ""}}, "NO_POSTINGS"),
    ({"script": {"plain": 42}}, "VALIDATION"),
    ({"script": "send"}, "VALIDATION"),
])
def test_script_body_shapes(http: httpx.Client, ledger: str, body: dict[str, Any], code: str) -> None:
    assert post(http, ledger, body).json()["errorCode"] == code


# -- same plumbing as postings ---------------------------------------------------------------------------------


def test_idempotency_key_replays_a_script_transaction(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    body, key = script(program("a", "b", overdraft=True), reference="r1"), {"Idempotency-Key": "inst-1-0"}
    first = post(http, ledger, body, headers=key)
    second = post(http, ledger, body, headers=key)
    assert first.status_code == second.status_code == 200 and second.json() == first.json()
    assert second.headers["Idempotency-Hit"] == "true" and "Idempotency-Hit" not in first.headers
    assert len(stack.transactions(ledger)) == 1 and stack.balance(ledger, "a", "USD") == -100
    other = post(http, ledger, script(program("a", "b", 101, overdraft=True)), headers=key)
    assert other.status_code == 400 and "invalid idempotency hash" in other.json()["errorMessage"]


def test_a_failed_compilation_does_not_burn_the_key(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    key = {"Idempotency-Key": "k"}
    assert post(http, ledger, script("send [USD <nil>]"), headers=key).json()["errorCode"] == "COMPILATION_FAILED"
    # The key was never stored, so another body is no idempotency conflict.
    assert post(http, ledger, script(program("a", "b", overdraft=True)), headers=key).status_code == 200


def test_duplicate_reference_is_a_conflict(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    body = script(program("assets:stripe", "transit:pending", 1500, overdraft=True), reference="transit:pending")
    assert post(http, ledger, body).json()["data"]["reference"] == "transit:pending"
    again = post(http, ledger, body)
    assert again.status_code == 409
    assert again.json() == {"errorCode": "CONFLICT", "errorMessage": 'duplicate reference "transit:pending"'}
    assert stack.balance(ledger, "assets:stripe", "USD") == -1500


def test_request_log_shows_the_script(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    stack.clear_requests()
    text = program("a", "b", overdraft=True)
    post(http, ledger, script(text), headers={"Idempotency-Key": "ik"})
    [rec] = stack.requests("POST", f"/api/ledger/v2/{ledger}/transactions")
    assert (rec.json, rec.idempotency_key, rec.status) == (script(text), "ik", 200)


# -- robustness ------------------------------------------------------------------------------------------------

_names = st.sampled_from(["a", "users:1", "world", "x_y:z", "", " ", '"', "\n", "<nil>", "a-b", "@"])
_near_programs = st.builds(
    lambda src, dst, amount, asset, od, cut: program(src, dst, amount, asset, overdraft=od)[:cut],
    _names, _names, st.one_of(st.integers(0, 10**30), st.sampled_from(["<nil>", "-1", "1.5", ""])),
    st.sampled_from(["USD", "EUR/2", "usd", "U SD", "[", ""]), st.booleans(), st.integers(1, 200))


@settings(max_examples=100, deadline=None)
@given(text=st.one_of(st.text(max_size=120), _near_programs))
def test_any_script_text_gets_a_2xx_or_a_4xx_json_error(
    stack: FakeStack, _client: httpx.Client, token: str, text: str
) -> None:
    name = f"p{uuid.uuid4().hex[:10]}"
    stack.create_ledger(name)
    r = post(_client, name, script(text), headers={"Authorization": f"Bearer {token}"})
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        body = r.json()
        assert set(body) == {"errorCode", "errorMessage"} and body["errorCode"] in {
            "COMPILATION_FAILED", "INSUFFICIENT_FUND", "NO_POSTINGS", "VALIDATION"}
    else:
        assert len(r.json()["data"]["postings"]) == 1


def test_an_address_with_a_dash_is_a_bridge_like_any_other(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    # Ledger v2.2 accepts '-' in addresses: the bridge of FLOWS-2026's worked example.
    r = post(http, ledger, script(program("users:1", "liabilities:payouts-pending", overdraft=True)))
    assert r.status_code == 200, r.text
    assert stack.balance(ledger, "liabilities:payouts-pending", "USD") == 100
    assert stack.balance(ledger, "users:1", "USD") == -100
