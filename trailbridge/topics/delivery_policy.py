"""SNS's delivery policies: how often, and how far apart, a failed delivery to a subscription is tried again.

Every policy has AWS's four phases after the first attempt: immediate retries (no delay), pre-backoff
retries (`minDelayTarget` apart), backoff retries (from `minDelayTarget` to `maxDelayTarget` along the
backoff function) and post-backoff retries (`maxDelayTarget` apart); `numRetries` counts them all. Only
HTTP/S policies can be set (a topic's `DeliveryPolicy` under `http`, a subscription's own unless the topic
disables overrides); Lambda and SQS use AWS's policy for AWS-managed endpoints, email (SMTP) the one for
customer-managed endpoints, as the SNS developer guide gives them.

The four backoff functions start at the minimum delay and end at the maximum; between them, AWS publishes
only a graph. Here: `linear` grows evenly, `arithmetic` slowly at first (quadratically), `geometric` fast at
first (as a square root), `exponential` doubling. AWS jitters its retries; so does `delay`, by up to 10%
down, so a delay is never longer than the policy says.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from trailbridge.errors import InvalidInputError

BACKOFF_FUNCTIONS = ("linear", "arithmetic", "geometric", "exponential")
CONTENT_TYPES = ("text/plain", "application/json", "application/xml")
MOST_RETRY_SECONDS = 3600  # an HTTP/S policy's retries may span an hour at most (a hard limit of AWS's)
MOST_RETRIES = 100
_RETRY_KEYS = (
    "minDelayTarget",
    "maxDelayTarget",
    "numRetries",
    "numNoDelayRetries",
    "numMinDelayRetries",
    "numMaxDelayRetries",
    "backoffFunction",
)


class DeliveryPolicyError(InvalidInputError):
    """A delivery policy SNS refuses; the text says why."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    min_delay: float
    max_delay: float
    retries: int
    no_delay: int = 0
    min_delay_retries: int = 0
    max_delay_retries: int = 0
    backoff: str = "linear"

    def delay(self, retry: int, rng: random.Random | None = None) -> float | None:
        """Seconds to wait before retry number `retry` (1 for the first); None when the policy has none left."""
        if retry > self.retries:
            return None
        planned = self.planned(retry)
        return planned * (0.9 + (rng or random).random() / 10)

    def planned(self, retry: int) -> float:
        """The delay before retry `retry` (1 <= retry <= retries) before jitter."""
        if retry <= self.no_delay:
            return 0.0
        retry -= self.no_delay
        if retry <= self.min_delay_retries:
            return self.min_delay
        retry -= self.min_delay_retries
        backoff = self.retries - self.no_delay - self.min_delay_retries - self.max_delay_retries
        if retry > backoff:
            return self.max_delay
        fraction = retry / backoff
        span = self.max_delay - self.min_delay
        return self.min_delay + span * _curve(self.backoff, fraction)

    def total(self) -> float:
        """The seconds every retry waits, jitter aside."""
        return sum(self.planned(retry) for retry in range(1, self.retries + 1))


def _curve(function: str, fraction: float) -> float:
    if function == "arithmetic":
        return fraction * fraction
    if function == "geometric":
        return math.sqrt(fraction)
    if function == "exponential":
        return float((2.0 ** (10 * fraction) - 1) / (2.0**10 - 1))
    return fraction


@dataclass(frozen=True, slots=True)
class HttpPolicy:
    """What a subscription over HTTP/S is delivered with."""

    retry: RetryPolicy
    max_per_second: int | None = None  # throttlePolicy.maxReceivesPerSecond
    content_type: str = "text/plain; charset=UTF-8"


# AWS's default for HTTP/S: three retries, 20 seconds apart
HTTP_DEFAULT = RetryPolicy(min_delay=20, max_delay=20, retries=3)
# AWS-managed endpoints (Lambda, SQS): 3 at once, 2 a second apart, 10 backing off from 1 s to 20 s, then
# 100,000 20 s apart: 100,015 tries over 23 days
MANAGED = RetryPolicy(1, 20, 100_015, 3, 2, 100_000, "exponential")
# customer-managed endpoints (SMTP, SMS, mobile push): 2 10 s apart, 10 from 10 s to 600 s, then 38 600 s
# apart: 50 tries over more than 6 hours
CUSTOMER_MANAGED = RetryPolicy(10, 600, 50, 0, 2, 38, "exponential")


def _document(text: str) -> dict[str, Any]:
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise DeliveryPolicyError("is not valid JSON") from None
    if not isinstance(document, dict):
        raise DeliveryPolicyError("must be a JSON object")
    return document


