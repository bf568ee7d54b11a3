"""Names on the bus: the subject a topic is published on, and the JetStream names derived from topics.

JetStream refuses `.`, `*`, `>`, whitespace and path separators in stream and consumer
names (they become subjects of its API and directories of its store), so names derived
from a topic or a queue group replace each of those characters with `_`.
"""

from __future__ import annotations

import re

from orchestration.config import parse_topic_mapping

_NOT_IN_NAMES = re.compile(r"[.*>/\\\s]")


def map_topic(mapping: tuple[str, ...], topic: str) -> str:
    """The subject `topic` is published on under `--publisher-topic-mapping` entries `from:to`.

    The entry whose `from` is `topic` wins, else the `*` entry, else `topic` itself; of
    two entries with the same `from`, the last counts (as the original's flag parsing does).
    """
    targets = dict(parse_topic_mapping(entry) for entry in mapping)
    return targets.get(topic) or targets.get("*") or topic


def jetstream_name(text: str) -> str:
    """`text` made a valid stream or consumer name (`stack1.ledger` → `stack1_ledger`)."""
    return _NOT_IN_NAMES.sub("_", text)


def stream_name(subject: str) -> str:
    """The stream auto-provisioned for `subject`: named after it, as the original's go-libs does."""
    return jetstream_name(subject)


def durable_name(queue_group: str, topic: str) -> str:
    """The durable consumer of `queue_group` on `topic`: shared by every process of the group.

    The topic is part of the name because consumer names are per stream and one stream
    may capture several topics; it also keeps clear of the push consumer named after
    the bare queue group that the original service leaves on the stream.
    """
    return f"{jetstream_name(queue_group)}_{jetstream_name(topic)}"
