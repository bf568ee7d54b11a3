"""What operators see of a process: Prometheus metrics and OpenTelemetry traces.

`metrics` holds this process's counters and the gauges set when `/metrics` is read;
`traces` is a no-op until `traces.configure` is called with an OTLP exporter.
"""

from . import metrics, traces

__all__ = ["metrics", "traces"]
