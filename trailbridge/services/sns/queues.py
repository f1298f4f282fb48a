"""How SNS puts a message on an SQS queue: only where the queue's policy lets `sns.amazonaws.com` send for
the topic (`aws:SourceArn`), or the queue is the topic owner's; signed when it is one of SNS's JSON
messages; delayed as the queue delays what it is sent. A queue that does not exist, or refuses, gets
nothing (AWS counts a failed delivery; trailbridge keeps no delivery statistics)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trailbridge.domain.access import Access, allowed
from trailbridge.services import sqs_attributes
from trailbridge.services.base import Engine, ServiceError
from trailbridge.topics.notifications import written


class TopicQueues:
    """The queues one topic delivers to."""

    def __init__(self, engine: Engine, topic: Mapping[str, Any]) -> None:
        self.engine, self.topic = engine, topic
        self.arn: str = topic["TopicArn"]

    def queue(self, arn: str) -> dict[str, Any] | None:
        """The queue, when it exists and SNS may send to it for this topic."""
        queue = self.engine.resources.get(arn)
        if queue is None or queue.get("Arn") != arn:
            return None
        access = Access(
            self.arn.split(":")[4],
            "sqs:SendMessage",
            arn,
            service="sns.amazonaws.com",
            context={"aws:SourceArn": self.arn},
        )
        return queue if allowed(access, queue["Attributes"].get("Policy")) else None

    def send(self, queue: Mapping[str, Any], body: str, attributes: Mapping[str, Any] | None = None) -> None:
        delay = sqs_attributes.number(queue["Attributes"], "DelaySeconds")
        self.engine.queues.send(queue["Arn"], body, sqs_attributes.to_store(attributes or {}), delay)

    def send_signed(self, queue: Mapping[str, Any], message: dict[str, Any]) -> None:
        """One of SNS's JSON messages (a notification, a subscription confirmation), signed with the topic's
        SignatureVersion and written as SNS writes it."""
        signer = self.engine.sns_signer
        if signer is None:
            raise ServiceError(
                "NotImplemented",
                "This trailbridge engine has no SNS signer, so it cannot send SNS's signed JSON messages "
                "(raw message delivery works).",
                501,
            )
        region = self.arn.split(":")[3]
        version = self.topic["Attributes"].get("SignatureVersion", "1")
        self.send(queue, written(signer.sign(message, region, version)))
