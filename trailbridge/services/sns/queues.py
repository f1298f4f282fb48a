"""How SNS puts a message on an SQS queue: only where the queue's policy lets `sns.amazonaws.com` send for
the topic (`aws:SourceArn`), or the queue is the topic owner's; signed when it is one of SNS's JSON
messages; delayed as the queue delays what it is sent; to a FIFO queue in the publish's message group and
under its deduplication id. A queue that does not exist, or refuses, gets nothing (AWS counts a failed
delivery; trailbridge keeps no delivery statistics).

Sends are `topics.batch.later` writes: in a batch of publishes, made at its end, where the messages to standard
queues are `gathered` into one write of many rows; outside one, at once (gathered within a `gathering()`
block: a publish's)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from trailbridge.delivery.queues import content_dedup_id
from trailbridge.delivery.subscriptions import queue_for_topic
from trailbridge.services import sqs_attributes
from trailbridge.services.base import Engine, ServiceError
from trailbridge.services.sns.common import configuration_version, lookup_stamp
from trailbridge.topics.batch import deferred, gathered, later, memoized, write_signed
from trailbridge.topics.notifications import written, written_each


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
            ("queue", arn, self.arn), lambda: queue_for_topic(resources, arn, self.arn), lambda: lookup_stamp(resources)
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
        kept = sqs_attributes.to_store(attributes or {})
        queues, version = self.engine.queues, configuration_version(self.engine.resources)
        if not sqs_attributes.is_fifo(stored):

            def send() -> None:
                if self._still_takes(queue, version):
                    gathered(queues.send_many, (queue["Arn"], body, kept, delay, group_id))

            later(send)
            return
        group, dedup = group_id or self.arn, dedup_id or content_dedup_id(body)
        by_group = stored.get("DeduplicationScope") == "messageGroup"

        def send_fifo() -> None:  # alone: its sequence number and deduplication are the queue's to give
            if self._still_takes(queue, version):
                queues.send(queue["Arn"], body, kept, delay, group_id=group, dedup_id=dedup, dedup_by_group=by_group)

        later(send_fifo)

    def _still_takes(self, queue: Mapping[str, Any], version: int) -> bool:
        """Whether a queue still takes what the topic sends when a call found it did at configuration `version`:
        at a batch's end, a queue another thread's work deleted (or whose policy it changed) between the batch's
        calls gets nothing."""
        if not deferred() or configuration_version(self.engine.resources) == version:
            return True
        return self.queue(queue["Arn"]) is not None

    def send_signed(
        self,
        queue: Mapping[str, Any],
        message: dict[str, Any],
        *,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> None:
        """One of SNS's JSON messages (a subscription confirmation), signed with the topic's SignatureVersion and
        written as SNS writes it (`batch.write_signed`: in a batch of publishes, at its end); `group_id` and
        `dedup_id` as `send` takes them."""

        def write(signed: dict[str, Any]) -> None:
            self.send(queue, written(signed), group_id=group_id, dedup_id=dedup_id)

        write_signed(self._signing(message), write)

    def send_notification(
        self,
        notification: dict[str, Any],
        deliveries: Sequence[tuple[Mapping[str, Any], str]],
        *,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> None:
        """One notification to each (queue, UnsubscribeURL) of a publish's subscriptions: signed once (the
        UnsubscribeURL is not signed), its text written once but for that URL; `group_id` and `dedup_id` as
        `send` takes them."""
        signing = self._signing(notification)

        def write(signed: dict[str, Any]) -> None:
            texts = written_each(signed, "UnsubscribeURL", [url for _, url in deliveries])
            for (queue, _), text in zip(deliveries, texts, strict=True):
                self.send(queue, text, group_id=group_id, dedup_id=dedup_id)

        write_signed(signing, write)

    def _signing(self, message: dict[str, Any]) -> Callable[[], dict[str, Any]]:
        """The message's signature started, with the topic's SignatureVersion (`NotificationSigner.signing`)."""
        signer = self.engine.sns_signer
        if signer is None:
            raise ServiceError(
                "NotImplemented",
                "This trailbridge engine has no SNS signer, so it cannot send SNS's signed JSON messages "
                "(raw message delivery works).",
                501,
            )
        return signer.signing(message, self.arn.split(":")[3], self.topic["Attributes"].get("SignatureVersion", "1"))
