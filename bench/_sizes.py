"""How big and how long each measure runs: the full run, and `--quick`, a smoke run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    instances: int  # N, measures 1 and 2
    concurrency: int  # run requests (and floor workflows) in flight
    waiting: int  # W, measures 3 and 4
    warmup: int  # instances run before measure 1 and 2, not counted
    settle_s: float  # before the idle window
    window_s: float  # idle window
    sample: int  # instances sent their event first after the restart
    poll_interval_s: float
    timeout_s: float  # any single wait; the script gives up on a measure past it
    latency_runs: int = 200  # measure 0: instances run one after the other

    @classmethod
    def full(cls, *, concurrency: int, instances: int | None = None, waiting: int | None = None) -> Sizes:
        return cls(
            instances=instances or 2000,
            concurrency=concurrency,
            waiting=waiting or 10_000,
            warmup=50,
            settle_s=5.0,
            window_s=20.0,
            sample=200,
            poll_interval_s=0.02,
            timeout_s=600.0,
        )

    @classmethod
    def quick(cls, *, concurrency: int, instances: int | None = None, waiting: int | None = None) -> Sizes:
        """Every step of every measure, at the smallest sizes that still exercise it: N a few
        times the concurrency (the poller sees instances come and go), W a few times the
        sample (the restart resumes more than the sample); the figures mean little."""
        return cls(
            instances=instances or 100,
            concurrency=concurrency,
            waiting=waiting or 100,
            warmup=10,
            settle_s=0.5,
            window_s=1.0,
            sample=20,
            poll_interval_s=0.02,
            timeout_s=60.0,
            latency_runs=20,
        )
