"""The activity retry policy: 2 s doubling up to 200 s, at most 15 attempts (DESIGN §3)."""

from __future__ import annotations

from datetime import timedelta

from orchestration.config import RetrySettings
from orchestration.engine._retry import delay_after, next_delay

DEFAULT = RetrySettings()


def test_default_waits_double_and_are_capped() -> None:
    waits = [delay_after(DEFAULT, n).total_seconds() for n in range(1, 10)]
    assert waits == [2, 4, 8, 16, 32, 64, 128, 200, 200]


def test_gives_up_at_the_last_attempt_only() -> None:
    assert [n for n in range(1, 20) if next_delay(DEFAULT, n) is None][0] == 15
    assert next_delay(DEFAULT, 14) == timedelta(seconds=200)


def test_a_full_run_of_retries_is_bounded_in_time() -> None:
    total = sum((delay_after(DEFAULT, n) for n in range(1, DEFAULT.max_attempts)), timedelta())
    assert total < timedelta(minutes=40)  # nothing retries forever


def test_the_policy_follows_its_settings() -> None:
    fast = RetrySettings(max_attempts=3, initial_interval=timedelta(milliseconds=50), max_interval=timedelta(seconds=1))
    assert [next_delay(fast, n) for n in (1, 2, 3)] == [timedelta(milliseconds=50), timedelta(milliseconds=100), None]
