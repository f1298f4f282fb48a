"""EventBridge's per-rule and per-target metrics, counted in memory by the process that does the work.

Names as CloudWatch's `AWS/Events` namespace: Invocations, FailedInvocations, TriggeredRules,
MatchedEvents, DeadLetterInvocations, RetryInvocationAttempts, ThrottledRules, InvocationsSentToDlq,
InvocationsFailedToBeSentToDlq; plus trailbridge's own LoopsStopped and DroppedEvents. A queue's, as
`AWS/SQS` names them, under the queue's ARN in place of a rule's (counted by the SQS service's calls):
NumberOfMessagesSent, NumberOfMessagesReceived, NumberOfMessagesDeleted.

Besides the totals, each counter keeps its counts per minute for the last three hours (`series`, the
console's delivery charts) and each rule's target its last delivery outcome (`last_outcomes`).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

_LATENCY_SAMPLES = 10_000
BUCKET_SECONDS = 60
KEPT_BUCKETS = 180  # three hours of minutes
# The counters that say how a delivery to a target ended (or is going), the last of which is its status.
OUTCOMES = frozenset(
    {
        "Invocations",
        "RetryInvocationAttempts",
        "FailedInvocations",
        "InvocationsSentToDlq",
        "InvocationsFailedToBeSentToDlq",
        "DroppedEvents",
    }
)


class Metrics:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._buckets: dict[tuple[str, str, str], deque[list[int]]] = {}  # [bucket number, count], oldest first
        self._last: dict[tuple[str, str], tuple[str, float]] = {}  # (rule, target) -> (outcome, when)
        self._latencies: dict[tuple[str, str], deque[float]] = {}

    def add(self, name: str, rule_arn: str = "", target_id: str = "", count: int = 1) -> None:
        now = self._clock()
        bucket = int(now // BUCKET_SECONDS)
        key = (name, rule_arn, target_id)
        with self._lock:
            self._counts[key] += count
            kept = self._buckets.get(key)
            if kept is None:
                kept = self._buckets[key] = deque(maxlen=KEPT_BUCKETS)
            if kept and kept[-1][0] == bucket:
                kept[-1][1] += count
            else:
                kept.append([bucket, count])
            if name in OUTCOMES and target_id:
                self._last[(rule_arn, target_id)] = (name, now)

    def series(self, rule_arn: str, since: float) -> list[dict[str, Any]]:
        """A rule's (or a topic's, a queue's) counters per minute from `since`: {Metric, TargetId, Points:
        [[minute's start, count], ...]} (minutes with no count left out), by metric and target."""
        first = int(since // BUCKET_SECONDS)
        with self._lock:
            kept = sorted((key, list(buckets)) for key, buckets in self._buckets.items() if key[1] == rule_arn)
        points = [
            (name, target, [[bucket * BUCKET_SECONDS, count] for bucket, count in buckets if bucket >= first])
            for (name, _, target), buckets in kept
        ]
        return [{"Metric": name, "TargetId": target, "Points": shown} for name, target, shown in points if shown]

    def last_outcomes(self, rule_arn: str) -> dict[str, dict[str, Any]]:
        """Each target of a rule that has had a delivery: {target id: {Metric, Time}} of its last outcome."""
        with self._lock:
            found = [(target, last) for (rule, target), last in self._last.items() if rule == rule_arn]
        return {target: {"Metric": name, "Time": when} for target, (name, when) in sorted(found)}

    def observe_latency(self, rule_arn: str, target_id: str, seconds: float) -> None:
        """Ingestion-to-invocation latency of one successful invocation."""
        with self._lock:
            samples = self._latencies.setdefault((rule_arn, target_id), deque(maxlen=_LATENCY_SAMPLES))
            samples.append(seconds)

    def get(self, name: str, rule_arn: str | None = None, target_id: str | None = None) -> int:
        """A counter, summed over every rule (and target) when those are not given."""
        with self._lock:
            return sum(
                count
                for (metric, rule, target), count in self._counts.items()
                if metric == name and rule_arn in (None, rule) and target_id in (None, target)
            )

    def latency(self, rule_arn: str | None = None, target_id: str | None = None) -> dict[str, float]:
        """p50/p90/p99/max of ingestion-to-invocation latency, in seconds, over the recent samples."""
        with self._lock:
            samples = sorted(
                value
                for (rule, target), values in self._latencies.items()
                if rule_arn in (None, rule) and target_id in (None, target)
                for value in values
            )
        if not samples:
            return {}

        def pick(quantile: float) -> float:
            return samples[min(len(samples) - 1, int(quantile * len(samples)))]

        return {"count": len(samples), "p50": pick(0.5), "p90": pick(0.9), "p99": pick(0.99), "max": samples[-1]}

    def snapshot(self) -> list[dict[str, Any]]:
        """Every counter as {Metric, RuleArn, TargetId, Value}."""
        with self._lock:
            items = sorted(self._counts.items())
        return [{"Metric": m, "RuleArn": r, "TargetId": t, "Value": v} for (m, r, t), v in items]
