"""HTTP layer: parse, call the service layer, shape the JSON (no SQL, no engine)."""

from .app import GATEWAY_PREFIX, create_app, create_metrics_app, serve_under_gateway

__all__ = ["GATEWAY_PREFIX", "create_app", "create_metrics_app", "serve_under_gateway"]
