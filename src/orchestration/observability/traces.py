"""OpenTelemetry traces, exported over OTLP when `--otel-traces-exporter otlp` is set.

Off by default, and then free: nothing of the OpenTelemetry SDK is imported and `span()`
is a no-op context. On, a trace per API request (FastAPI instrumentation) and per engine
run of an instance (DBOS's workflow and step spans), a span per stage and per call to the
stack, and the trace context sent along with every call to the stack (aiohttp client
instrumentation), so that the Ledger, Wallets and Payments join the same trace.

Spans made in workflow code (stages) are made again when DBOS replays an instance after a
crash, as its log lines are: observability, not effects.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from orchestration.config import TracesSettings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

log = logging.getLogger(__name__)

_TRACER_NAME = "orchestration"
# Probes and scrapes every few seconds, and the console's pages and files (they hold no data;
# its calls to the API are traced), would bury the traces that matter.
_UNTRACED_URLS = "_healthcheck,metrics,/ui(/|$)"

_provider: TracerProvider | None = None
_tracer: Tracer | None = None


def enabled() -> bool:
    return _tracer is not None


def configure(settings: TracesSettings, *, version: str) -> None:
    """Install the tracer provider and the aiohttp client instrumentation, once per process (before
    the engine starts, whose spans go to the same provider)."""
    global _provider, _tracer
    if not settings.exporter or _provider is not None:
        return
    from opentelemetry import trace
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attributes: dict[str, Any] = dict(_pairs(settings.resource_attributes))
    attributes |= {SERVICE_NAME: settings.service_name, SERVICE_VERSION: version}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(_exporter(settings)))
    trace.set_tracer_provider(provider)
    AioHttpClientInstrumentor().instrument(tracer_provider=provider)
    _provider, _tracer = provider, provider.get_tracer(_TRACER_NAME, version)
    log.info("exporting traces over OTLP/%s to %s", settings.otlp_mode, settings.otlp_endpoint or "the default")


def instrument_app(app: FastAPI) -> None:
    """A server span per API request (the probes and scrapes left out)."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=_provider, excluded_urls=_UNTRACED_URLS)


@contextlib.contextmanager
def span(
    name: str, attributes: Mapping[str, str | int | bool], *, quiet: tuple[type[BaseException], ...] = ()
) -> Iterator[None]:
    """A span around the block when traces are on. An exception marks it failed and goes on,
    unless it is one of `quiet` (how the block ends without failing, such as parking)."""
    if _tracer is None:
        yield
        return
    from opentelemetry.trace import Status, StatusCode

    with _tracer.start_as_current_span(
        name, attributes=dict(attributes), record_exception=False, set_status_on_exception=False
    ) as current:
        try:
            yield
        except quiet:
            raise
        except BaseException as exc:
            current.record_exception(exc)
            current.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            raise


@contextlib.contextmanager
def spans(named: Sequence[tuple[str, Mapping[str, str | int | bool]]]) -> Iterator[None]:
    """Sibling spans, one per (name, attributes), around one block that does the work of them all
    (several instances ended by one transaction). An exception marks every one failed."""
    if _tracer is None or not named:
        yield
        return
    from opentelemetry.trace import Status, StatusCode

    started = [_tracer.start_span(name, attributes=dict(attributes)) for name, attributes in named]
    try:
        yield
    except BaseException as exc:
        for current in started:
            current.record_exception(exc)
            current.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        for current in started:
            current.end()


def shutdown() -> None:
    """Send what is buffered, then stop exporting (at process exit)."""
    global _provider, _tracer
    if _provider is None:
        return
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor

    AioHttpClientInstrumentor().uninstrument()
    _provider.shutdown()
    _provider = _tracer = None


def _exporter(settings: TracesSettings) -> Any:
    endpoint = settings.otlp_endpoint
    if settings.otlp_mode == "http":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        return HttpExporter(endpoint=_http_traces_url(endpoint, insecure=settings.otlp_insecure) if endpoint else None)
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

    return GrpcExporter(endpoint=endpoint or None, insecure=settings.otlp_insecure or None)


def _http_traces_url(endpoint: str, *, insecure: bool) -> str:
    """The OTLP/HTTP traces URL of an endpoint given as the original does (`host:port`), or as a URL."""
    if "://" not in endpoint:
        endpoint = f"{'http' if insecure else 'https'}://{endpoint}"
    parts = urlsplit(endpoint)
    return endpoint if parts.path not in ("", "/") else f"{endpoint.rstrip('/')}/v1/traces"


def _pairs(entries: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    for entry in entries:
        key, _, value = entry.partition("=")
        yield key.strip(), value.strip()