def _members(document: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise DeliveryPolicyError(f"{where} must be a JSON object")
    unknown = sorted(set(document) - set(allowed))
    if unknown:
        raise DeliveryPolicyError(f"{where} has an unknown key: {unknown[0]}")
    return document


def _whole(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise DeliveryPolicyError(f"{where} must be a whole number")
    if not low <= value <= high:
        raise DeliveryPolicyError(f"{where} must be between {low} and {high}")
    return int(value)


def retry_policy(document: Any, where: str) -> RetryPolicy:
    """A healthyRetryPolicy, checked as SNS checks it; what it leaves out is AWS's HTTP/S default."""
    given = _members(document, where, _RETRY_KEYS)
    low = _whole(given.get("minDelayTarget", 20), f"{where}.minDelayTarget", 1, MOST_RETRY_SECONDS)
    high = _whole(given.get("maxDelayTarget", max(low, 20)), f"{where}.maxDelayTarget", 1, MOST_RETRY_SECONDS)
    if low > high:
        raise DeliveryPolicyError(f"{where}.minDelayTarget must be less than or equal to maxDelayTarget")
    retries = _whole(given.get("numRetries", 3), f"{where}.numRetries", 0, MOST_RETRIES)
    phases = [
        _whole(given.get(name, 0), f"{where}.{name}", 0, MOST_RETRIES)
        for name in ("numNoDelayRetries", "numMinDelayRetries", "numMaxDelayRetries")
    ]
    if sum(phases) > retries:
        raise DeliveryPolicyError(
            f"{where}.numRetries must be at least numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries"
        )
    backoff = given.get("backoffFunction", "linear")
    if backoff not in BACKOFF_FUNCTIONS:
        raise DeliveryPolicyError(f"{where}.backoffFunction must be one of {', '.join(BACKOFF_FUNCTIONS)}")
    policy = RetryPolicy(low, high, retries, phases[0], phases[1], phases[2], str(backoff))
    if policy.total() > MOST_RETRY_SECONDS:
        raise DeliveryPolicyError(f"{where}: the retries may take at most {MOST_RETRY_SECONDS} seconds in all")
    return policy


def _throttle(document: Any, where: str) -> int:
    given = _members(document, where, ("maxReceivesPerSecond",))
    return _whole(given.get("maxReceivesPerSecond", 1), f"{where}.maxReceivesPerSecond", 1, 2**31 - 1)


def _content_type(document: Any, where: str) -> str:
    given = _members(document, where, ("headerContentType",))
    value = given.get("headerContentType", "text/plain; charset=UTF-8")
    if not isinstance(value, str) or value.split(";")[0].strip().lower() not in CONTENT_TYPES:
        raise DeliveryPolicyError(f"{where}.headerContentType must be one of {', '.join(CONTENT_TYPES)}")
    return value


def check_subscription_policy(text: str) -> None:
    """A subscription's DeliveryPolicy (`healthyRetryPolicy`, `throttlePolicy`, `requestPolicy`)."""
    _subscription_parts(_document(text))


def _subscription_parts(document: dict[str, Any]) -> dict[str, Any]:
    given = _members(document, "DeliveryPolicy", ("healthyRetryPolicy", "throttlePolicy", "requestPolicy"))
    parts: dict[str, Any] = {}
    if given.get("healthyRetryPolicy") is not None:
        parts["retry"] = retry_policy(given["healthyRetryPolicy"], "healthyRetryPolicy")
    if given.get("throttlePolicy") is not None:
        parts["max_per_second"] = _throttle(given["throttlePolicy"], "throttlePolicy")
    if given.get("requestPolicy") is not None:
        parts["content_type"] = _content_type(given["requestPolicy"], "requestPolicy")
    return parts


_TOPIC_HTTP = (
    "defaultHealthyRetryPolicy",
    "disableSubscriptionOverrides",
    "defaultThrottlePolicy",
    "defaultRequestPolicy",
)


def check_topic_policy(text: str) -> None:
    """A topic's DeliveryPolicy: `http` (its defaults for HTTP/S subscriptions) is the one that can be set."""
    _topic_parts(_document(text))


def _topic_parts(document: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(the parts of an HttpPolicy the topic sets, whether subscriptions may override them)."""
    given = _members(document, "DeliveryPolicy", ("http",))
    http = _members(given.get("http") or {}, "http", _TOPIC_HTTP)
    parts: dict[str, Any] = {}
    if http.get("defaultHealthyRetryPolicy") is not None:
        parts["retry"] = retry_policy(http["defaultHealthyRetryPolicy"], "http.defaultHealthyRetryPolicy")
    if http.get("defaultThrottlePolicy") is not None:
        parts["max_per_second"] = _throttle(http["defaultThrottlePolicy"], "http.defaultThrottlePolicy")
    if http.get("defaultRequestPolicy") is not None:
        parts["content_type"] = _content_type(http["defaultRequestPolicy"], "http.defaultRequestPolicy")
    overrides = http.get("disableSubscriptionOverrides", False)
    if not isinstance(overrides, bool):
        raise DeliveryPolicyError("http.disableSubscriptionOverrides must be true or false")
    return parts, not overrides


def http_policy(topic_policy: str | None, subscription_policy: str | None) -> HttpPolicy:
    """What an HTTP/S subscription is delivered with: AWS's default, the topic's over it, the subscription's
    over that unless the topic disables overrides. Policies were checked when set; one that no longer
    parses counts as not set."""
    parts: dict[str, Any] = {"retry": HTTP_DEFAULT}
    overridable = True
    try:
        if topic_policy:
            topic, overridable = _topic_parts(_document(topic_policy))
            parts |= topic
        if subscription_policy and overridable:
            parts |= _subscription_parts(_document(subscription_policy))
    except DeliveryPolicyError:
        pass
    return HttpPolicy(**parts)


def managed_policy(protocol: str) -> RetryPolicy:
    """AWS's fixed policy for a protocol that is not HTTP/S."""
    return MANAGED if protocol in ("lambda", "sqs", "firehose") else CUSTOMER_MANAGED


def retry_of(protocol: str, topic: Mapping[str, Any], subscription: Mapping[str, Any]) -> RetryPolicy:
    """The retry policy of a subscription, from its topic's and its own attributes."""
    if protocol in ("http", "https"):
        policy = http_policy(topic.get("DeliveryPolicy"), subscription.get("DeliveryPolicy"))
        return policy.retry
    return managed_policy(protocol)
