"""Workflow definitions over HTTP (spec §2.6 E1–E4, §17.2), on both databases."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.integration.helpers import assert_error, create_workflow
from tests.testing.server import ServerProcess

PREFIXES = ["", "/api/orchestration", "/v2", "/api/orchestration/v2"]


@pytest.fixture
def client(api_server: ServerProcess) -> httpx.Client:
    return api_server.client()


@pytest.mark.parametrize("prefix", PREFIXES)
def test_create_then_get_returns_the_same_workflow_on_every_mount(client: httpx.Client, prefix: str) -> None:
    res = client.post(f"{prefix}/workflows", json={"stages": []})
    assert res.status_code == 201, res.text
    created = res.json()["data"]
    uuid.UUID(created["id"])
    assert created["config"] == {"name": "", "stages": []}
    assert created["deletedAt"] is None
    assert created["createdAt"].endswith("Z") and created["createdAt"] == created["updatedAt"]
    got = client.get(f"{prefix}/workflows/{created['id']}")
    assert got.status_code == 200
    assert got.json()["data"] == created


def test_stages_missing_is_stored_as_null_and_name_as_empty(client: httpx.Client) -> None:
    res = client.post("/workflows", json={})
    assert res.status_code == 201
    assert res.json()["data"]["config"] == {"name": "", "stages": None}


def test_yaml_definition_is_not_interpolated_at_creation(client: httpx.Client) -> None:
    yaml_text = (
        "name: Credit wallet from payment\n"
        "stages:\n"
        "- send:\n"
        "    source:\n"
        "      payment:\n"
        "        id: '${paymentID}'\n"
        "    destination:\n"
        "      wallet:\n"
        "        id: '${walletID}'\n"
        "    amount:\n"
        "      amount: '${amount}'\n"
        "      asset: USD/2\n"
        "    timestamp: 2024-05-02T10:11:12Z\n"
    )
    res = client.post("/workflows", content=yaml_text, headers={"Content-Type": "text/vnd.yaml; charset=utf-8"})
    assert res.status_code == 201, res.text
    config = res.json()["data"]["config"]
    assert config["name"] == "Credit wallet from payment"
    assert config["stages"][0]["send"]["amount"]["amount"] == "${amount}"
    # A YAML date stays the string it was written as.
    assert config["stages"][0]["send"]["timestamp"] == "2024-05-02T10:11:12Z"


def test_big_integer_amounts_are_echoed_exactly(client: httpx.Client) -> None:
    body = (
        '{"stages":[{"send":{"source":{"account":{"id":"world"}},"destination":{"account":{"id":"bank"}},'
        '"amount":{"amount":123456789012345678901234567890,"asset":"USD"}}}]}'
    )
    res = client.post("/workflows", content=body, headers={"Content-Type": "application/json"})
    assert res.status_code == 201, res.text
    assert "123456789012345678901234567890" in res.text


@pytest.mark.parametrize(
    ("body", "contains"),
    [
        (b"", "unmarshalling json body: EOF"),
        (b"{", "unmarshalling json body"),
        (b"[]", "unmarshalling json body"),
        (b'{"stages":"x"}', "stages"),
        (b'{"stages":[{"send":"x"}]}', "stage 0"),
        (b'{"stages":[{"foo":{}}]}', "unable to resolve schema foo"),
        (b'{"stages":[{}]}', "empty specification"),
        (b'{"stages":[{"noop":{},"delay":{"duration":"1s"}}]}', "only one name"),
        (b'{"stages":[{"send":{}}]}', "Source"),
        (b'{"stages":[{"delay":{"duration":5}}]}', "Duration"),
        (b'{"stages":[{"delay":{"duration":"abc"}}]}', "Duration"),
        (b'{"stages":[{"noop":{}},{"send":{"source":{},"destination":{},"amount":{"amount":"abc"}}}]}', "stage 1"),
        (b'{"name": 3, "stages": []}', "name"),
        (b'{"stages":[], "x": NaN}', "unmarshalling json body"),
    ],
)
def test_bad_definitions_are_400_and_name_the_problem(client: httpx.Client, body: bytes, contains: str) -> None:
    before = len(client.get("/workflows").json()["data"])
    res = client.post("/workflows", content=body, headers={"Content-Type": "application/json"})
    assert_error(res, 400, "VALIDATION", contains)
    assert len(client.get("/workflows").json()["data"]) == before  # nothing stored


def test_bad_yaml_is_400(client: httpx.Client) -> None:
    res = client.post("/workflows", content=b"stages: [", headers={"Content-Type": "text/vnd.yaml"})
    assert_error(res, 400, "VALIDATION", "unmarshalling yaml")


@pytest.mark.parametrize(
    "stages",
    [[{"wait_event": {}}], [{"delay": {}}], [{"update": {}}], [{"send": {"source": {}, "destination": {}}}]],
)
def test_requirements_are_checked_at_run_time_not_creation(client: httpx.Client, stages: list[object]) -> None:
    assert client.post("/workflows", json={"stages": stages}).status_code == 201


def test_unknown_workflow_is_404(client: httpx.Client) -> None:
    assert_error(client.get(f"/workflows/{uuid.uuid4()}"), 404, "NOT_FOUND")
    assert_error(client.get(f"/v2/workflows/{uuid.uuid4()}"), 404, "NOT_FOUND")


def test_soft_delete_hides_from_lists_but_keeps_reads(client: httpx.Client) -> None:
    wf = create_workflow(client, [])
    assert client.delete(f"/workflows/{wf}/").status_code == 204
    assert wf not in [w["id"] for w in client.get("/workflows").json()["data"]]
    got = client.get(f"/workflows/{wf}").json()["data"]
    assert got["deletedAt"] is not None
    assert client.delete(f"/workflows/{wf}").status_code == 204  # again


def test_delete_checks_the_id(client: httpx.Client) -> None:
    assert_error(client.delete("/workflows/unknown"), 400, "VALIDATION")
    assert_error(client.delete(f"/workflows/{str(uuid.uuid4()).upper()}"), 400, "VALIDATION")
    body = assert_error(client.delete(f"/workflows/{uuid.uuid4()}"), 404, "NOT_FOUND")
    assert body["errorMessage"] == "Workflow not found"


def test_v1_lists_everything_without_cursor(client: httpx.Client) -> None:
    mine = {create_workflow(client, []) for _ in range(20)}
    body = client.get("/workflows").json()
    assert "cursor" not in body
    assert mine <= {w["id"] for w in body["data"]}


def test_v2_cursor_walks_every_workflow_once(client: httpx.Client) -> None:
    mine = {create_workflow(client, []) for _ in range(12)}
    first = client.get("/v2/workflows", params={"pageSize": 5}).json()["cursor"]
    assert first["pageSize"] == 5 and len(first["data"]) == 5 and first["hasMore"] is True
    assert "previous" not in first
    seen, page = [w["id"] for w in first["data"]], first
    while page["hasMore"]:
        page = client.get("/v2/workflows", params={"cursor": page["next"]}).json()["cursor"]
        assert "previous" in page
        seen += [w["id"] for w in page["data"]]
    assert "next" not in page
    assert len(seen) == len(set(seen)) and mine <= set(seen)
    second = client.get("/v2/workflows", params={"cursor": first["next"]}).json()["cursor"]
    back = client.get("/v2/workflows", params={"cursor": second["previous"]}).json()["cursor"]
    assert [w["id"] for w in back["data"]] == [w["id"] for w in first["data"]]


@pytest.mark.parametrize(("size", "expected"), [("1000", 100), ("0", 15), ("", 15), ("7", 7)])
def test_v2_page_size_defaults_and_cap(client: httpx.Client, size: str, expected: int) -> None:
    assert client.get("/v2/workflows", params={"pageSize": size}).json()["cursor"]["pageSize"] == expected


@pytest.mark.parametrize("path", ["/v2/workflows", "/v2/instances"])
@pytest.mark.parametrize(
    "params",
    [{"pageSize": "abc"}, {"pageSize": "-1"}, {"pageSize": "1.5"}, {"cursor": "%%%"}, {"cursor": "eyJ4IjoxfQ"}],
)
def test_v2_bad_page_parameters_are_400(client: httpx.Client, path: str, params: dict[str, str]) -> None:
    assert_error(client.get(path, params=params), 400, "VALIDATION", "query param")


def test_info_and_healthcheck(client: httpx.Client) -> None:
    for path in ("/_info", "/v2/_info", "/api/orchestration/_info", "/api/orchestration/v2/_info"):
        body = client.get(path).json()
        assert isinstance(body["version"], str) and body["version"]
    health = client.get("/_healthcheck")
    assert health.status_code == 200 and health.json()["default"] == "OK"  # parts: tests/integration/test_health.py


def test_the_gateway_prefix_serves_the_api_and_nothing_beside_it(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    assert not any(path.startswith("/api/orchestration") for path in document["paths"])  # documented once
    # The probes, the scrapes and the document are the service's own, not the API: at the root only.
    for path in ("/openapi.json", "/docs", "/_healthcheck", "/metrics"):
        assert client.get(path).status_code == 200, path
        assert_error(client.get(f"/api/orchestration{path}"), 404, "NOT_FOUND")
    for path in ("/api/orchestration", "/api/orchestrationx/_info", "/api/orchestration//_info",
                 "/api/orchestration/api/orchestration/_info", "/v2/api/orchestration/_info"):
        assert_error(client.get(path), 404, "NOT_FOUND")


def test_unknown_path_and_method_get_json_errors(client: httpx.Client) -> None:
    assert_error(client.get("/nope"), 404, "NOT_FOUND")
    assert_error(client.patch("/workflows"), 405, "VALIDATION")
