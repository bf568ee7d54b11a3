"""The served OpenAPI document describes what the routes really accept and return:
real answers of the running server are validated against it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from tests.integration.helpers import create_workflow, run, wait_stage
from tests.testing.server import ServerProcess


@pytest.fixture(scope="module")
def document(api_server: ServerProcess) -> dict[str, Any]:
    res = httpx.get(f"{api_server.url}/openapi.json")
    assert res.status_code == 200
    doc: dict[str, Any] = res.json()
    return doc


def _validate(doc: dict[str, Any], method: str, template: str, res: httpx.Response) -> None:
    operation = doc["paths"][template][method.lower()]
    documented = operation["responses"].get(str(res.status_code))
    assert documented is not None, f"{method} {template} answered undocumented {res.status_code}: {res.text}"
    if res.status_code == 204:
        assert res.content == b""
        return
    schema = {**documented["content"]["application/json"]["schema"], "components": doc["components"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(res.json()), key=str)
    assert not errors, f"{method} {template} {res.status_code}: {errors[0].message}\n{res.text}"


def _request_schema(doc: dict[str, Any], method: str, template: str, media: str) -> Draft202012Validator:
    body = doc["paths"][template][method.lower()]["requestBody"]["content"][media]["schema"]
    return Draft202012Validator({**body, "components": doc.get("components", {})})


@pytest.mark.parametrize("prefix", ["", "/v2"])
def test_every_answer_matches_the_document(api_server: ServerProcess, document: dict[str, Any], prefix: str) -> None:
    client = api_server.client()
    definition = {"name": "doc", "stages": [{"noop": {}}, {"wait_event": {"event": "go"}}]}
    assert _request_schema(document, "POST", f"{prefix}/workflows", "application/json").is_valid(definition)
    assert _request_schema(document, "POST", f"{prefix}/workflows", "text/vnd.yaml").is_valid(definition)

    def check(method: str, template: str, path: str, **kwargs: Any) -> httpx.Response:
        res = client.request(method, f"{prefix}{path}", **kwargs)
        _validate(document, method, f"{prefix}{template}", res)
        return res

    wf = check("POST", "/workflows", "/workflows", json=definition).json()["data"]["id"]
    check("GET", "/workflows", "/workflows")
    check("GET", "/workflows/{workflowId}", f"/workflows/{wf}")
    inst = check("POST", "/workflows/{workflowId}/instances", f"/workflows/{wf}/instances", json={"a": "b"})
    instance_id = inst.json()["data"]["id"]
    wait_stage(client, instance_id, 1)
    check("GET", "/instances", "/instances", params={"workflowID": wf})
    check("GET", "/instances/{instanceId}", f"/instances/{instance_id}")
    check("GET", "/instances/{instanceId}/history", f"/instances/{instance_id}/history")
    check("GET", "/instances/{instanceId}/stages/{number}/history", f"/instances/{instance_id}/stages/0/history")
    check("POST", "/instances/{instanceId}/events", f"/instances/{instance_id}/events", json={"name": "go"})
    check("PUT", "/instances/{instanceId}/abort", f"/instances/{instance_id}/abort")
    done = run(client, create_workflow(client, [{"wait_event": {}}]), wait="true")
    check("GET", "/instances/{instanceId}", f"/instances/{done['id']}")
    check("DELETE", "/workflows/{workflowId}", f"/workflows/{wf}")
    # Errors are documented too.
    check("GET", "/workflows/{workflowId}", f"/workflows/{uuid.uuid4()}")
    check("POST", "/workflows", "/workflows", content=b"{")
    check("GET", "/instances", "/instances", params={"pageSize": "x"})
    check("DELETE", "/workflows/{workflowId}", "/workflows/nope")


def test_info_matches_the_document(api_server: ServerProcess, document: dict[str, Any]) -> None:
    for path in ("/_info", "/v2/_info"):
        _validate(document, "GET", path, httpx.get(f"{api_server.url}{path}"))


def test_every_operation_documents_its_errors_and_nothing_fastapi_does_not_answer(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, f"{method} {path}"  # bad parameters are 400 or 404 here
            if path != "/_healthcheck" and not path.endswith("/_info"):
                assert {"400", "404", "413", "500"} <= set(responses), f"{method} {path}"
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_ids_are_documented_as_the_uuids_the_server_makes(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] in ("workflowId", "instanceId"):
                    assert parameter["schema"]["format"] == "uuid", path
                    assert parameter["schema"]["pattern"].startswith("^[0-9a-f]{8}-"), path


def test_request_bodies_allow_what_the_server_ignores(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    body = _request_schema(document, "POST", "/workflows", "application/yaml")
    assert body.is_valid({"name": "n", "stages": [{"noop": {}}], "unknown": [1, {"a": None}]})
    assert not body.is_valid({"stages": [{"noop": {}, "delay": {}}]})
    assert not body.is_valid({"name": "a\x00"})
    assert not body.is_valid({"stages": [{"noop": {}}] * 1001})
    event = _request_schema(document, "POST", "/instances/{instanceId}/events", "application/json")
    assert event.is_valid({"name": "go", "extra": True}) and not event.is_valid({"name": ""})
    assert schemas["RunVariables"]["additionalProperties"]["type"] == "string"


def test_interactive_docs_are_served_outside_the_document(api_server: ServerProcess, document: dict[str, Any]) -> None:
    res = httpx.get(f"{api_server.url}/docs")
    assert res.status_code == 200 and "swagger-ui" in res.text.lower()
    assert not any(path.startswith("/docs") for path in document["paths"])


def test_a_wrong_method_is_a_documented_kind_of_error(api_server: ServerProcess, document: dict[str, Any]) -> None:
    res = httpx.request("PATCH", f"{api_server.url}/v2/workflows")
    assert res.status_code == 405 and res.headers["allow"] == "GET, POST"
    schema = {**document["components"]["schemas"]["Error"], "components": document["components"]}
    assert Draft202012Validator(schema).is_valid(res.json())
