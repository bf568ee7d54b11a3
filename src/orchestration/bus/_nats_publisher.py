"""Publishing to NATS JetStream over the process's shared connection."""

from __future__ import annotations

import asyncio
import logging

import nats.errors
from nats.js.errors import NoStreamResponseError

from orchestration.config import BusSettings

from ._connection import API_TIMEOUT, BusConnection, NotConnected
from ._errors import PublishFailed
from ._publisher import EventPublisher
from ._streams import StreamMissing, find_or_create_stream
from ._topics import map_topic

logger = logging.getLogger(__name__)

MSG_ID_HEADER = "Nats-Msg-Id"
"""JetStream drops a message whose id it stored within the stream's duplicate window."""


class NatsPublisher(EventPublisher):
    """Publishes to JetStream and returns once it acknowledged the message.

    Before the first message to a subject, it makes sure a stream captures it (creating
    one with `nats_auto_provision`). Whatever goes wrong with the bus, `publish` raises
    `PublishFailed` within `API_TIMEOUT` seconds, at once when the connection is down.
    Closing it leaves the shared connection to its owner.
    """

    def __init__(self, connection: BusConnection, settings: BusSettings) -> None:
        self._connection = connection
        self._mapping = settings.topic_mapping
        self._auto_provision = settings.nats_auto_provision
        self._checked: set[str] = set()  # subjects known to be captured by a stream
        self._closed = False

    async def publish(self, topic: str, data: bytes, *, message_id: str) -> None:
        if self._closed:
            raise PublishFailed("the publisher is closed")
        subject = map_topic(self._mapping, topic)
        try:
            async with asyncio.timeout(API_TIMEOUT):
                js = self._connection.jetstream()
                if subject not in self._checked:
                    await find_or_create_stream(js, subject, auto_provision=self._auto_provision)
                    self._checked.add(subject)
                ack = await self._connection.unless_lost(js.publish(subject, data, headers={MSG_ID_HEADER: message_id}))
        except (NotConnected, StreamMissing) as exc:
            raise PublishFailed(str(exc)) from exc
        except NoStreamResponseError as exc:
            self._checked.discard(subject)  # its stream is gone: look again next time
            raise PublishFailed(f"no JetStream stream captures subject {subject!r}") from exc
        except TimeoutError as exc:
            raise PublishFailed(f"NATS did not acknowledge within {API_TIMEOUT}s") from exc
        except (nats.errors.Error, OSError) as exc:
            raise PublishFailed(f"NATS refused the message: {type(exc).__name__}: {exc}") from exc
        if ack.duplicate:
            logger.debug("message %s on %s was published before; JetStream kept the first", message_id, subject)

    async def close(self) -> None:
        self._closed = True
