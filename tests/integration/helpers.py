"""Small HTTP helpers over a running server, shared by the integration tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.testing.server import eventually


def create_workflow(client: httpx.Client, stages: list[Any], name: str = "", prefix: str = "") -> str:
    res = client.post(f"{prefix}/workflows", json={"name": name, "stages": stages})
    assert res.status_code == 201, res.text
    return str(res.json()["data"]["id"])


def run(
    client: httpx.Client, workflow_id: str, variables: dict[str, str] | None = None, **params: Any
) -> dict[str, Any]:
    res = client.post(f"/workflows/{workflow_id}/instances", json=variables, params=params)
    assert res.status_code == 201, res.text
    data: dict[str, Any] = res.json()["data"]
    return data


def get_instance(client: httpx.Client, instance_id: str) -> dict[str, Any]:
    res = client.get(f"/instances/{instance_id}")
    assert res.status_code == 200, res.text
    data: dict[str, Any] = res.json()["data"]
    return data


def wait_terminated(client: httpx.Client, instance_id: str, timeout: float = 15.0) -> dict[str, Any]:
    return eventually(
        lambda: get_instance(client, instance_id),
        lambda i: i["terminated"],
        timeout=timeout,
        what=f"instance {instance_id} to terminate",
    )


def wait_stage(client: httpx.Client, instance_id: str, stage: int, timeout: float = 15.0) -> dict[str, Any]:
    return eventually(
        lambda: get_instance(client, instance_id),
        lambda i: any(s["stage"] == stage for s in i.get("status", [])),
        timeout=timeout,
        what=f"stage {stage} of {instance_id} to start",
    )


def assert_error(res: httpx.Response, status: int, code: str, contains: str = "") -> dict[str, Any]:
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("application/json"), res.headers
    body: dict[str, Any] = res.json()
    assert body["errorCode"] == code, body
    assert contains in body["errorMessage"], body
    return body


def occurrences(client: httpx.Client, trigger_id: str) -> list[dict[str, Any]]:
    """Every occurrence of a trigger (v1: one list)."""
    res = client.get(f"/triggers/{trigger_id}/occurrences")
    assert res.status_code == 200, res.text
    data: list[dict[str, Any]] = res.json()["data"]
    return data
