"""The console's Deliveries: a rule's delivery counters per minute (`metrics.Metrics.series`) and each target's
last outcome, for the charts and the rules list; a topic's per subscription (its notifications delivered,
failed and moved to a dead-letter queue), for the topic's recent activity; a queue's (its messages sent,
received and deleted), for the queue's.

The metrics name every account's rules, topics and queues, so they are read only for one the key may read: the
route asks the API for DescribeRule (or GetTopicAttributes, GetQueueAttributes) as the key first
(`app.Console.deliveries`), and reads the counters of the ARN that answer gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trailbridge.metrics import BUCKET_SECONDS, KEPT_BUCKETS, Metrics

DEFAULT_MINUTES = 60
MAX_MINUTES = KEPT_BUCKETS * BUCKET_SECONDS // 60


class DeliveriesError(ValueError):
    """A request for deliveries the console cannot answer."""


def asked(document: Mapping[str, Any]) -> tuple[str, dict[str, Any], int]:
    """`{"Rule", "EventBusName"?, "Minutes"?}` -> ("rule", DescribeRule's parameters, the minutes asked for);
    `{"Topic": ARN, "Minutes"?}` -> ("topic", GetTopicAttributes' parameters, the minutes);
    `{"Queue": URL, "Minutes"?}` -> ("queue", GetQueueAttributes' parameters asking for its ARN, the minutes)."""
    minutes = document.get("Minutes", DEFAULT_MINUTES)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_MINUTES:
        raise DeliveriesError(f"Minutes must be a whole number from 1 to {MAX_MINUTES}.")
    if "Topic" in document:
        topic = document["Topic"]
        if not isinstance(topic, str) or not topic:
            raise DeliveriesError("Topic must be a topic's ARN.")
        return "topic", {"TopicArn": topic}, minutes
    if "Queue" in document:
        queue = document["Queue"]
        if not isinstance(queue, str) or not queue:
            raise DeliveriesError("Queue must be a queue's URL.")
        return "queue", {"QueueUrl": queue, "AttributeNames": ["QueueArn"]}, minutes
    rule, bus = document.get("Rule"), document.get("EventBusName", "default")
    if not isinstance(rule, str) or not rule:
        raise DeliveriesError("Rule must name a rule.")
    if not isinstance(bus, str) or not bus:
        raise DeliveriesError("EventBusName must name an event bus.")
    return "rule", {"Name": rule, "EventBusName": bus}, minutes


def deliveries(metrics: Metrics, arn: str, minutes: int, now: float) -> dict[str, Any]:
    """The rule's (or topic's) counters per minute over the last `minutes` and its targets' last outcomes."""
    return {
        "Arn": arn,
        "BucketSeconds": BUCKET_SECONDS,
        "Now": now,
        "Minutes": minutes,
        "Series": metrics.series(arn, now - minutes * 60),
        "Last": metrics.last_outcomes(arn),
    }
