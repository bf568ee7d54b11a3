"""Triggers over HTTP (spec §2.6 E12–E17, §3.6–§3.8, §17.6), on both databases."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.integration.helpers import assert_error, create_workflow
from tests.testing.link_server import LinkServer
from tests.testing.server import ServerProcess

DELAY = [{"delay": {"duration": "1ms"}}]


@pytest.fixture
def client(api_server: ServerProcess) -> httpx.Client:
    return api_server.client()


@pytest.fixture
def workflow_id(client: httpx.Client) -> str:
    return create_workflow(client, DELAY)


def create_trigger(client: httpx.Client, prefix: str = "", **body: Any) -> dict[str, Any]:
    res = client.post(f"{prefix}/triggers", json=body)
    assert res.status_code == 201, res.text
    data: dict[str, Any] = res.json()["data"]
    return data


@pytest.mark.parametrize("prefix", ["", "/api/orchestration", "/v2", "/api/orchestration/v2"])
def test_a_created_trigger_reads_back_with_the_original_fields(
    client: httpx.Client, workflow_id: str, prefix: str
) -> None:
    created = create_trigger(client, prefix, workflowID=workflow_id, event="SAVED_PAYMENT")
    uuid.UUID(created["id"])
    assert created["createdAt"].endswith("Z")
    # §3.6: name always, workflow always (null), filter/vars/version omitted when unset.
    assert created == {
        "name": "", "event": "SAVED_PAYMENT", "workflowID": workflow_id, "workflow": None,
        "id": created["id"], "createdAt": created["createdAt"],
    }
    read = client.get(f"{prefix}/triggers/{created['id']}")
    assert read.status_code == 200
    assert read.json()["data"] == created


def test_every_field_is_kept_and_the_request_workflow_is_echoed_once(client: httpx.Client, workflow_id: str) -> None:
    echoed = {"anything": ["the", "client", "sent"]}
    created = create_trigger(
        client, "/v2", name="Payouts", event="COMMITTED_TRANSACTIONS", version="v2", workflowID=workflow_id,
        filter='event.ledger == "default"', vars={"account": "event.transactions[0].postings[0].destination"},
        workflow=echoed,
    )
    assert created["workflow"] == echoed
    assert (created["name"], created["version"], created["filter"]) == ("Payouts", "v2", 'event.ledger == "default"')
    assert created["vars"] == {"account": "event.transactions[0].postings[0].destination"}
    read = client.get(f"/v2/triggers/{created['id']}").json()["data"]
    assert read == {**created, "workflow": None}


def test_an_empty_filter_is_stored_and_shown_as_empty(client: httpx.Client, workflow_id: str) -> None:
    created = create_trigger(client, workflowID=workflow_id, event="X", filter="")
    assert created["filter"] == ""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "validating data: missing event"),
        ({"workflowID": "W"}, "validating data: missing event"),
        ({"event": "X"}, "validating data: missing workflow id"),
        ({"event": "X", "workflowID": "W", "filter": "event.a =="},
         "validating data: error compiling expression 'event.a =='"),
        ({"event": "X", "workflowID": "W", "vars": {"x": "("}}, "validating data: error compiling expression '('"),
        ({"event": "X", "workflowID": "W", "vars": {"a": 1}}, "variable 'a' must be a string"),
        ({"event": 7, "workflowID": "W"}, "'event' must be a string"),
        ({"event": "X", "workflowID": "W", "vars": ["a"]}, "'vars' must be an object"),
    ],
)
def test_bad_trigger_data_is_a_400_naming_the_problem(
    client: httpx.Client, body: dict[str, Any], message: str
) -> None:
    assert_error(client.post("/v2/triggers", json=body), 400, "VALIDATION", message)


def test_a_compile_error_shows_where_the_expression_breaks(client: httpx.Client, workflow_id: str) -> None:
    body = assert_error(
        client.post("/triggers", json={"event": "X", "workflowID": workflow_id, "filter": "event.amount > ("}),
        400, "VALIDATION",
    )
    assert body["errorMessage"].startswith("validating data: error compiling expression 'event.amount > (': ")
    assert "(1:" in body["errorMessage"] and "^" in body["errorMessage"]


@pytest.mark.parametrize("raw", [b"{", b"", b"[1]", b'"text"'])
def test_a_body_that_is_no_trigger_is_a_400(client: httpx.Client, raw: bytes) -> None:
    res = client.post("/triggers", content=raw, headers={"Content-Type": "application/json"})
    assert_error(res, 400, "VALIDATION")


def test_unknown_names_and_functions_compile(client: httpx.Client, workflow_id: str) -> None:
    create_trigger(client, workflowID=workflow_id, event="X", filter="a + b", vars={"r": 'link(event, "x").name'})


def test_a_trigger_on_an_unknown_or_deleted_workflow_is_a_404(client: httpx.Client, workflow_id: str) -> None:
    for missing in (str(uuid.uuid4()), "not-a-uuid"):
        assert_error(
            client.post("/triggers", json={"event": "X", "workflowID": missing}),
            404, "NOT_FOUND", "workflow does not exists",
        )
    assert client.delete(f"/workflows/{workflow_id}").status_code == 204
    assert_error(
        client.post("/triggers", json={"event": "X", "workflowID": workflow_id}), 404, "NOT_FOUND",
        "workflow does not exists",
    )


def test_delete_hides_the_trigger_but_keeps_its_occurrences_listable(client: httpx.Client, workflow_id: str) -> None:
    name = f"doomed-{uuid.uuid4()}"
    trigger = create_trigger(client, workflowID=workflow_id, event="X", name=name)
    assert client.delete(f"/triggers/{trigger['id']}").status_code == 204
    assert_error(client.get(f"/triggers/{trigger['id']}"), 404, "NOT_FOUND")
    assert_error(client.delete(f"/triggers/{trigger['id']}"), 404, "NOT_FOUND")
    assert client.get("/v2/triggers", params={"name": name}).json()["cursor"]["data"] == []
    occurrences = client.get(f"/triggers/{trigger['id']}/occurrences")
    assert occurrences.status_code == 200 and occurrences.json() == {"data": []}


def test_unknown_and_malformed_trigger_ids(client: httpx.Client) -> None:
    unknown = str(uuid.uuid4())
    assert_error(client.get(f"/triggers/{unknown}"), 404, "NOT_FOUND")
    assert_error(client.get("/triggers/NOT-A-UUID"), 404, "NOT_FOUND")
    assert_error(client.post(f"/v2/triggers/{unknown}/test", json={}), 404, "NOT_FOUND")
    # E16: occurrences of a trigger never made are an empty list.
    assert client.get(f"/triggers/{unknown}/occurrences").json() == {"data": []}
    cursor = client.get(f"/v2/triggers/{unknown}/occurrences").json()["cursor"]
    assert cursor == {"pageSize": 15, "hasMore": False, "data": []}


def test_the_name_filter_is_a_case_insensitive_substring_with_no_wildcards(
    client: httpx.Client, workflow_id: str
) -> None:
    tag = uuid.uuid4().hex[:10]
    made = {
        n: create_trigger(client, workflowID=workflow_id, event="X", name=n)["id"]
        for n in (f"Payout-{tag}-EUR", f"payout-{tag}-usd", f"refund-{tag}", f"pay%{tag}", f"pay_{tag}")
    }

    def listed(name: str) -> set[str]:
        return {t["id"] for t in client.get("/v2/triggers", params={"name": name}).json()["cursor"]["data"]}

    assert listed(f"PAYOUT-{tag}") == {made[f"Payout-{tag}-EUR"], made[f"payout-{tag}-usd"]}
    assert listed(f"%{tag}") == {made[f"pay%{tag}"]}
    assert listed(f"_{tag}") == {made[f"pay_{tag}"]}
    v1 = client.get("/triggers", params={"name": f"refund-{tag}"}).json()["data"]
    assert [t["id"] for t in v1] == [made[f"refund-{tag}"]]


def test_v1_lists_one_page_without_a_cursor_and_v2_pages_with_one(client: httpx.Client, workflow_id: str) -> None:
    tag = f"paged-{uuid.uuid4().hex[:8]}"
    ids = [create_trigger(client, workflowID=workflow_id, event="X", name=f"{tag}-{n}")["id"] for n in range(17)]
    first = client.get("/triggers", params={"name": tag}).json()
    assert [t["id"] for t in first["data"]] == ids[:15]  # the first page only
    assert len(client.get("/triggers", params={"name": tag, "pageSize": 20}).json()["data"]) == 17
    page1 = client.get("/v2/triggers", params={"name": tag, "pageSize": 10}).json()["cursor"]
    assert page1["hasMore"] is True and [t["id"] for t in page1["data"]] == ids[:10]
    page2 = client.get("/v2/triggers", params={"cursor": page1["next"]}).json()["cursor"]
    assert page2["hasMore"] is False and [t["id"] for t in page2["data"]] == ids[10:]
    back = client.get("/v2/triggers", params={"cursor": page2["previous"]}).json()["cursor"]
    assert [t["id"] for t in back["data"]] == ids[:10]
    # A cursor of another list (instances) does not fit the triggers' filters.
    instances = client.get("/v2/instances", params={"pageSize": 1}).json()["cursor"]
    if instances.get("next"):
        assert_error(client.get("/v2/triggers", params={"cursor": instances["next"]}), 400, "VALIDATION")
    assert_error(client.get("/v2/triggers", params={"pageSize": "abc"}), 400, "VALIDATION")


# E17, with the Go test-suite's cases (§17.6 #55).
NIL_PLUS_NIL = "invalid operation: <nil> + <nil> (1:3)\n | a + b\n | ..^"


@pytest.mark.parametrize(
    ("trigger", "event", "result"),
    [
        ({}, {}, {"filter": None, "variables": None}),
        ({"filter": 'event.user.role == "admin"', "vars": {"role": "event.user.role"}}, {"user": {"role": "admin"}},
         {"filter": {"match": True}, "variables": {"role": {"value": "admin"}}}),
        ({"filter": 'event.user.role == "admin"', "vars": {"role": "event.user.role"}}, {"user": {"role": "user"}},
         {"filter": {"match": False}, "variables": None}),
        ({"filter": "a + b"}, {}, {"filter": {"match": False, "error": NIL_PLUS_NIL}, "variables": None}),
        ({"vars": {"test": "a + b"}}, {}, {"filter": None, "variables": {"test": {"error": NIL_PLUS_NIL}}}),
        # Q-44 fixed: "" is no filter here as at dispatch.
        ({"filter": "", "vars": {"n": "event.amount"}}, {"amount": 1200000},
         {"filter": None, "variables": {"n": {"value": "1200000"}}}),
        ({"filter": "event.amount", "vars": {"n": "event.amount"}}, {"amount": 3},
         {"filter": {"match": False}, "variables": None}),
        ({"vars": {"empty": '""', "flag": "event.test", "joined": 'event.foo + "-YYY"'}},
         {"test": True, "foo": "XXX"},
         {"filter": None, "variables": {"empty": {}, "flag": {"value": "true"}, "joined": {"value": "XXX-YYY"}}}),
    ],
)
def test_test_evaluates_the_filter_then_the_variables(
    client: httpx.Client, workflow_id: str, trigger: dict[str, Any], event: Any, result: dict[str, Any]
) -> None:
    made = create_trigger(client, "/v2", workflowID=workflow_id, event="XXX", **trigger)
    res = client.post(f"/v2/triggers/{made['id']}/test", json=event)
    assert res.status_code == 200, res.text
    assert res.json() == {"data": result}


def test_test_exists_in_v2_only_and_needs_json(client: httpx.Client, workflow_id: str) -> None:
    made = create_trigger(client, workflowID=workflow_id, event="XXX")
    assert_error(client.post(f"/triggers/{made['id']}/test", json={}), 404, "NOT_FOUND")
    res = client.post(f"/v2/triggers/{made['id']}/test", content=b"{", headers={"Content-Type": "application/json"})
    assert_error(res, 400, "VALIDATION")


def test_link_errors_are_shown_per_variable(client: httpx.Client, workflow_id: str) -> None:
    made = create_trigger(
        client, "/v2", workflowID=workflow_id, event="XXX",
        vars={"missing": 'link(event, "nowhere").name', "args": 'link(event)', "twice": 'link(event, "dup").name'},
    )
    event = {"links": [{"name": "dup", "uri": "http://127.0.0.1:9/a"}, {"name": "dup", "uri": "http://127.0.0.1:9/b"}]}
    variables = client.post(f"/v2/triggers/{made['id']}/test", json=event).json()["data"]["variables"]
    assert variables["missing"]["error"] == "link 'nowhere' not defined for object"
    assert variables["args"]["error"].startswith("expect two arguments, got 1")
    assert variables["twice"]["error"] == "multiple link 'dup' found for object"


def test_link_follows_the_named_link_and_reports_http_errors(client: httpx.Client, workflow_id: str) -> None:
    with LinkServer() as links:
        made = create_trigger(
            client, "/v2", workflowID=workflow_id, event="XXX",
            filter='link(event, "source_account").role == "admin"',
            vars={"role": 'link(event, "source_account").role', "gone": 'link(event, "gone").name'},
        )
        event = {
            "links": [
                {"name": "source_account", "uri": links.resource({"role": "admin"})},
                {"name": "gone", "uri": links.resource(None, status=410)},
            ]
        }
        result = client.post(f"/v2/triggers/{made['id']}/test", json=event).json()["data"]
    assert result["filter"] == {"match": True}
    assert result["variables"]["role"] == {"value": "admin"}
    assert result["variables"]["gone"] == {"error": "unexpected status code when reading resource: 410"}
