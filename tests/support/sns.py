"""Helpers for the SNS tests: one account's SNS and SQS service objects over an engine that signs
notifications (a signer over in-memory keys), the error a call is refused with, and fixtures a test module
imports (`*_fixture`, each named without the suffix): `clock` (one the test moves), `engine` (in memory,
signing, on that clock) and `sns` (a new account's services over that engine)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from trailbridge.runtime import Trailbridge
from trailbridge.services.base import Engine, ServiceError
from trailbridge.services.sns import PublishService, SubscriptionsService, TagsService, TopicsService
from trailbridge.services.sqs import QueuesService
from trailbridge.storage.memory.keys import MemoryKeys
from trailbridge.topics.signing import NotificationSigner

REGION = "us-east-1"
_accounts = itertools.count(400000000001)


class Sns:
    """One account's SNS and SQS."""

    def __init__(self, engine: Engine, account: str | None = None) -> None:
        self.engine, self.account = engine, account or str(next(_accounts))
        self.topics = TopicsService(engine, self.account, REGION)
        self.subscriptions = SubscriptionsService(engine, self.account, REGION)
        self.publisher = PublishService(engine, self.account, REGION)
        self.tags = TagsService(engine, self.account, REGION)
        self.sqs = QueuesService(engine, self.account, REGION)

    def topic(self, name: str = "orders", **params: Any) -> str:
        return str(self.topics.create_topic(Name=name, **params)["TopicArn"])

    def queue(self, name: str = "inbox", **attributes: str) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        return url, f"arn:aws:sqs:{REGION}:{self.account}:{name}"

    def subscribe(self, topic: str, queue_arn: str, **attributes: str) -> str:
        answer = self.subscriptions.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes)
        return str(answer["SubscriptionArn"])

    def received(self, url: str) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        return list(answer.get("Messages", []))


def signed(tb: Trailbridge) -> Engine:
    signer = NotificationSigner(MemoryKeys(tb.store), tb.engine.secrets, tb.engine.clock, "http://localhost")
    return replace(tb.engine, sns_signer=signer)


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.at = 1_700_000_000.0

    def now(self) -> float:
        return self.at


@pytest.fixture(name="clock")
def clock_fixture() -> Clock:
    return Clock()


@pytest.fixture(name="engine")
def engine_fixture(clock: Clock) -> Iterator[Engine]:
    with Trailbridge(clock=clock) as tb:
        yield signed(tb)


@pytest.fixture(name="sns")
def sns_fixture(engine: Engine) -> Sns:
    return Sns(engine)


def signed_engine() -> Iterator[Engine]:
    """An in-memory trailbridge's engine with a signer, for a fixture to yield from."""
    with Trailbridge() as tb:
        yield signed(tb)


def refused(call: Any, **params: Any) -> tuple[str, str, int]:
    with pytest.raises(ServiceError) as caught:
        call(**params)
    return caught.value.code, caught.value.message, caught.value.status
