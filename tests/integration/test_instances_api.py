"""Instances over HTTP: run, list, events, abort, history (spec §2.6 E5–E11, §17.3–17.4)."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.integration.helpers import (
    assert_error,
    create_workflow,
    get_instance,
    run,
    wait_stage,
    wait_terminated,
)
from tests.testing.server import ServerProcess


@pytest.fixture
def client(api_server: ServerProcess) -> httpx.Client:
    return api_server.client()


def test_empty_workflow_terminates_without_status(client: httpx.Client) -> None:
    wf = create_workflow(client, [])
    started = run(client, wf)
    assert started["terminated"] is False and "status" not in started and started["workflowID"] == wf
    done = wait_terminated(client, started["id"])
    assert "terminatedAt" in done and "error" not in done and "status" not in done


def test_wait_true_answers_the_finished_instance(client: httpx.Client) -> None:
    wf = create_workflow(client, [{"delay": {"duration": "50ms"}}, {"noop": {}}])
    done = run(client, wf, wait="true")
    assert done["terminated"] is True and len(done["status"]) == 2


def test_wait_true_reports_the_instance_error(client: httpx.Client) -> None:
    wf = create_workflow(client, [{"wait_event": {}}])
    done = run(client, wf, wait="1")
    assert done["terminated"] is True
    assert "Event" in done["error"] and "required" in done["error"]


def test_variables_are_interpolated_and_shown_in_history(client: httpx.Client) -> None:
    wf = create_workflow(client, [{"delay": {"duration": "${d}"}}])
    started = time.monotonic()
    done = run(client, wf, {"d": "300ms"}, wait="true")
    assert time.monotonic() - started >= 0.3
    assert not done.get("error")
    history = client.get(f"/instances/{done['id']}/history").json()["data"]
    assert [(h["name"], h["input"], h["terminated"]) for h in history] == [("RunDelay", {"duration": "300ms"}, True)]
    assert client.get(f"/instances/{done['id']}/stages/0/history").json() == {"data": []}


def test_bad_variable_fails_the_stage_with_a_history_entry(client: httpx.Client) -> None:
    wf = create_workflow(client, [{"delay": {"duration": "${d}"}}])
    done = run(client, wf, {"d": "xyz"}, wait="true")
    assert "Duration" in done["error"]
    assert done["status"][0]["error"] == done["error"]
    history = client.get(f"/instances/{done['id']}/history").json()["data"]
    assert history[0]["error"] == done["error"] and history[0]["terminated"] is True  # Q-24 fixed


def test_runtime_one_of_failure_and_past_until(client: httpx.Client) -> None:
    both = create_workflow(client, [{"delay": {"duration": "1s", "until": "2030-01-01T00:00:00Z"}}])
    assert run(client, both, wait="true")["error"]
    past = create_workflow(client, [{"delay": {"until": "2001-01-01T00:00:00Z"}}])
    done = run(client, past, wait="true")
    assert done["terminated"] and "error" not in done


@pytest.mark.parametrize("body", [b'{"a":1}', b"[]", b'"x"', b"{"])
def test_bad_run_bodies_are_400(client: httpx.Client, body: bytes) -> None:
    wf = create_workflow(client, [])
    res = client.post(f"/workflows/{wf}/instances", content=body, headers={"Content-Type": "application/json"})
    assert_error(res, 400, "VALIDATION")


def test_run_body_null_means_no_variables(client: httpx.Client) -> None:
    wf = create_workflow(client, [])
    res = client.post(f"/workflows/{wf}/instances", content=b"null", headers={"Content-Type": "application/json"})
    assert res.status_code == 201


def test_unknown_ids_are_404(client: httpx.Client) -> None:
    unknown = str(uuid.uuid4())
    assert_error(client.post(f"/workflows/{unknown}/instances"), 404, "NOT_FOUND")
    assert_error(client.get(f"/instances/{unknown}"), 404, "NOT_FOUND", "Instance not found")
    assert_error(client.post(f"/instances/{unknown}/events", json={"name": "x"}), 404, "NOT_FOUND")
    assert_error(client.put(f"/instances/{unknown}/abort"), 404, "NOT_FOUND")
    assert_error(client.get(f"/instances/{unknown}/history"), 404, "NOT_FOUND")
    assert_error(client.get(f"/instances/{unknown}/stages/0/history"), 404, "NOT_FOUND")
    assert_error(client.get("/instances/not-a-uuid"), 404, "NOT_FOUND")


def test_an_event_ends_the_waiting_stage_and_later_ones_are_refused(client: httpx.Client) -> None:
    wf = create_workflow(client, [{"wait_event": {"event": "continue"}}])
    inst = run(client, wf)["id"]
    wait_stage(client, inst, 0)
    assert client.post(f"/instances/{inst}/events", json={"name": "continue"}).status_code == 204
    done = wait_terminated(client, inst)
    assert "error" not in done
    history = client.get(f"/instances/{inst}/history").json()["data"]
    assert [(h["name"], h["input"]) for h in history] == [("RunWaitEvent", {"event": "continue"})]
    # After the end: no more events.
    assert_error(client.post(f"/instances/{inst}/events", json={"name": "continue"}), 400, "VALIDATION")


@pytest.mark.parametrize("body", [b"", b"x", b"{}", b'{"name":""}', b'{"name":3}', b"[]"])
def test_bad_event_bodies_are_400(client: httpx.Client, body: bytes) -> None:
    wf = create_workflow(client, [{"wait_event": {"event": "x"}}])
    inst = run(client, wf)["id"]
    res = client.post(f"/instances/{inst}/events", content=body, headers={"Content-Type": "application/json"})
    assert_error(res, 400, "VALIDATION")
    client.put(f"/instances/{inst}/abort")


@pytest.mark.parametrize("stage", [{"delay": {"duration": "1h"}}, {"wait_event": {"event": "never"}}])
def test_abort_answers_204_and_the_instance_reads_canceled(client: httpx.Client, stage: dict[str, object]) -> None:
    wf = create_workflow(client, [stage, {"noop": {}}])
    inst = run(client, wf)["id"]
    wait_stage(client, inst, 0)
    assert client.put(f"/instances/{inst}/abort").status_code == 204
    done = get_instance(client, inst)  # ended by the abort itself, not later
    assert done["terminated"] is True and done["error"] == "canceled"
    assert [(s["stage"], s["error"]) for s in done["status"]] == [(0, "canceled")]
    history = client.get(f"/instances/{inst}/history").json()["data"]
    assert history[0]["error"] == "canceled" and history[0]["terminated"] is True
    # Aborting again changes nothing.
    assert client.put(f"/instances/{inst}/abort").status_code == 204
    assert get_instance(client, inst)["terminatedAt"] == done["terminatedAt"]


def test_listing_filters_running_and_hides_deleted_workflows(client: httpx.Client) -> None:
    waiting = create_workflow(client, [{"wait_event": {"event": "never"}}])
    empty = create_workflow(client, [])
    waiting_ids = [run(client, waiting)["id"] for _ in range(3)]
    empty_ids = [run(client, empty)["id"] for _ in range(2)]
    for inst in empty_ids:
        wait_terminated(client, inst)

    def ids(params: dict[str, str]) -> set[str]:
        return {i["id"] for i in client.get("/instances", params=params).json()["data"]}

    assert ids({"workflowID": waiting}) == set(waiting_ids)
    assert ids({"workflowID": empty}) == set(empty_ids)
    assert ids({"workflowID": waiting, "running": "true"}) == set(waiting_ids)
    assert ids({"workflowID": empty, "running": "1"}) == set()
    assert set(waiting_ids) <= ids({"running": "TRUE"})
    items = client.get("/instances", params={"workflowID": waiting}).json()["data"]
    assert all("status" not in i for i in items)
    v2 = client.get("/v2/instances", params={"workflowID": waiting, "pageSize": 2}).json()["cursor"]
    assert len(v2["data"]) == 2 and v2["hasMore"]
    rest = client.get("/v2/instances", params={"cursor": v2["next"]}).json()["cursor"]
    assert {i["id"] for i in v2["data"] + rest["data"]} == set(waiting_ids)
    assert client.delete(f"/workflows/{waiting}").status_code == 204
    assert ids({"workflowID": waiting}) == set()
    assert get_instance(client, waiting_ids[0])["workflowID"] == waiting  # still readable
    for inst in waiting_ids:
        client.put(f"/instances/{inst}/abort")


def test_stage_history_number_must_be_an_integer(client: httpx.Client) -> None:
    wf = create_workflow(client, [{"noop": {}}])
    inst = run(client, wf, wait="true")["id"]
    assert_error(client.get(f"/instances/{inst}/stages/abc/history"), 404, "NOT_FOUND")
    assert_error(client.get(f"/instances/{inst}/stages/99/history"), 404, "NOT_FOUND", "Instance not found")
    assert client.get(f"/instances/{inst}/stages/0/history").json() == {"data": []}


def test_deleted_workflow_can_still_run(client: httpx.Client) -> None:
    wf = create_workflow(client, [{"noop": {}}])
    client.delete(f"/workflows/{wf}")
    assert run(client, wf, wait="true")["terminated"] is True


def test_reads_of_an_instance_embed_its_workflow(client: httpx.Client) -> None:  # FLOWS-2026 §28.6 #89, #90
    workflow_id = create_workflow(client, [{"noop": {}}], name="embedded")
    workflow = client.get(f"/v2/workflows/{workflow_id}").json()["data"]
    started = client.post(f"/v2/workflows/{workflow_id}/instances", json={}).json()["data"]
    assert "workflow" not in started  # a start answers at once, without it
    waited = client.post(f"/workflows/{workflow_id}/instances", params={"wait": "true"}, json={}).json()["data"]
    assert list(waited)[:3] == ["workflowID", "workflow", "id"] and waited["workflow"] == workflow
    for path in (f"/instances/{started['id']}", f"/v2/instances/{started['id']}"):
        assert client.get(path).json()["data"]["workflow"] == workflow, path
    v1_items = client.get("/instances", params={"workflowID": workflow_id}).json()["data"]
    v2_items = client.get("/v2/instances", params={"workflowID": workflow_id}).json()["cursor"]["data"]
    assert len(v1_items) == len(v2_items) == 2
    assert all(item["workflow"] == workflow for item in v1_items + v2_items)

    assert client.delete(f"/v2/workflows/{workflow_id}").status_code == 204
    deleted = client.get(f"/v2/instances/{started['id']}").json()["data"]["workflow"]
    assert deleted["deletedAt"] is not None and deleted["id"] == workflow_id
    assert client.get("/v2/instances", params={"workflowID": workflow_id}).json()["cursor"]["data"] == []
