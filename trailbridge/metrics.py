"""EventBridge's per-rule and per-target metrics, counted in memory by the process that does the work.

Names as CloudWatch's `AWS/Events` namespace: Invocations, FailedInvocations, TriggeredRules,
MatchedEvents, DeadLetterInvocations, RetryInvocationAttempts, ThrottledRules, InvocationsSentToDlq,
InvocationsFailedToBeSentToDlq; plus trailbridge's own LoopsStopped and DroppedEvents.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any

_LATENCY_SAMPLES = 10_000


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._latencies: dict[tuple[str, str], deque[float]] = {}

    def add(self, name: str, rule_arn: str = "", target_id: str = "", count: int = 1) -> None:
        with self._lock:
            self._counts[(name, rule_arn, target_id)] += count

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
