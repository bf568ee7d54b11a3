"""The event bus transport (NATS JetStream): Formance events in, this service's events out.

It moves bytes and knows nothing of triggers, the database or the engine. One
`BusConnection` per process, made in the background; an `EventPublisher` (`NatsPublisher`,
or `MemoryPublisher` without a bus) and a `BusConsumer` share it.
"""

from ._connection import BusConnection
from ._consumer import BusConsumer
from ._delivery import Handler
from ._errors import PublishFailed, Redeliver
from ._memory import MemoryPublisher
from ._nats_publisher import NatsPublisher
from ._publisher import EventPublisher, PublishedMessage
from ._topics import map_topic
from ._tuning import ConsumerTuning

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
