"""Amazon SNS subscriptions: Subscribe (the endpoint checked for its protocol, attributes at once, the same
subscription twice the same ARN), ConfirmSubscription, Unsubscribe, listing, and their attributes.

A subscription is a document of kind `sns-subscription` beside its topic (the topic's ARN as its scope's
parent), named by the id that ends its ARN. trailbridge delivers to its own SQS queues and to the SMS outbox
in the publish's transaction, and to HTTP/S endpoints, functions and email addresses through the durable
delivery queue (`delivery.subscriptions`). As in AWS, a queue of the subscriber's own account, a phone
number and a function are confirmed at once; a queue of another account, an HTTP/S endpoint and an email
address await ConfirmSubscription with the token SNS sent them (or a GET of the SubscribeURL)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trailbridge.delivery.subscriptions import NOTIFY, confirmation_event
from trailbridge.errors import InvalidInputError
from trailbridge.services.base import Engine, page
from trailbridge.services.sns import attributes as attrs
from trailbridge.services.sns.common import (
    SUBSCRIPTION,
    SnsParts,
    arn_parts,
    invalid,
    invalid_parameter,
    not_built,
    not_found,
    sns_operation,
)
from trailbridge.services.sns.endpoints import check_delivered, check_endpoint
from trailbridge.services.sns.queues import TopicQueues
from trailbridge.storage.ports import NewDelivery, NewEvent
from trailbridge.topics.notifications import confirmation

_CONFIRMED = frozenset({"sms", "lambda", "application"})  # confirmed at once, whoever subscribes
_LISTED = ("SubscriptionArn", "Owner", "Protocol", "Endpoint", "TopicArn")


def _listing(subscriptions: Iterable[dict[str, Any]], token: str | None) -> dict[str, Any]:
    """One page of subscriptions, 100 at most; one awaiting confirmation shows `PendingConfirmation` for its ARN."""
    ordered = sorted(subscriptions, key=lambda s: str(s["SubscriptionArn"]))
    try:
        chosen, following = page(ordered, "SubscriptionArn", token, 100)
    except InvalidInputError:
        raise invalid_parameter("NextToken") from None
    entries = [{k: s[k] for k in _LISTED} | _pending_arn(s) for s in chosen]
    return {"Subscriptions": entries} | ({"NextToken": following} if following else {})


def _pending_arn(subscription: dict[str, Any]) -> dict[str, str]:
    return {"SubscriptionArn": "PendingConfirmation"} if subscription["PendingConfirmation"] else {}


def shown_attributes(doc: dict[str, Any]) -> dict[str, str]:
    """GetSubscriptionAttributes' answer: what SNS shows of every subscription, then what was set."""
    stored: dict[str, str] = doc["Attributes"]
    shown = {
        "ConfirmationWasAuthenticated": "true" if doc.get("Authenticated", True) else "false",
        "Endpoint": doc["Endpoint"],
        "Owner": doc["Owner"],
        "PendingConfirmation": "true" if doc["PendingConfirmation"] else "false",
        "Protocol": doc["Protocol"],
        "RawMessageDelivery": stored.get("RawMessageDelivery", "false"),
        "SubscriptionArn": doc["SubscriptionArn"],
        "SubscriptionPrincipal": f"arn:aws:iam::{doc['Owner']}:root",
        "TopicArn": doc["TopicArn"],
    }
    if stored.get("FilterPolicy"):
        shown["FilterPolicyScope"] = attrs.SCOPES[0]
    return shown | stored


def _check_taken(engine: Engine, protocol: str, fifo: bool) -> None:
    """A protocol trailbridge delivers (`check_delivered`), but over a FIFO topic only to queues, as in AWS;
    email only with an SMTP server to send through."""
    check_delivered(protocol, fifo)
    if fifo and protocol != "sqs":
        raise invalid_parameter(
            "Endpoint Reason: FIFO SNS Topics currently only support FIFO SQS Queues as subscribers"
        )
    if protocol.startswith("email") and not engine.settings.smtp_url:
        raise not_built("deliver email without an SMTP server: set smtp_url (TRAILBRIDGE_SMTP_URL)")


