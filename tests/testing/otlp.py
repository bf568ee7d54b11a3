"""An OTLP trace collector in the test's process, over HTTP (protobuf) or gRPC, on 127.0.0.1.

It decodes what exporters send with the OpenTelemetry protocol's own messages and keeps the
spans, for tests to look at.
"""

from __future__ import annotations

import threading
from concurrent import futures
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from .server import free_port

Mode = Literal["http", "grpc"]


@dataclass(frozen=True)
class Span:
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    attributes: dict[str, Any]
    status_code: int
    service: str


class OtlpCollector:
    """Receives spans on `endpoint` (host:port) until stopped."""

    def __init__(self, mode: Mode) -> None:
        self.mode = mode
        self.port = free_port()
        self._spans: list[Span] = []
        self._lock = threading.Lock()
        self._http: ThreadingHTTPServer | None = None
        self._grpc: grpc.Server | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def spans(self) -> list[Span]:
        with self._lock:
            return list(self._spans)

    def start(self) -> OtlpCollector:
        if self.mode == "http":
            self._http = ThreadingHTTPServer(("127.0.0.1", self.port), _http_handler(self._receive))
            threading.Thread(target=self._http.serve_forever, daemon=True).start()
        else:
            self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
            trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Servicer(self._receive), self._grpc)
            self._grpc.add_insecure_port(self.endpoint)
            self._grpc.start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._grpc is not None:
            self._grpc.stop(grace=None)

    def __enter__(self) -> OtlpCollector:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _receive(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        received = []
        for resource_spans in request.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(Span(
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        kind=span.kind,
                        attributes={a.key: _value(a.value) for a in span.attributes},
                        status_code=span.status.code,
                        service=str(resource.get("service.name", "")),
                    ))
        with self._lock:
            self._spans.extend(received)


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def _http_handler(receive: Any) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != "/v1/traces":
                self.send_error(404)
                return
            request = trace_service_pb2.ExportTraceServiceRequest()
            request.ParseFromString(body)
            receive(request)
            answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class _Servicer(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
    def __init__(self, receive: Any) -> None:
        self._receive = receive

    def Export(self, request: Any, context: Any) -> Any:
        self._receive(request)
        return trace_service_pb2.ExportTraceServiceResponse()
