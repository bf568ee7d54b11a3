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
