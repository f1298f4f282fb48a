"""SNS deliveries made after the publish's transaction: to HTTP/S endpoints, to functions (a `lambda`
subscription invokes the function the engine invokes for that ARN) and to email addresses.

Publish writes one event to the durable delivery queue per message (what the topic sends, before it is
signed; `Sns*` below) with one delivery per such subscription whose filter policy matched: `rule_arn` is the
subscription's ARN, `target_id` is NOTIFY, `target_arn` the endpoint (so the dispatcher's per-target cap
keeps one slow endpoint from taking every slot). A subscription's confirmation request travels the same way.
The dispatcher claims them like any delivery and hands them here. The subscription is read as it is now:
one deleted meanwhile gets nothing. The message is signed (the notification, or the confirmation) and sent:

- HTTP/S: a POST with SNS's headers (`x-amz-sns-message-type`, `-message-id`, `-topic-arn`,
  `-subscription-arn`, `-rawdelivery` with raw delivery), the content type of the delivery policy; a 2xx
  answer delivers, 429 and 5xx, a timeout or a connection that fails are retried, any other answer is the
  endpoint refusing (not retried); the policy's throttle (`maxReceivesPerSecond`) is waited for.
- lambda: the function gets SNS's event (`Records[0].Sns`); one that raises is retried as Lambda retries an
  asynchronous invocation (twice, a minute then two apart), one that does not exist is not retried.
- email / email-json: the message text with the link that unsubscribes, or the JSON notification, through
  the SMTP server of the settings.

A failed delivery is tried again as its policy says (`topics.delivery_policy`; delays times
`sns_retry_scale`); when the policy gives up, or the failure is not retried, the message goes to the
subscription's dead-letter queue (RedrivePolicy) when that queue exists and lets SNS send for the topic,
as the endpoint would have had it (the JSON notification, or the raw message with its attributes), else it is
dropped and counted (`NumberOfNotificationsFailed`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from email.utils import formataddr, parseaddr
from typing import Any

import orjson

from trailbridge.clock import Clock
from trailbridge.delivery.email import Mailer
from trailbridge.delivery.functions import Functions
from trailbridge.delivery.http import HttpInvoker
from trailbridge.delivery.lambdas import Enqueuer, Lambdas, async_invocation
from trailbridge.delivery.queues import QueueMessages
from trailbridge.delivery.retry import DeliveryFailure
from trailbridge.domain.access import Access, allowed
from trailbridge.errors import AccessDeniedError
from trailbridge.metrics import Metrics
from trailbridge.settings import Settings
from trailbridge.storage.ports import Resources
from trailbridge.topics.delivery_policy import RetryPolicy, http_policy, managed_policy
from trailbridge.topics.notifications import (
    CONFIRMATION_SUBJECT,
    NOTIFICATION_SUBJECT,
    email_confirmation,
    email_notification,
    for_lambda,
    message_for,
    unsigned,
    unsubscribe_url,
    written,
)
from trailbridge.topics.signing import NotificationSigner

log = logging.getLogger("trailbridge.sns")

SNS_PRINCIPAL = "sns.amazonaws.com"
NOTIFY = "sns"  # the target id of an SNS delivery in the delivery queue
PROTOCOLS = frozenset({"http", "https", "lambda", "email", "email-json"})  # the protocols delivered here
USER_AGENT = "Amazon Simple Notification Service Agent"
# a function that raises: retried as Lambda retries an asynchronous invocation (twice, 1 then 2 minutes on)
FUNCTION_RETRIES = RetryPolicy(min_delay=60, max_delay=120, retries=2, min_delay_retries=1, max_delay_retries=1)
_RETRIED_STATUSES = frozenset({429})


def notification_event(
    *,
    message_id: str,
    topic_arn: str,
    subject: str | None,
    messages: Mapping[str, str],
    sent: float,
    attributes: Mapping[str, Mapping[str, Any]],
    stored_attributes: Mapping[str, Mapping[str, Any]],
) -> bytes:
    """The body of the queued event of one published message: the message for each protocol (`default`
    for those without their own), its attributes as a notification shows them and as SQS stores them (for a
    raw delivery to a dead-letter queue)."""
    doc = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic_arn,
        "Subject": subject,
        "Messages": dict(messages),
        "Sent": sent,
        "Attributes": dict(attributes),
        "StoredAttributes": dict(stored_attributes),
    }
    return orjson.dumps(doc)


def confirmation_event(confirmation: Mapping[str, Any]) -> bytes:
    """The body of the queued event of a SubscriptionConfirmation (`notifications.confirmation`, unsigned)."""
    return orjson.dumps({"Type": "SubscriptionConfirmation", "Confirmation": dict(confirmation)})


class Notifier:
    def __init__(
        self,
        resources: Resources,
        functions: Functions,
        queues: QueueMessages,
        signer: NotificationSigner | None,
        http: HttpInvoker,
        settings: Settings,
        metrics: Metrics,
        lambdas: Lambdas,
        routing: Enqueuer,
        clock: Clock,
    ) -> None:
        self.lambdas, self.routing, self.clock = lambdas, routing, clock
        self.resources, self.functions, self.queues, self.signer = resources, functions, queues, signer
        self.http, self.settings, self.metrics = http, settings, metrics
        self.mailer = (
            Mailer(settings.smtp_url, settings.sns_email_sender, settings.http_timeout_seconds)
            if settings.smtp_url
            else None
        )

    def subscription(self, arn: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(the subscription, its topic) as they are now; None when either is gone."""
        subscription = self.resources.get(arn)
        if subscription is None or subscription.get("SubscriptionArn") != arn:
            return None
        topic = self.resources.get(subscription["TopicArn"])
        return (subscription, topic) if topic is not None else None

    # -- one delivery -------------------------------------------------------------------------

    async def deliver(self, subscription: Mapping[str, Any], topic: Mapping[str, Any], doc: Mapping[str, Any]) -> None:
        """Send one message to one subscription; raises DeliveryFailure. A confirmation request for a
        subscription confirmed meanwhile is not sent again."""
        if doc["Type"] == "SubscriptionConfirmation" and not subscription["PendingConfirmation"]:
            return
        protocol = subscription["Protocol"]
        if protocol in ("http", "https"):
            await self._post(subscription, topic, doc)
        elif protocol == "lambda":
            await self._invoke(subscription, topic, doc)
        elif protocol in ("email", "email-json"):
            await self._mail(subscription, topic, doc)
        else:
            raise DeliveryFailure("INVALID_TARGET", f"SNS does not deliver {protocol} here", retryable=False)
        self.metrics.add("NumberOfNotificationsDelivered", topic["TopicArn"], subscription["SubscriptionArn"])

    def _signed(
        self, subscription: Mapping[str, Any], topic: Mapping[str, Any], doc: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The message as SNS sends it to this subscription, signed with the topic's SignatureVersion."""
        if self.signer is None:
            raise DeliveryFailure("NO_SIGNER", "this trailbridge engine has no SNS signer", retryable=False)
        version = topic["Attributes"].get("SignatureVersion", "1")
        region = topic["TopicArn"].split(":")[3]
        return self.signer.sign(self._unsigned(subscription, doc), region, version)

    def _unsigned(self, subscription: Mapping[str, Any], doc: Mapping[str, Any]) -> dict[str, Any]:
        if doc["Type"] != "Notification":
            return dict(doc["Confirmation"])
        notification = unsigned(
            message_id=doc["MessageId"],
            topic_arn=doc["TopicArn"],
            subject=doc["Subject"],
            message=message_for(doc["Messages"], subscription["Protocol"]),
            sent=doc["Sent"],
            unsubscribe_url=unsubscribe_url(self.settings.endpoint_url, subscription["SubscriptionArn"]),
            attributes={},
        )
        if doc["Attributes"]:
            notification["MessageAttributes"] = doc["Attributes"]
        return notification

    @staticmethod
    def _raw(subscription: Mapping[str, Any], doc: Mapping[str, Any]) -> bool:
        return bool(doc["Type"] == "Notification" and subscription["Attributes"].get("RawMessageDelivery") == "true")

    async def _post(self, subscription: Mapping[str, Any], topic: Mapping[str, Any], doc: Mapping[str, Any]) -> None:
        policy = http_policy(
            topic["Attributes"].get("DeliveryPolicy"), subscription["Attributes"].get("DeliveryPolicy")
        )
        if policy.max_per_second:
            await self.http.wait_turn(subscription["SubscriptionArn"], policy.max_per_second)
        headers = {
            "x-amz-sns-message-type": doc["Type"],
            "x-amz-sns-topic-arn": topic["TopicArn"],
            "Content-Type": policy.content_type,
            "User-Agent": USER_AGENT,
        }
        if doc["Type"] == "Notification":
            headers["x-amz-sns-subscription-arn"] = subscription["SubscriptionArn"]
        if self._raw(subscription, doc):
            headers |= {"x-amz-sns-message-id": doc["MessageId"], "x-amz-sns-rawdelivery": "true"}
            body = message_for(doc["Messages"], subscription["Protocol"])
        else:
            message = self._signed(subscription, topic, doc)
            headers["x-amz-sns-message-id"] = message["MessageId"]
            body = written(message)
        status = await self.http.post(subscription["Endpoint"], headers, body.encode())
        if status < 300:
            return
        retried = status in _RETRIED_STATUSES or status >= 500
        raise DeliveryFailure(f"HTTP_{status}", f"{subscription['Endpoint']} answered {status}", retryable=retried)

    async def _invoke(self, subscription: Mapping[str, Any], topic: Mapping[str, Any], doc: Mapping[str, Any]) -> None:
        arn = subscription["Endpoint"]
        if doc["Type"] != "Notification":  # a function's subscription needs no confirmation
            return
        event = for_lambda(self._signed(subscription, topic, doc), subscription["SubscriptionArn"])
        if self.lambdas.deployed(arn):  # invoked as SNS invokes Lambda: asynchronously, where its policy lets SNS
            try:
                self.lambdas.check_invoke(arn, SNS_PRINCIPAL, topic["TopicArn"], topic["TopicArn"].split(":")[4])
            except AccessDeniedError as exc:
                raise DeliveryFailure("NO_PERMISSIONS", exc.message, retryable=False) from None
            self.routing.enqueue(async_invocation(arn, orjson.dumps(event), self.routing.new_id(), self.clock.now()))
            self.routing.wake()
            return
        if not self.functions.exists(arn):
            raise DeliveryFailure("RESOURCE_NOT_FOUND", f"no function registered for {arn}", retryable=False)
        try:
            await self.functions.invoke(arn, event, doc["MessageId"])
        except Exception as exc:  # a failing handler is a failed invocation, whatever it raised
            raise DeliveryFailure("FUNCTION_ERROR", f"{type(exc).__name__}: {exc}") from None

    async def _mail(self, subscription: Mapping[str, Any], topic: Mapping[str, Any], doc: Mapping[str, Any]) -> None:
        if self.mailer is None:
            raise DeliveryFailure("NO_SMTP_SERVER", "no SMTP server is configured (smtp_url)", retryable=False)
        message = self._signed(subscription, topic, doc)
        if subscription["Protocol"] == "email-json":
            subject = NOTIFICATION_SUBJECT if doc["Type"] == "Notification" else CONFIRMATION_SUBJECT
            text = written(message)
        elif doc["Type"] == "Notification":
            subject, text = email_notification(message["Message"], message.get("Subject"), message["UnsubscribeURL"])
        else:
            subject, text = email_confirmation(topic["TopicArn"], message["SubscribeURL"])
        await self.mailer.send(subscription["Endpoint"], subject, text, self._sender(topic))

    def _sender(self, topic: Mapping[str, Any]) -> str:
        """The From of SNS's email: the topic's DisplayName, when it has one, as the sender's name."""
        name, address = parseaddr(self.settings.sns_email_sender)
        shown = topic["Attributes"].get("DisplayName") or name
        return formataddr((shown, address)) if shown else address

    # -- after a failure ----------------------------------------------------------------------

    def next_delay(
        self, subscription: Mapping[str, Any], topic: Mapping[str, Any], failure: DeliveryFailure, retry: int
    ) -> float | None:
        """Seconds until retry number `retry`; None when no retry is left (or the failure is not retried)."""
        if not failure.retryable:
            return None
        protocol = subscription["Protocol"]
        if protocol in ("http", "https"):
            attributes = subscription["Attributes"]
            policy = http_policy(topic["Attributes"].get("DeliveryPolicy"), attributes.get("DeliveryPolicy")).retry
        elif protocol == "lambda" and failure.code == "FUNCTION_ERROR":
            policy = FUNCTION_RETRIES
        else:
            policy = managed_policy(protocol)
        delay = policy.delay(retry)
        return None if delay is None else delay * self.settings.sns_retry_scale

    def dead_letter(
        self,
        subscription: Mapping[str, Any],
        topic: Mapping[str, Any],
        doc: Mapping[str, Any],
        failure: DeliveryFailure,
    ) -> None:
        """Move a message the subscription could not take to its dead-letter queue, or drop it and count."""
        topic_arn, arn = topic["TopicArn"], subscription["SubscriptionArn"]
        self.metrics.add("NumberOfNotificationsFailed", topic_arn, arn)
        if doc["Type"] != "Notification":
            log.warning("subscription confirmation for %s not delivered: %s", arn, failure)
            return
        queue = self._dead_letter_queue(subscription, topic_arn)
        if queue is None:
            log.warning("message %s to %s dropped: %s", doc["MessageId"], arn, failure)
            return
        if self._raw(subscription, doc):
            body, attributes = message_for(doc["Messages"], subscription["Protocol"]), doc["StoredAttributes"]
        else:
            body, attributes = written(self._signed(subscription, topic, doc)), {}
        delay = int(queue["Attributes"].get("DelaySeconds", 0))
        self.queues.send(queue["Arn"], body, attributes, delay)
        self.metrics.add("NumberOfNotificationsRedrivenToDlq", topic_arn, arn)
        log.warning("message %s to %s moved to %s: %s", doc["MessageId"], arn, queue["Arn"], failure)

    def _dead_letter_queue(self, subscription: Mapping[str, Any], topic_arn: str) -> dict[str, Any] | None:
        policy = subscription["Attributes"].get("RedrivePolicy")
        target = orjson.loads(policy).get("deadLetterTargetArn") if policy else None
        if not isinstance(target, str):
            return None
        queue = queue_for_topic(self.resources, target, topic_arn)
        if queue is None:
            self.metrics.add("NumberOfNotificationsFailedToRedriveToDlq", topic_arn, subscription["SubscriptionArn"])
        return queue


def queue_for_topic(resources: Resources, queue_arn: str, topic_arn: str) -> dict[str, Any] | None:
    """The queue, when it exists and SNS may send to it for the topic: its policy allows `sns.amazonaws.com`
    `sqs:SendMessage` with `aws:SourceArn` the topic, or it is the topic owner's."""
    queue = resources.get(queue_arn)
    if queue is None or queue.get("Arn") != queue_arn:
        return None
    access = Access(
        topic_arn.split(":")[4],
        "sqs:SendMessage",
        queue_arn,
        service="sns.amazonaws.com",
        context={"aws:SourceArn": topic_arn},
    )
    return queue if allowed(access, queue["Attributes"].get("Policy")) else None
