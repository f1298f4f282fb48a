"""Retry and Catch: which retrier or catcher takes an error, and how long a retry waits."""

from __future__ import annotations

from typing import Any

from trailbridge.states import errors
from trailbridge.states.intrinsics import Entropy


def error_matches(names: list[str], error: str) -> bool:
    if error in names:
        return True
    if errors.ALL in names:
        return error not in errors.UNCATCHABLE
    return errors.TASK_FAILED in names and error != errors.TIMEOUT and error not in errors.UNCATCHABLE


def retry_delay(retriers: list[dict[str, Any]], error: str, counts: dict[str, Any], entropy: Entropy) -> float | None:
    """Seconds before the next attempt, or None when no retrier has attempts left for the error."""
    if error in errors.UNCATCHABLE:
        return None
    for index, retrier in enumerate(retriers):
        if not error_matches(list(retrier.get("ErrorEquals", [])), error):
            continue
        attempts = int(counts.get(str(index), 0))
        if attempts >= int(retrier.get("MaxAttempts", 3)):
            return None
        counts[str(index)] = attempts + 1
        counts["count"] = int(counts.get("count", 0)) + 1
        return _backoff(retrier, attempts, entropy)
    return None


def _backoff(retrier: dict[str, Any], attempts: int, entropy: Entropy) -> float:
    delay = float(retrier.get("IntervalSeconds", 1)) * float(retrier.get("BackoffRate", 2.0)) ** attempts
    if "MaxDelaySeconds" in retrier:
        delay = min(delay, float(retrier["MaxDelaySeconds"]))
    if retrier.get("JitterStrategy") == "FULL":
        delay = entropy.random(0, max(1, int(delay * 1000)), None) / 1000
    return delay


def catcher_for(catchers: list[dict[str, Any]], error: str) -> dict[str, Any] | None:
    for catcher in catchers:
        if error_matches(list(catcher.get("ErrorEquals", [])), error):
            return catcher
    return None
