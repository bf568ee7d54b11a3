"""What the bus tells its callers when something went wrong."""

from __future__ import annotations


class PublishFailed(Exception):
    """The bus did not take the message (down, timeout, refused); the caller retries later."""


class Redeliver(Exception):
    """Raised by a handler: nack the message, it comes again later."""
