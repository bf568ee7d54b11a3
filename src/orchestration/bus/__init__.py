"""The event bus transport (NATS JetStream): Formance events in, this service's events out.

It moves bytes and knows nothing of triggers, the database or the engine. One
`BusConnection` per process, made in the background; an `EventPublisher` (`NatsPublisher`,
or `MemoryPublisher` without a bus) and a `BusConsumer` share it.

What needs the NATS client is imported at its first use: a process without a bus does not
load it (a third of a second of every start-up).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._errors import PublishFailed, Redeliver
from ._memory import MemoryPublisher
from ._publisher import EventPublisher, PublishedMessage
from ._topics import map_topic
from ._tuning import ConsumerTuning

if TYPE_CHECKING:
    from ._connection import BusConnection
    from ._consumer import BusConsumer
    from ._delivery import Handler
    from ._nats_publisher import NatsPublisher

_ON_NATS = {
    "BusConnection": "._connection",
    "BusConsumer": "._consumer",
    "Handler": "._delivery",
    "NatsPublisher": "._nats_publisher",
}


def __getattr__(name: str) -> Any:
    if name not in _ON_NATS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_ON_NATS[name], __name__), name)


__all__ = [
    "BusConnection",
    "BusConsumer",
    "ConsumerTuning",
    "EventPublisher",
    "Handler",
    "MemoryPublisher",
    "NatsPublisher",
    "PublishFailed",
    "PublishedMessage",
    "Redeliver",
    "map_topic",
]
