"""How the consumer paces itself. Fixed in production; tests shorten the waits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, kw_only=True)
class ConsumerTuning:
    """The consumer's limits and waits."""

    max_in_flight: int = 32
    """Messages handled at once by one process, all topics together."""
    ack_wait: timedelta = timedelta(seconds=30)
    """Of durables this consumer creates: a message not acknowledged by then is delivered again.
    A handler running longer keeps its message with an in-progress signal every third of it."""
    redeliver_delay: timedelta = timedelta(seconds=1)
    """When a handler raises `Redeliver`, and the first time it fails."""
    max_error_delay: timedelta = timedelta(seconds=30)
    """A failing message waits twice as long at each delivery, up to this."""
    fetch_wait: timedelta = timedelta(seconds=2)
    """How long one pull request waits on an idle topic; a server that restarted forgot the
    pending requests, so this is also how long it can take to consume again after it."""
    batch_wait: timedelta = timedelta(milliseconds=50)
    """How long to wait for more messages once one arrived, to take them in one request."""
    close_timeout: timedelta = timedelta(seconds=10)
    """How long `close()` lets the running handlers finish before cancelling them."""

    def __post_init__(self) -> None:
        if self.max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
