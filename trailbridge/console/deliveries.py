"""The console's Deliveries: a rule's delivery counters per minute (`metrics.Metrics.series`) and each target's
last outcome, for the charts and the rules list.

The metrics name every account's rules, so they are read only for a rule the key may describe: the route asks
the API for DescribeRule as the key first (`app.Console.deliveries`), and reads the counters of the ARN that
answer gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trailbridge.metrics import BUCKET_SECONDS, KEPT_BUCKETS, Metrics

DEFAULT_MINUTES = 60
MAX_MINUTES = KEPT_BUCKETS * BUCKET_SECONDS // 60


class DeliveriesError(ValueError):
    """A request for deliveries the console cannot answer."""


def asked(document: Mapping[str, Any]) -> tuple[dict[str, str], int]:
    """`{"Rule", "EventBusName"?, "Minutes"?}` -> DescribeRule's parameters and the minutes asked for."""
    rule, bus = document.get("Rule"), document.get("EventBusName", "default")
    if not isinstance(rule, str) or not rule:
        raise DeliveriesError("Rule must name a rule.")
    if not isinstance(bus, str) or not bus:
        raise DeliveriesError("EventBusName must name an event bus.")
    minutes = document.get("Minutes", DEFAULT_MINUTES)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_MINUTES:
        raise DeliveriesError(f"Minutes must be a whole number from 1 to {MAX_MINUTES}.")
    return {"Name": rule, "EventBusName": bus}, minutes


def deliveries(metrics: Metrics, rule_arn: str, minutes: int, now: float) -> dict[str, Any]:
    """The rule's counters per minute over the last `minutes` and its targets' last outcomes."""
    return {
        "RuleArn": rule_arn,
        "BucketSeconds": BUCKET_SECONDS,
        "Now": now,
        "Minutes": minutes,
        "Series": metrics.series(rule_arn, now - minutes * 60),
        "Last": metrics.last_outcomes(rule_arn),
    }
