"""Why an instance workflow stops before its last stage, other than a stage failing.

BaseExceptions, so that no `except Exception` in stage code can swallow them.
"""

from __future__ import annotations


class InstanceAborted(BaseException):
    """The instance was aborted while a stage waited or retried; its rows are already final."""


class InstanceParked(BaseException):
    """The instance parked in a long wait: this workflow ends, a continuation takes over."""
