"""Traces exported over OTLP to a collector in the test's process: a trace per request and per
instance run, spans per stage and per stack call, the context carried to the gateway."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.helpers import create_workflow, run
from tests.testing.fake_stack import FakeStack
from tests.testing.otlp import Mode, OtlpCollector, Span
from tests.testing.server import ServerProcess, eventually

SERVER_KIND, CLIENT_KIND = 2, 3  # OTLP's SpanKind values
ERROR_STATUS = 2


@pytest.fixture(params=["http", "grpc"])
def collector(request: pytest.FixtureRequest) -> Iterator[OtlpCollector]:
    mode: Mode = request.param
    with OtlpCollector(mode) as collector:
        yield collector


@pytest.fixture
def server(collector: OtlpCollector, tmp_path: Path, fake_stack: FakeStack) -> Iterator[ServerProcess]:
    server = ServerProcess(
        data_dir=tmp_path / "data",
        extra_args=[
            *fake_stack.server_args(),
            "--otel-traces-exporter", "otlp", "--otel-traces-exporter-otlp-mode", collector.mode,
            "--otel-traces-exporter-otlp-endpoint", collector.endpoint, "--otel-traces-exporter-otlp-insecure",
            "--otel-service-name", "orchestration-test", "--otel-resource-attributes", "env=test",
        ],  # fmt: skip
        env={"OTEL_BSP_SCHEDULE_DELAY": "100"},  # the SDK's batch pause, in ms: spans come within the test
    )
    server.start()
    yield server
    server.stop()


def named(spans: list[Span], name: str) -> list[Span]:
    return [s for s in spans if s.name == name]


def ancestry(spans: list[Span], name: str) -> list[Span]:
    """The first span of that name, then its parent, its parent's parent... as far as they have come."""
    by_id = {s.span_id: s for s in spans}
    chain = named(spans, name)[:1]
    while chain and chain[-1].parent_span_id in by_id:
        chain.append(by_id[chain[-1].parent_span_id])
    return chain


def test_a_run_is_traced_from_the_request_to_the_ledger(
    server: ServerProcess, collector: OtlpCollector, fake_stack: FakeStack
) -> None:
    client = server.client()
    ledger = f"t-{uuid.uuid4().hex[:8]}"
    fake_stack.create_ledger(ledger)
    send = {"send": {"source": {"account": {"id": "world", "ledger": ledger}},
                     "destination": {"account": {"id": "users:1", "ledger": ledger}},
                     "amount": {"amount": 100, "asset": "USD"}}}
    workflow = create_workflow(client, [{"noop": {}}, send])
    instance = run(client, workflow, wait="true")
    assert instance["terminated"] and "error" not in instance
    key = f"{instance['id']}-1-0"

    run_request = "POST /workflows/{workflowId}/instances"
    # Spans come in batches, in the order they end: wait until the call's chain reaches the request.
    spans = eventually(collector.spans,
                       lambda ss: any(s.name == run_request for s in ancestry(ss, "CreateTransaction")),
                       what="the spans of the run, from the call up to the request")
    assert {s.service for s in spans} == {"orchestration-test"}
    [request] = [s for s in named(spans, run_request) if s.kind == SERVER_KIND]
    [stage] = named(spans, "stage 1 send")
    assert stage.attributes == {"orchestration.instance_id": instance["id"], "orchestration.stage": 1,
                                "orchestration.stage.type": "send"}
    [call] = named(spans, "CreateTransaction")
    assert call.attributes["orchestration.idempotency_key"] == key
    assert call.attributes["orchestration.activity.attempt"] == 1
    # The engine's run of the instance, its steps, the stage and the call: one trace, begun by the request.
    chain = ancestry(spans, "CreateTransaction")
    assert stage in chain and chain[-1] == request
    assert any(s.attributes.get("operationUUID") == instance["id"] for s in chain)  # DBOS's workflow span
    # The gateway got the trace context: its request is a child of the httpx client span under the call.
    [client_span] = [s for s in spans if s.kind == CLIENT_KIND and s.parent_span_id == call.span_id
                     and s.attributes["http.url"].endswith(f"/api/ledger/v2/{ledger}/transactions")]
    [posted] = [r for r in fake_stack.requests("POST", f"/api/ledger/v2/{ledger}/transactions")
                if r.idempotency_key == key]
    version, trace_id, parent_id, flags = posted.headers["traceparent"].split("-")
    assert (version, trace_id, parent_id) == ("00", call.trace_id, client_span.span_id)
    assert int(flags, 16) & 1  # sampled
    # No credentials in what is exported (the OAuth token request is a span like any other).
    args = fake_stack.server_args()
    secret = args[args.index("--stack-client-secret") + 1]
    assert not [s for s in spans for v in s.attributes.values() if secret in str(v)]
    # Probes and the console's pages are left out: once a request made after them is exported,
    # nothing of theirs is.
    client.get("/_healthcheck")
    client.get("/ui/")
    client.get("/v2/workflows", params={"pageSize": 1})
    exported = eventually(collector.spans, lambda ss: named(ss, "GET /v2/workflows"), what="the later request")
    targets = [str(s.attributes.get("http.target", "")) for s in exported] + [s.name for s in exported]
    assert not [t for t in targets if "_healthcheck" in t or "/ui" in t]
    # Through a gateway's prefix, the span names the same route.
    client.get("/api/orchestration/v2/workflows", params={"pageSize": 1})
    eventually(collector.spans, lambda ss: len(named(ss, "GET /v2/workflows")) == 2, what="the gateway's request")


def test_a_failed_stage_is_a_failed_span(server: ServerProcess, collector: OtlpCollector) -> None:
    client = server.client()
    workflow = create_workflow(client, [{"send": {"source": {"account": {"id": "world", "ledger": "unknown-l"}},
                                                  "destination": {"account": {"id": "a", "ledger": "unknown-l"}},
                                                  "amount": {"amount": 1, "asset": "USD"}}}])
    instance = run(client, workflow, wait="true")
    assert "error" in instance
    [stage] = eventually(lambda: named(collector.spans(), "stage 0 send"), what="the stage span")
    assert stage.status_code == ERROR_STATUS


def test_instances_woken_and_ended_together_each_have_their_span(
    server: ServerProcess, collector: OtlpCollector
) -> None:
    client = server.client()
    workflow = create_workflow(client, [{"wait_event": {"event": "go"}}, {"noop": {}}])
    instances = [run(client, workflow)["id"] for _ in range(3)]
    for instance_id in instances:
        assert client.post(f"/instances/{instance_id}/events", json={"name": "go"}).status_code == 204

    def woken(spans: list[Span]) -> dict[str, int]:
        # Each has two: parked at its start, then woken and ended.
        found = [str(s.attributes.get("orchestration.instance_id")) for s in named(spans, "stage 0 wait_event")]
        return {instance_id: found.count(instance_id) for instance_id in instances}

    eventually(collector.spans, lambda ss: set(woken(ss).values()) == {2}, what="a wake-up span for each")


def test_without_an_exporter_nothing_of_the_sdk_is_loaded() -> None:
    # Off is free: the server and the engine do not even import the OpenTelemetry SDK.
    probe = ("import sys, orchestration.cli, orchestration.server, orchestration.engine; "
             "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk', 'opentelemetry.exporter'))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
