"""The activity retry policy: 2 s doubling up to 200 s, at most 15 attempts (DESIGN §3)."""

from __future__ import annotations

from datetime import timedelta

from orchestration.engine import RetryPolicy


def test_default_waits_double_and_are_capped() -> None:
    policy = RetryPolicy()
    waits = [policy.delay_after(n).total_seconds() for n in range(1, 10)]
    assert waits == [2, 4, 8, 16, 32, 64, 128, 200, 200]


def test_gives_up_at_the_last_attempt_only() -> None:
    policy = RetryPolicy()
    assert [n for n in range(1, 20) if policy.gives_up_after(n)][0] == 15


def test_a_full_run_of_retries_is_bounded_in_time() -> None:
    policy = RetryPolicy()
    total = sum((policy.delay_after(n) for n in range(1, policy.max_attempts)), timedelta())
    assert total < timedelta(minutes=40)  # nothing retries forever
