"""The interface of event publishers (STYLE R9): one for NATS JetStream, one in memory."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import NamedTuple


class PublishedMessage(NamedTuple):
    """A message as the bus took it."""

    subject: str
    """The topic after `--publisher-topic-mapping`."""
    data: bytes
    message_id: str


class EventPublisher(ABC):
    """Publishes this service's events on the bus, at most once per message id."""

    @abstractmethod
    async def publish(self, topic: str, data: bytes, *, message_id: str) -> None:
        """Publish `data` on the subject `topic` maps to; `PublishFailed` if the bus did not take it."""

    @abstractmethod
    async def close(self) -> None:
        """Publish no more; a later `publish` raises `PublishFailed`."""
