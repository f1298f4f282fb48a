"""When to try a failed delivery again, and when to give up.

EventBridge retries with exponential backoff and jitter for up to `MaximumRetryAttempts` retries or
`MaximumEventAgeInSeconds`, whichever runs out first. 429, 5xx, timeouts and connection errors are
retried; any other 4xx is not: that event goes to the dead-letter queue at once.
"""

from __future__ import annotations

import random


class DeliveryFailure(Exception):
    """A target invocation failed. `code` and `message` become the DLQ's ERROR_CODE / ERROR_MESSAGE."""

    def __init__(self, code: str, message: str, *, retryable: bool = True) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.retryable = code, message, retryable


def compute_backoff(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number `attempt` (0-based): base * 2^attempt, capped, with jitter
    drawn from [half, full] of that so retries of many events spread out."""
    ceiling = min(cap, base * 2 ** min(attempt, 62))
    return float(ceiling * (0.5 + (rng or random).random() / 2))


def gives_up(attempts: int, max_attempts: int, age: float, max_age: int) -> bool:
    """After `attempts` failed invocations of an event `age` seconds old: no retry left?"""
    return attempts > max_attempts or age >= max_age
