"""What to do when a server binary the tests start (PostgreSQL, nats-server) is not installed."""

from __future__ import annotations

import os
from typing import NoReturn


def missing_tool(message: str) -> NoReturn:
    """Skip the test; but fail it when `$CI` is set, where `.ci/install-system-deps` must have installed it."""
    import pytest

    if os.environ.get("CI"):
        pytest.fail(f"CI is set: {message}", pytrace=False)
    pytest.skip(message)
