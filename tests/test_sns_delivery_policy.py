"""SNS delivery policies: AWS's four phases, the backoff functions' bounds, the defaults AWS documents, how a
topic's and a subscription's policies combine, and what is refused."""

from __future__ import annotations

import json
import random

import pytest

from tests.support.sns import Sns, refused
from trailbridge.runtime import Trailbridge
from trailbridge.topics.delivery_policy import (
    CUSTOMER_MANAGED,
    HTTP_DEFAULT,
    MANAGED,
    DeliveryPolicyError,
    RetryPolicy,
    check_subscription_policy,
    check_topic_policy,
    http_policy,
    retry_policy,
)


def test_awss_documented_defaults() -> None:
    assert [HTTP_DEFAULT.planned(n) for n in (1, 2, 3)] == [20, 20, 20]
    assert HTTP_DEFAULT.delay(4) is None
    # AWS-managed endpoints: 3 at once, 2 a second apart, 10 backing off from 1 s to 20 s, then 20 s apart
    assert [MANAGED.planned(n) for n in range(1, 6)] == [0, 0, 0, 1, 1]
    backoff = [MANAGED.planned(n) for n in range(6, 16)]
    assert backoff == sorted(backoff) and backoff[-1] == 20 and backoff[0] > 1
    assert MANAGED.planned(16) == MANAGED.planned(100_015) == 20 and MANAGED.delay(100_016) is None
    assert 22 < MANAGED.total() / 86400 < 24  # "100,015 times, over 23 days"
    # customer-managed: 2 10 s apart, 10 from 10 s to 600 s, 38 600 s apart: 50 over more than 6 hours
    assert [CUSTOMER_MANAGED.planned(n) for n in (1, 2)] == [10, 10]
    assert CUSTOMER_MANAGED.planned(12) == CUSTOMER_MANAGED.planned(50) == 600 and CUSTOMER_MANAGED.delay(51) is None
    assert CUSTOMER_MANAGED.total() > 6 * 3600


@pytest.mark.parametrize("function", ["linear", "arithmetic", "geometric", "exponential"])
def test_every_backoff_function_climbs_from_the_minimum_to_the_maximum(function: str) -> None:
    policy = RetryPolicy(2, 40, retries=12, no_delay=1, min_delay_retries=1, max_delay_retries=2, backoff=function)
    delays = [policy.planned(n) for n in range(1, 13)]
    assert delays[:2] == [0, 2]
    phase = delays[2:10]
    assert phase == sorted(phase) and phase[0] > 2 and phase[-1] == 40
    assert delays[10:] == [40, 40]


def test_the_curves_differ_as_their_names_say() -> None:
    def middle(function: str) -> float:
        return RetryPolicy(0, 100, retries=10, backoff=function).planned(5)

    assert middle("arithmetic") < middle("linear") < middle("geometric")
    assert middle("exponential") < middle("linear")


def test_jitter_only_shortens_a_delay_by_a_tenth_at_most() -> None:
    rng = random.Random(7)
    delays = [HTTP_DEFAULT.delay(1, rng) for _ in range(200)]
    assert all(d is not None and 18 <= d <= 20 for d in delays)
    assert len(set(delays)) > 100


