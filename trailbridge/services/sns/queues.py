"""How SNS puts a message on an SQS queue: only where the queue's policy lets `sns.amazonaws.com` send for
the topic (`aws:SourceArn`), or the queue is the topic owner's; signed when it is one of SNS's JSON
messages; delayed as the queue delays what it is sent; to a FIFO queue in the publish's message group and
under its deduplication id. A queue that does not exist, or refuses, gets nothing (AWS counts a failed
delivery; trailbridge keeps no delivery statistics)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trailbridge.delivery.queues import content_dedup_id
from trailbridge.delivery.subscriptions import queue_for_topic
from trailbridge.services import sqs_attributes
from trailbridge.services.base import Engine, ServiceError
from trailbridge.topics.batch import memoized, write_signed
from trailbridge.topics.notifications import written


class TopicQueues:
    """The queues one topic delivers to."""

    def __init__(self, engine: Engine, topic: Mapping[str, Any]) -> None:
        self.engine, self.topic = engine, topic
        self.arn: str = topic["TopicArn"]

    def queue(self, arn: str) -> dict[str, Any] | None:
        """The queue, when it exists and SNS may send to it for this topic (asked once per batch of publishes and
        configuration version: queues are configuration)."""
        resources = self.engine.resources
        return memoized(
            ("queue", arn, self.arn, resources.version()), lambda: queue_for_topic(resources, arn, self.arn)
        )

    def fifo_ids(self, entry: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """The message group and deduplication id a publish (or a batch entry) gives its queues: on a FIFO
        topic its MessageGroupId, and its MessageDeduplicationId or, under the topic's
        ContentBasedDeduplication, the SHA-256 of its Message; (None, None) on a standard topic."""
        stored = self.topic["Attributes"]
        if stored.get("FifoTopic") != "true":
            return None, None
        dedup_id = entry.get("MessageDeduplicationId")
        if dedup_id is None and stored.get("ContentBasedDeduplication") == "true":
            dedup_id = content_dedup_id(str(entry["Message"]))
        return entry.get("MessageGroupId"), dedup_id

    def send(
        self,
        queue: Mapping[str, Any],
        body: str,
        attributes: Mapping[str, Any] | None = None,
        *,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> None:
        """Put `body` on the queue. A FIFO topic passes its publish's MessageGroupId and deduplication id (the
        publish's MessageDeduplicationId, or the SHA-256 of the message under ContentBasedDeduplication); a
        FIFO queue sent nothing of the kind (a subscription confirmation) gets the topic's ARN as the group
        and the SHA-256 of the body as the deduplication id. A standard queue takes a group as a fair queue's
        tenant, and no deduplication id."""
        stored = queue["Attributes"]
        delay = sqs_attributes.number(stored, "DelaySeconds")
        fifo = sqs_attributes.is_fifo(stored)
        if fifo:
            group_id = group_id or self.arn
            dedup_id = dedup_id or content_dedup_id(body)
        self.engine.queues.send(
            queue["Arn"],
            body,
            sqs_attributes.to_store(attributes or {}),
            delay,
            group_id=group_id,
            dedup_id=dedup_id if fifo else None,
            dedup_by_group=stored.get("DeduplicationScope") == "messageGroup",
        )

    def send_signed(
        self,
        queue: Mapping[str, Any],
        message: dict[str, Any],
        *,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> None:
        """One of SNS's JSON messages (a notification, a subscription confirmation), signed with the topic's
        SignatureVersion and written as SNS writes it (`signing.write_signed`: in a batch of publishes, at its
        end); `group_id` and `dedup_id` as `send` takes them."""
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

        def write(signed: dict[str, Any]) -> None:
            self.send(queue, written(signed), group_id=group_id, dedup_id=dedup_id)

        write_signed(signer.signing(message, region, version), write)
