"""An event publisher that keeps what it is given: for tests, and when no bus is configured."""

from __future__ import annotations

from ._errors import PublishFailed
from ._publisher import EventPublisher, PublishedMessage
from ._topics import map_topic


class MemoryPublisher(EventPublisher):
    """Keeps the messages published in `published`, oldest first.

    Like JetStream, it takes a message id once: publishing it again changes nothing.
    Only the newest `keep` messages are kept, so that a process without a bus does not
    grow for ever.
    """

    def __init__(self, topic_mapping: tuple[str, ...] = (), *, keep: int = 10_000) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self.published: list[PublishedMessage] = []
        self._mapping = topic_mapping
        self._keep = keep
        self._closed = False

    async def publish(self, topic: str, data: bytes, *, message_id: str) -> None:
        if self._closed:
            raise PublishFailed("the publisher is closed")
        if any(message.message_id == message_id for message in self.published):
            return
        self.published.append(PublishedMessage(map_topic(self._mapping, topic), data, message_id))
        del self.published[: -self._keep]

    async def close(self) -> None:
        self._closed = True
