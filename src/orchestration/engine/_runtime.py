"""What the engine's steps reach at run time, bound once by `Engine.launch`.

DBOS steps are module-level functions replayed by workflow id after a crash, so
they cannot close over objects; they find the database and the wake-ups here.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration import storage
from orchestration.config import EngineSettings, RetrySettings
from orchestration.stack import StackClient

from ._signals import Signals
from ._slots import InstanceSlots
from ._waker import Waker


@dataclass
class Runtime:
    db: storage.Database
    signals: Signals
    waker: Waker
    stack: StackClient | None
    settings: EngineSettings
    retry: RetrySettings
    instance_slots: InstanceSlots
    """Held by each instance this process runs (`--max-parallel-instances`)."""
    publish_events: bool = False
    """Record the events of §13 for the bus (only when a bus is configured)."""
    stopping: bool = False
    """Set when the process shuts down: the instances it runs are interrupted, not failed."""


_current: Runtime | None = None


def bind(runtime: Runtime) -> None:
    global _current
    _current = runtime


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("the engine is not launched in this process")
    return _current