def test_a_subscription_policy_overrides_the_topics_unless_the_topic_disables_overrides() -> None:
    topic = {"http": {"defaultHealthyRetryPolicy": {"numRetries": 5, "minDelayTarget": 1, "maxDelayTarget": 2}}}
    own = {"healthyRetryPolicy": {"numRetries": 1}, "throttlePolicy": {"maxReceivesPerSecond": 3}}
    assert http_policy(None, None).retry == HTTP_DEFAULT
    assert http_policy(json.dumps(topic), None).retry.retries == 5
    combined = http_policy(json.dumps(topic), json.dumps(own))
    assert (combined.retry.retries, combined.max_per_second) == (1, 3)
    topic["http"]["disableSubscriptionOverrides"] = True  # type: ignore[index]
    assert http_policy(json.dumps(topic), json.dumps(own)).retry.retries == 5
    request = {"requestPolicy": {"headerContentType": "application/json; charset=UTF-8"}}
    assert http_policy(None, json.dumps(request)).content_type == "application/json; charset=UTF-8"


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        ("not json", "is not valid JSON"),
        ("[]", "must be a JSON object"),
        (
            '{"healthyRetryPolicy": {"minDelayTarget": 0}}',
            "healthyRetryPolicy.minDelayTarget must be between 1 and 3600",
        ),
        (
            '{"healthyRetryPolicy": {"minDelayTarget": 30, "maxDelayTarget": 20}}',
            "healthyRetryPolicy.minDelayTarget must be less than or equal to maxDelayTarget",
        ),
        ('{"healthyRetryPolicy": {"numRetries": 101}}', "healthyRetryPolicy.numRetries must be between 0 and 100"),
        ('{"healthyRetryPolicy": {"numRetries": 1.5}}', "healthyRetryPolicy.numRetries must be a whole number"),
        ('{"healthyRetryPolicy": {"numRetries": true}}', "healthyRetryPolicy.numRetries must be a whole number"),
        (
            '{"healthyRetryPolicy": {"numRetries": 2, "numNoDelayRetries": 2, "numMaxDelayRetries": 1}}',
            "healthyRetryPolicy.numRetries must be at least numNoDelayRetries + numMinDelayRetries + "
            "numMaxDelayRetries",
        ),
        (
            '{"healthyRetryPolicy": {"backoffFunction": "cubic"}}',
            "healthyRetryPolicy.backoffFunction must be one of linear, arithmetic, geometric, exponential",
        ),
        (
            '{"healthyRetryPolicy": {"numRetries": 100, "minDelayTarget": 60, "maxDelayTarget": 60}}',
            "healthyRetryPolicy: the retries may take at most 3600 seconds in all",
        ),
        ('{"throttlePolicy": {"maxReceivesPerSecond": 0}}', "throttlePolicy.maxReceivesPerSecond must be between 1"),
        ('{"requestPolicy": {"headerContentType": "image/png"}}', "requestPolicy.headerContentType must be one of"),
        ('{"sicklyRetryPolicy": {}}', "DeliveryPolicy has an unknown key: sicklyRetryPolicy"),
        ('{"healthyRetryPolicy": {"retries": 1}}', "healthyRetryPolicy has an unknown key: retries"),
    ],
)
def test_a_subscription_policy_sns_would_refuse(policy: str, reason: str) -> None:
    with pytest.raises(DeliveryPolicyError) as caught:
        check_subscription_policy(policy)
    assert str(caught.value).startswith(reason)


def test_a_topic_policy_is_checked_under_http() -> None:
    check_topic_policy(
        '{"http": {"defaultHealthyRetryPolicy": {"numRetries": 3}, "disableSubscriptionOverrides": false}}'
    )
    with pytest.raises(DeliveryPolicyError, match=r"http\.defaultHealthyRetryPolicy\.numRetries must be between"):
        check_topic_policy('{"http": {"defaultHealthyRetryPolicy": {"numRetries": -1}}}')
    with pytest.raises(DeliveryPolicyError, match="DeliveryPolicy has an unknown key: lambda"):
        check_topic_policy('{"lambda": {}}')
    with pytest.raises(DeliveryPolicyError, match="disableSubscriptionOverrides must be true or false"):
        check_topic_policy('{"http": {"disableSubscriptionOverrides": "yes"}}')


def test_retry_policy_fills_in_awss_http_defaults() -> None:
    assert retry_policy({}, "p") == HTTP_DEFAULT
    assert retry_policy({"minDelayTarget": 30}, "p").max_delay == 30


def test_set_attributes_refuse_a_policy_sns_would_refuse() -> None:
    with Trailbridge() as tb:
        sns = Sns(tb.engine)
        topic = sns.topic()
        bad = json.dumps({"http": {"defaultHealthyRetryPolicy": {"minDelayTarget": 0}}})
        assert refused(
            sns.topics.set_topic_attributes, TopicArn=topic, AttributeName="DeliveryPolicy", AttributeValue=bad
        ) == (
            "InvalidParameter",
            "Invalid parameter: DeliveryPolicy: http.defaultHealthyRetryPolicy.minDelayTarget must be between 1 and 3600",
            400,
        )
        _, queue = sns.queue()
        arn = sns.subscribe(topic, queue)
        own = json.dumps({"healthyRetryPolicy": {"backoffFunction": "cubic"}})
        code, message, _ = refused(
            sns.subscriptions.set_subscription_attributes,
            SubscriptionArn=arn,
            AttributeName="DeliveryPolicy",
            AttributeValue=own,
        )
        assert (code, message) == (
            "InvalidParameter",
            "Invalid parameter: DeliveryPolicy: healthyRetryPolicy.backoffFunction must be one of linear, arithmetic, "
            "geometric, exponential",
        )
        _, fifo_queue = sns.queue("dead.fifo", FifoQueue="true")
        redrive = json.dumps({"deadLetterTargetArn": fifo_queue})
        code, message, _ = refused(
            sns.subscriptions.set_subscription_attributes,
            SubscriptionArn=arn,
            AttributeName="RedrivePolicy",
            AttributeValue=redrive,
        )
        assert (
            message
            == "Invalid parameter: RedrivePolicy: must use a standard queue as DLQ for a Subscription to a standard Topic."
        )
