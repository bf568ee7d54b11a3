"""The durable engine: one DBOS workflow per instance (DESIGN §3)."""

from ._engine import ENGINE_VERSION, Engine, EngineClient, EngineConfig, migrate_engine
from ._retry import RetryPolicy

__all__ = ["RetryPolicy", "ENGINE_VERSION", "Engine", "EngineClient", "EngineConfig", "migrate_engine"]
