"""The JetStream stream that captures a subject, and the durable consumer that reads one.

Auto-provisioning follows the original's go-libs (watermill-nats): a stream named after
the topic, capturing that one subject, everything else at the server's defaults (file
storage, limits retention, a two-minute duplicate window).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, ConsumerInfo, DeliverPolicy, StreamConfig
from nats.js.errors import APIError, NotFoundError

from ._topics import stream_name

logger = logging.getLogger(__name__)


class StreamMissing(Exception):
    """No stream captures the subject, and auto-provisioning is off."""

    def __init__(self, subject: str) -> None:
        super().__init__(f"no JetStream stream captures subject {subject!r}")
        self.subject = subject


class DurableUnusable(Exception):
    """A consumer of that name exists but cannot be pulled from (a push consumer)."""


@dataclass(frozen=True)
class Stream:
    """The stream capturing a subject."""

    name: str
    created: bool
    """True when this call created it (so it held nothing before)."""


async def find_or_create_stream(js: JetStreamContext, subject: str, *, auto_provision: bool) -> Stream:
    """The stream capturing `subject`; with `auto_provision`, one is created when none does.

    Raises `StreamMissing` when none does and `auto_provision` is off.
    """
    try:
        return Stream(await js.find_stream_name_by_subject(subject), created=False)
    except NotFoundError:
        if not auto_provision:
            raise StreamMissing(subject) from None
    name = stream_name(subject)
    try:
        await js.add_stream(StreamConfig(name=name, subjects=[subject]))
    except APIError as exc:
        # Another process may have created it between our look and our add.
        try:
            return Stream(await js.find_stream_name_by_subject(subject), created=False)
        except NotFoundError:
            raise exc from None
    logger.info("created JetStream stream %s for subject %s", name, subject)
    return Stream(name, created=True)


async def find_or_create_durable(
    js: JetStreamContext, stream: Stream, *, subject: str, name: str, ack_wait: timedelta
) -> ConsumerInfo:
    """The durable pull consumer `name` on `stream`, reading `subject`; created when missing.

    A new durable on a stream that already existed starts with the messages published
    from now on: starting from the stream's first message would fire triggers for every
    event the stream still holds, from long before this service was set up. On a stream
    created just now there is nothing to skip, and taking all closes the window between
    the two creations.
    """
    info: ConsumerInfo  # nats-py leaves consumer_info unannotated
    try:
        info = await js.consumer_info(stream.name, name)
    except NotFoundError:
        config = ConsumerConfig(
            name=name,
            durable_name=name,
            filter_subject=subject,
            deliver_policy=DeliverPolicy.ALL if stream.created else DeliverPolicy.NEW,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ack_wait.total_seconds(),
            max_deliver=-1,
        )
        try:
            info = await js.add_consumer(stream.name, config)
        except APIError as exc:
            # Another process of the group may have created it first, perhaps with another start.
            try:
                info = await js.consumer_info(stream.name, name)
            except NotFoundError:
                raise exc from None
        else:
            logger.info("created durable consumer %s on stream %s for subject %s", name, stream.name, subject)
    if info.config.deliver_subject:
        raise DurableUnusable(
            f"consumer {name} on stream {stream.name} is a push consumer; delete it to let this service create its own"
        )
    return info
