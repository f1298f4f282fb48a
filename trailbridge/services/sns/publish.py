"""Publish and PublishBatch: a message checked as SNS checks it, then delivered to every subscription of the
topic whose filter policy matches, in one transaction. trailbridge delivers to its own SQS queues: the
JSON notification (signed, as SNS signs it), or with RawMessageDelivery the message itself with its
attributes as SQS message attributes; which queues take it is `queues.TopicQueues`' to say. An SMS (to an
`sms` subscription, or a Publish with PhoneNumber) goes to the SMS outbox (`sms.keep_sms`), in the same
transaction: no carrier is reachable. A push notification (a Publish with a platform endpoint's TargetArn, or to
an `application` subscription) goes to the push outbox (`push.keep_push`) likewise: no push service is
reachable."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson

from trailbridge.delivery.subscriptions import NOTIFY, notification_event
from trailbridge.delivery.subscriptions import PROTOCOLS as NOTIFIED
from trailbridge.patterns.filter_policy import FilterPolicy, compile_filter_policy
from trailbridge.services import sqs_attributes
from trailbridge.services.base import ServiceError
from trailbridge.services.sns import messages, push, sms
from trailbridge.services.sns import platform_checks as checks
from trailbridge.services.sns.common import SnsParts, invalid_parameter, not_found, sns_operation
from trailbridge.services.sns.platform import ENDPOINT
from trailbridge.services.sns.queues import TopicQueues
from trailbridge.storage.ports import NewDelivery, NewEvent
from trailbridge.topics.batch import gathering
from trailbridge.topics.notifications import (
    message_for,
    notification_attributes,
    per_protocol,
    unsigned,
    unsubscribe_url,
)

_BATCH_ID = re.compile(r"[A-Za-z0-9_-]+")
_MOST_ENTRIES = 10
_MOST_RAW_ATTRIBUTES = 10  # what SQS takes with a message


@lru_cache(maxsize=4096)
def _policy(text: str, scope: str) -> FilterPolicy:
    """Filter policies compiled once (they were checked when set), not at every message."""
    return compile_filter_policy(text, scope)


def _batch_error(code: str, message: str) -> ServiceError:
    return ServiceError(code, message)


def _check_batch(entries: list[Mapping[str, Any]]) -> None:
    if not entries:
        raise _batch_error("EmptyBatchRequest", "The batch request doesn't contain any entries.")
    if len(entries) > _MOST_ENTRIES:
        raise _batch_error("TooManyEntriesInBatchRequest", "The batch request contains more entries than permissible.")
    for key in (entry["Id"] for entry in entries):
        if len(key) > 80:
            raise _batch_error(
                "InvalidBatchEntryId", f"The Id of a batch entry in the batch request is too long: {key}"
            )
        if not _BATCH_ID.fullmatch(key):
            raise _batch_error(
                "InvalidBatchEntryId", "The Id of a batch entry in a batch request doesn't abide by the specification."
            )
    if len({entry["Id"] for entry in entries}) != len(entries):
        raise _batch_error("BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id.")
    total = sum(
        len(e["Message"].encode()) + messages.attributes_size(e.get("MessageAttributes") or {}) for e in entries
    )
    if total > messages.MOST_BYTES:
        raise _batch_error("BatchRequestTooLong", "The length of all the messages put together is more than the limit.")


class PublishService(SnsParts):
    @sns_operation("Publish")
    def publish(self, **params: Any) -> dict[str, Any]:
        if params.get("PhoneNumber") is not None:
            return self._publish_sms(params)
        topic = self._target(params)
        if topic.get("Kind") == ENDPOINT:
            return self._publish_push(topic, params)
        self._check(topic, params)
        with self.engine.store.transaction(), gathering():
            answer, queued = self._deliver(topic, params)
        if queued:
            self.engine.router.wake()
        return answer

    @sns_operation("PublishBatch")
    def publish_batch(self, **params: Any) -> dict[str, Any]:
        """Every entry is checked before any is delivered: SNS refuses the whole batch for one bad entry."""
        topic = self.topic(params["TopicArn"], "SNS:Publish")
        entries = params["PublishBatchRequestEntries"]
        _check_batch(entries)
        for entry in entries:
            self._check(topic, entry)
        with self.engine.store.transaction(), gathering():
            delivered = [(entry["Id"], *self._deliver(topic, entry)) for entry in entries]
        if any(queued for _, _, queued in delivered):
            self.engine.router.wake()
        return {"Successful": [{"Id": key, **answer} for key, answer, _ in delivered], "Failed": []}

    def _publish_sms(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """A Publish to a phone number: checked as SNS checks it, then kept in the outbox (unless the number
        opted out: SNS drops it and still answers a MessageId)."""
        if params.get("TopicArn") or params.get("TargetArn"):
            raise invalid_parameter("TopicArn, TargetArn or PhoneNumber Reason: only one of them may be specified")
        number = sms.check_phone(params["PhoneNumber"])
        attributes = params.get("MessageAttributes") or {}
        messages.check_attributes(sms.without_options(attributes))
        messages.check_message(params["Message"], attributes, params.get("MessageStructure"))
        text = _text_for(params, "sms")
        if len(text) > sms.MOST_CHARACTERS:
            raise invalid_parameter(f"Message Reason: an SMS message is at most {sms.MOST_CHARACTERS} characters")
        options = sms.sms_options(self.engine, self.account, self.region, attributes)
        message_id = self.engine.new_id()
        keep = {"PhoneNumber": number, "Message": text, **options, "MessageId": message_id, "TopicArn": None}
        with self.engine.store.transaction():
            sms.keep_sms(self.engine, self.account, self.region, keep)
        return {"MessageId": message_id}

    def _publish_push(self, endpoint: dict[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
        """A Publish to a platform endpoint: the message checked as for a standard topic, then kept in the push
        outbox (no push service is reachable) in one transaction."""
        self._check({"Attributes": {}}, params)
        message_id = self.engine.new_id()
        with self.engine.store.transaction():
            push.keep_push(self.engine, endpoint, params, message_id, None)
        return {"MessageId": message_id}

    def _endpoint(self, arn: str) -> dict[str, Any]:
        """The platform endpoint a TargetArn names, for its owner: AWS's errors for one that does not exist (or
        whose application was deleted) or is disabled; one of another region is refused as a topic's is."""
        checks.check_arn(arn, "TargetArn", "endpoint", 3)
        if arn.split(":")[3] != self.region:
            raise invalid_parameter("TargetArn")
        self.authorize("SNS:Publish", arn, None)
        endpoint = push.find_endpoint(self.engine, arn)
        if endpoint is None:
            raise invalid_parameter("TargetArn Reason: No endpoint found for the target arn specified")
        if not push.enabled(endpoint):
            raise ServiceError("EndpointDisabled", "Endpoint is disabled")
        return endpoint

    def _target(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The topic a Publish names by TopicArn or TargetArn, or the platform endpoint its TargetArn names."""
        given = [(name, params[name]) for name in ("TopicArn", "TargetArn") if params.get(name)]
        if not given:
            raise invalid_parameter("TopicArn or TargetArn Reason: no value for required parameter")
        if len(given) > 1:
            raise invalid_parameter("TopicArn or TargetArn Reason: Only one of TopicArn or TargetArn may be specified")
        name, arn = given[0]
        if name == "TargetArn" and ":endpoint/" in arn:
            return self._endpoint(arn)
        return self.topic(arn, "SNS:Publish", name)

    def _check(self, topic: Mapping[str, Any], entry: Mapping[str, Any]) -> None:
        attributes = entry.get("MessageAttributes") or {}
        messages.check_attributes(sms.without_options(attributes))
        messages.check_message(entry["Message"], attributes, entry.get("MessageStructure"))
        messages.check_subject(entry.get("Subject"))
        sms.check_options(attributes)
        stored = topic["Attributes"]
        messages.check_fifo(
            stored.get("FifoTopic") == "true",
            stored.get("ContentBasedDeduplication") == "true",
            entry.get("MessageGroupId"),
            entry.get("MessageDeduplicationId"),
        )

    def _deliver(self, topic: dict[str, Any], entry: Mapping[str, Any]) -> tuple[dict[str, str], bool]:
        """Put the message on the queue of every confirmed SQS subscription whose filter policy matches, and in
        the SMS outbox for every SMS subscription's number that matches, and in the push outbox for every
        `application` subscription's endpoint that matches and is enabled; queue one delivery for each other
        confirmed subscription that matches (HTTP/S, lambda, email), which the dispatcher makes. The answer,
        and whether a delivery was queued. A filter policy that several subscriptions share is asked once."""
        message_id, sent = self.engine.new_id(), self.engine.clock.now()  # one Timestamp for every delivery
        body = _text_for(entry, "sqs")
        attributes = entry.get("MessageAttributes") or {}
        fifo = topic["Attributes"].get("FifoTopic") == "true"
        sequence = self._next_sequence(topic["TopicArn"]) if fifo else None
        queues = TopicQueues(self.engine, topic)
        answers: dict[tuple[str, str], bool] = {}  # by filter policy and scope, for this message
        notified: list[tuple[Mapping[str, Any], str]] = []  # the queues that get the JSON notification
        queued: list[NewDelivery] = []
        for subscription in self.subscriptions_of(topic["TopicArn"]):
            if subscription["PendingConfirmation"] or not _matches(
                subscription["Attributes"], body, attributes, answers
            ):
                continue
            protocol = subscription["Protocol"]
            if protocol == "sms":
                self._to_phone(topic, subscription, message_id, entry)
            elif protocol == "application":
                self._to_endpoint(topic, subscription, message_id, entry)
            elif protocol == "sqs":
                self._to_queue(queues, subscription, body, entry, notified)
            elif protocol in NOTIFIED:
                queued.append(NewDelivery(subscription["SubscriptionArn"], NOTIFY, subscription["Endpoint"], 0.0))
        if notified:
            notification = unsigned(
                message_id=message_id,
                topic_arn=topic["TopicArn"],
                subject=entry.get("Subject"),
                message=body,
                sent=sent,
                unsubscribe_url=notified[0][1],
                attributes=_delivered_attributes(entry),
                sequence=sequence,
            )
            group_id, dedup_id = queues.fifo_ids(entry)
            queues.send_notification(notification, notified, group_id=group_id, dedup_id=dedup_id)
        if queued:
            self._queue(topic, message_id, entry, queued, sent)
        answer = {"MessageId": message_id}
        if sequence is not None:
            answer["SequenceNumber"] = sequence
        return answer, bool(queued)

    def _queue(
        self,
        topic: Mapping[str, Any],
        message_id: str,
        entry: Mapping[str, Any],
        deliveries: list[NewDelivery],
        now: float,
    ) -> None:
        """The message on the durable delivery queue, once, with a delivery per subscription."""
        structured = entry.get("MessageStructure") == "json"
        messages = per_protocol(entry["Message"]) if structured else {"default": str(entry["Message"])}
        attributes = {} if structured else entry.get("MessageAttributes") or {}
        body = notification_event(
            message_id=message_id,
            topic_arn=topic["TopicArn"],
            subject=entry.get("Subject"),
            messages=messages,
            sent=now,
            attributes=notification_attributes(attributes),
            stored_attributes=sqs_attributes.to_store(attributes),
        )
        due = [NewDelivery(d.rule_arn, d.target_id, d.target_arn, now) for d in deliveries]
        self.engine.router.enqueue(NewEvent(message_id, body, now, "{}", due))

    def _next_sequence(self, arn: str) -> str:
        """A FIFO topic's next sequence number, counted on the topic as read inside the publish's transaction."""
        topic = self.resources.get(arn)
        if topic is None:  # deleted since the publish found it
            raise not_found("Topic")
        topic["Sequence"] = topic.get("Sequence", 0) + 1
        self.save_topic(topic)
        return f"{topic['Sequence']:020d}"

    def _to_phone(
        self, topic: Mapping[str, Any], subscription: Mapping[str, Any], message_id: str, entry: Mapping[str, Any]
    ) -> None:
        options = sms.sms_options(self.engine, self.account, self.region, entry.get("MessageAttributes") or {})
        keep = {
            "PhoneNumber": sms.check_phone(subscription["Endpoint"]),
            "Message": _text_for(entry, "sms"),
            **options,
            "MessageId": message_id,
            "TopicArn": topic["TopicArn"],
        }
        _, _, _, region, account, _ = topic["TopicArn"].split(":", 5)
        sms.keep_sms(self.engine, account, region, keep)

    def _to_endpoint(
        self, topic: Mapping[str, Any], subscription: Mapping[str, Any], message_id: str, entry: Mapping[str, Any]
    ) -> None:
        """One push in the outbox for the subscribed endpoint, unless it is gone or disabled (SNS drops it)."""
        endpoint = push.find_endpoint(self.engine, subscription["Endpoint"])
        if endpoint is not None and push.enabled(endpoint):
            push.keep_push(self.engine, endpoint, entry, message_id, topic["TopicArn"])

    def _to_queue(
        self,
        queues: TopicQueues,
        subscription: Mapping[str, Any],
        body: str,
        entry: Mapping[str, Any],
        notified: list[tuple[Mapping[str, Any], str]],
    ) -> None:
        """The raw message on the subscription's queue, or the queue and its UnsubscribeURL added to those that
        get the JSON notification."""
        endpoint = queues.queue(subscription["Endpoint"])
        queue = endpoint or _dead_letter_queue(queues, subscription)
        # CloudWatch's SNS metrics per topic and subscription, as the other protocols' deliveries count them
        counted = "NumberOfNotificationsDelivered" if endpoint is not None else "NumberOfNotificationsFailed"
        if queue is None:
            self.engine.metrics.add(counted, queues.arn, subscription["SubscriptionArn"])
            return
        if subscription["Attributes"].get("RawMessageDelivery") != "true":
            url = unsubscribe_url(self.engine.settings.endpoint_url, subscription["SubscriptionArn"])
            notified.append((queue, url))
            self.engine.metrics.add(counted, queues.arn, subscription["SubscriptionArn"])
            return
        attributes = _delivered_attributes(entry)
        if len(attributes) <= _MOST_RAW_ATTRIBUTES:  # more, and SNS discards the message for this queue
            group_id, dedup_id = queues.fifo_ids(entry)
            queues.send(queue, body, attributes, group_id=group_id, dedup_id=dedup_id)
        else:
            counted = "NumberOfNotificationsFailed"
        self.engine.metrics.add(counted, queues.arn, subscription["SubscriptionArn"])


def _dead_letter_queue(queues: TopicQueues, subscription: Mapping[str, Any]) -> dict[str, Any] | None:
    """Where a message goes that its queue cannot take (the queue is gone, or its policy refuses SNS): the
    subscription's RedrivePolicy dead-letter queue, when it has one that takes it, as SNS moves it there."""
    policy = subscription["Attributes"].get("RedrivePolicy")
    target = orjson.loads(policy).get("deadLetterTargetArn") if policy else None
    return queues.queue(target) if isinstance(target, str) else None


def _text_for(entry: Mapping[str, Any], protocol: str) -> str:
    """The message a protocol gets: with MessageStructure=json, its own or the default."""
    if entry.get("MessageStructure") == "json":
        return message_for(per_protocol(entry["Message"]), protocol)
    return str(entry["Message"])


def _delivered_attributes(entry: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    """SNS delivers message attributes only with a String message, not with MessageStructure=json."""
    return {} if entry.get("MessageStructure") == "json" else entry.get("MessageAttributes") or {}


def _matches(
    stored: Mapping[str, str],
    body: str,
    attributes: Mapping[str, Mapping[str, Any]],
    answers: dict[tuple[str, str], bool],
) -> bool:
    """Whether the subscription's filter policy takes the message; `answers`, those of the policies asked before
    for this message."""
    text = stored.get("FilterPolicy")
    if not text:
        return True
    key = (text, stored.get("FilterPolicyScope", "MessageAttributes"))
    answer = answers.get(key)
    if answer is None:
        answer = answers[key] = _policy(*key).matches(body, attributes)
    return answer