def anonymous_caller(engine: Engine, operation: str, params: Mapping[str, Any]) -> tuple[str, str] | None:
    """(account, region) an unsigned SNS call acts as, where AWS takes one unsigned: ConfirmSubscription (the
    token is the credential: the SubscribeURL an endpoint is sent) and Unsubscribe (the UnsubscribeURL in
    every notification) of a subscription not confirmed with AuthenticateOnUnsubscribe; the topic's account
    and region. None: the call must be signed."""
    if operation == "ConfirmSubscription":
        if str(params.get("AuthenticateOnUnsubscribe", "")).lower() == "true":
            return None  # AWS: "requires an AWS signature only when AuthenticateOnUnsubscribe is true"
        arn = params.get("TopicArn")
    elif operation == "Unsubscribe":
        arn = params.get("SubscriptionArn")
        doc = engine.resources.get(arn) if isinstance(arn, str) else None
        if doc is not None and doc.get("Kind") == SUBSCRIPTION and doc.get("Authenticated"):
            return None
    else:
        return None
    parts = arn.split(":") if isinstance(arn, str) else []
    if len(parts) < 6 or parts[:3] != ["arn", "aws", "sns"] or not parts[4].isdigit():
        return None
    return parts[4], parts[3]


class SubscriptionsService(SnsParts):
    def _subscription(self, arn: str) -> dict[str, Any] | None:
        """The subscription an ARN names (`TOPIC-ARN:ID`), None when there is none."""
        if len(arn_parts(arn, "SubscriptionArn")) != 7:
            raise invalid_parameter("SubscriptionId")
        doc = self.resources.get(arn)
        return doc if doc is not None and doc.get("Kind") == SUBSCRIPTION else None

    def _permitted(self, arn: str, action: str) -> dict[str, Any] | None:
        """A subscription, for its subscriber or its topic's owner (no topic policy grants the others)."""
        doc = self._subscription(arn)
        if doc is not None and not self._concerns(doc):
            self.authorize(action, arn, None)
        return doc

    @sns_operation("Subscribe")
    def subscribe(self, **params: Any) -> dict[str, Any]:
        topic = self.topic(params["TopicArn"], "SNS:Subscribe")
        protocol, endpoint = params["Protocol"], params.get("Endpoint") or ""
        fifo = topic["Attributes"].get("FifoTopic") == "true"
        check_endpoint(protocol, endpoint, fifo)
        try:
            attributes = attrs.subscription_values(params.get("Attributes") or {}, {}, fifo)
        except attrs.Reason as reason:
            raise attrs.placed(reason, "Attributes Reason: ") from None
        _check_taken(self.engine, protocol, fifo)
        for existing in self.subscriptions_of(topic["TopicArn"]):
            if (existing["Protocol"], existing["Endpoint"]) == (protocol, endpoint):
                if existing["Attributes"] != attributes and params.get("Attributes") is not None:
                    raise invalid_parameter("Attributes Reason: Subscription already exists with different attributes")
                return self._answer(existing, params)
        return self._answer(self._create(topic, protocol, endpoint, attributes), params)

    @staticmethod
    def _answer(subscription: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """A subscription awaiting confirmation answers `pending confirmation`, unless its ARN is asked for."""
        pending = subscription["PendingConfirmation"] and not params.get("ReturnSubscriptionArn")
        return {"SubscriptionArn": "pending confirmation" if pending else subscription["SubscriptionArn"]}

    def _create(
        self, topic: dict[str, Any], protocol: str, endpoint: str, attributes: dict[str, str]
    ) -> dict[str, Any]:
        """A new subscription. An HTTP/S endpoint, an email address, and a queue of another account than the
        subscriber's await confirmation, as in AWS: SNS sends them a SubscriptionConfirmation with the token
        that confirms. SMS, lambda and same-account queue subscriptions are confirmed at once, as in AWS."""
        arn = f"{topic['TopicArn']}:{self.engine.new_id()}"
        confirmed = protocol in _CONFIRMED or (protocol == "sqs" and endpoint.split(":")[4] == self.account)
        pending = not confirmed
        doc = {
            "Kind": SUBSCRIPTION,
            "SubscriptionArn": arn,
            "TopicArn": topic["TopicArn"],
            "Protocol": protocol,
            "Endpoint": endpoint,
            "Owner": self.account,
            "PendingConfirmation": pending,
            "Authenticated": not pending,
            "Token": (self.engine.new_id() + self.engine.new_id()).replace("-", ""),
            "Attributes": attributes,
        }
        with self.engine.store.transaction():
            self.save_subscription(doc)
            if pending:
                self._ask_confirmation(topic, doc)
        if pending and protocol != "sqs":
            self.engine.router.wake()
        return doc

    def _ask_confirmation(self, topic: dict[str, Any], subscription: dict[str, Any]) -> None:
        """Send the SubscriptionConfirmation: to a queue at once, to an HTTP/S endpoint or an email address
        through the delivery queue (retried as the subscription's notifications are)."""
        url = self.engine.settings.endpoint_url
        confirm = f"{url}/?Action=ConfirmSubscription&TopicArn={topic['TopicArn']}&Token={subscription['Token']}"
        message_id, now = self.engine.new_id(), self.engine.clock.now()
        message = confirmation(
            message_id=message_id,
            token=subscription["Token"],
            topic_arn=topic["TopicArn"],
            sent=now,
            subscribe_url=confirm,
        )
        if subscription["Protocol"] != "sqs":
            delivery = NewDelivery(subscription["SubscriptionArn"], NOTIFY, subscription["Endpoint"], now)
            self.engine.router.enqueue(NewEvent(message_id, confirmation_event(message), now, "{}", [delivery]))
            return
        queues = TopicQueues(self.engine, topic)
        queue = queues.queue(subscription["Endpoint"])
        if queue is not None:  # else the confirmation is lost, as AWS loses it: the subscription stays pending
            queues.send_signed(queue, message)

    @sns_operation("ConfirmSubscription")
    def confirm_subscription(self, **params: Any) -> dict[str, Any]:
        """Whoever holds the token may confirm (the endpoint's owner, who got it), as in AWS; with
        AuthenticateOnUnsubscribe, ConfirmationWasAuthenticated is true."""
        topic = self.topic_document(params["TopicArn"])
        if topic is None:
            raise invalid_parameter("Token")
        found = next((s for s in self.subscriptions_of(topic["TopicArn"]) if s["Token"] == params["Token"]), None)
        if found is None:
            raise invalid("Invalid token")
        if found["PendingConfirmation"]:
            found["PendingConfirmation"] = False
            found["Authenticated"] = str(params.get("AuthenticateOnUnsubscribe", "")).lower() == "true"
            self.save_subscription(found)
        return {"SubscriptionArn": found["SubscriptionArn"]}

    @sns_operation("Unsubscribe")
    def unsubscribe(self, **params: Any) -> dict[str, Any]:
        """Unsubscribing a subscription that does not exist succeeds, as in AWS."""
        doc = self._permitted(params["SubscriptionArn"], "SNS:Unsubscribe")
        if doc is None:
            return {}
        self.resources.delete(doc["SubscriptionArn"])
        topic = self.resources.get(doc["TopicArn"])
        if topic is not None:
            topic["Deleted"] += 1
            self.save_topic(topic)
        return {}

    @sns_operation("ListSubscriptions")
    def list_subscriptions(self, **params: Any) -> dict[str, Any]:
        """The caller's subscriptions in this region: those it made (to its own topics or another account's)
        and those made to its topics."""
        every = self.resources.all_of_kind(SUBSCRIPTION)
        mine = [s for s in every if s["TopicArn"].split(":")[3] == self.region and self._concerns(s)]
        return _listing(mine, params.get("NextToken"))

    def _concerns(self, subscription: dict[str, Any]) -> bool:
        return self.account in (subscription["Owner"], subscription["TopicArn"].split(":")[4])

    @sns_operation("ListSubscriptionsByTopic")
    def list_subscriptions_by_topic(self, **params: Any) -> dict[str, Any]:
        topic = self.topic(params["TopicArn"], "SNS:ListSubscriptionsByTopic")
        return _listing(self.subscriptions_of(topic["TopicArn"]), params.get("NextToken"))

    @sns_operation("GetSubscriptionAttributes")
    def get_subscription_attributes(self, **params: Any) -> dict[str, Any]:
        doc = self._permitted(params["SubscriptionArn"], "SNS:GetSubscriptionAttributes")
        if doc is None:
            raise not_found("Subscription")
        return {"Attributes": shown_attributes(doc)}

    @sns_operation("SetSubscriptionAttributes")
    def set_subscription_attributes(self, **params: Any) -> dict[str, Any]:
        doc = self._permitted(params["SubscriptionArn"], "SNS:SetSubscriptionAttributes")
        if doc is None:
            raise not_found("Subscription")
        topic = self.resources.get(doc["TopicArn"]) or {"Attributes": {}}
        given = {params["AttributeName"]: params.get("AttributeValue") or ""}
        try:
            doc["Attributes"] = attrs.subscription_values(
                given, doc["Attributes"], topic["Attributes"].get("FifoTopic") == "true"
            )
        except attrs.Reason as reason:
            raise attrs.placed(reason, "") from None
        self.save_subscription(doc)
        return {}
