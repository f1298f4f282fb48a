"""Amazon SNS subscriptions: Subscribe (the endpoint checked for its protocol, attributes at once, the same
subscription twice the same ARN), ConfirmSubscription, Unsubscribe, listing, and their attributes.

A subscription is a document of kind `sns-subscription` beside its topic (the topic's ARN as its scope's
parent), named by the id that ends its ARN. trailbridge delivers to its own SQS queues only; those
subscriptions are confirmed at once, as AWS confirms a queue of the topic's account."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from trailbridge.errors import InvalidInputError
from trailbridge.services.base import page
from trailbridge.services.sns import attributes as attrs
from trailbridge.services.sns.common import (
    SUBSCRIPTION,
    SnsParts,
    arn_parts,
    invalid,
    invalid_parameter,
    not_found,
    sns_operation,
    topic_scope,
)
from trailbridge.services.sns.endpoints import check_delivered, check_endpoint

_LISTED = ("SubscriptionArn", "Owner", "Protocol", "Endpoint", "TopicArn")


def _listing(subscriptions: Iterable[dict[str, Any]], token: str | None) -> dict[str, Any]:
    entries = sorted(({k: s[k] for k in _LISTED} for s in subscriptions), key=lambda s: s["SubscriptionArn"])
    try:
        chosen, following = page(entries, "SubscriptionArn", token, 100)
    except InvalidInputError:
        raise invalid_parameter("NextToken") from None
    return {"Subscriptions": chosen} | ({"NextToken": following} if following else {})


def shown_attributes(doc: dict[str, Any]) -> dict[str, str]:
    """GetSubscriptionAttributes' answer: what SNS shows of every subscription, then what was set."""
    stored: dict[str, str] = doc["Attributes"]
    shown = {
        "ConfirmationWasAuthenticated": "true",
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


class SubscriptionsService(SnsParts):
    def _subscription(self, arn: str) -> dict[str, Any] | None:
        """The subscription an ARN names (`TOPIC-ARN:ID`), None when there is none."""
        if len(arn_parts(arn, "SubscriptionArn")) != 7:
            raise invalid_parameter("SubscriptionId")
        doc = self.resources.get(arn)
        return doc if doc is not None and doc.get("Kind") == SUBSCRIPTION else None

    def _changeable(self, arn: str, action: str) -> dict[str, Any] | None:
        """A subscription its subscriber or its topic's owner may change."""
        doc = self._subscription(arn)
        if doc is not None and self.account not in (doc["Owner"], doc["TopicArn"].split(":")[4]):
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
        check_delivered(protocol, fifo)
        for existing in self.subscriptions_of(topic["TopicArn"]):
            if (existing["Protocol"], existing["Endpoint"]) == (protocol, endpoint):
                if existing["Attributes"] != attributes and params.get("Attributes") is not None:
                    raise invalid_parameter("Attributes Reason: Subscription already exists with different attributes")
                return {"SubscriptionArn": existing["SubscriptionArn"]}
        return {"SubscriptionArn": self._create(topic["TopicArn"], protocol, endpoint, attributes)}

    def _create(self, topic: str, protocol: str, endpoint: str, attributes: dict[str, str]) -> str:
        arn = f"{topic}:{self.engine.new_id()}"
        doc = {
            "Kind": SUBSCRIPTION,
            "SubscriptionArn": arn,
            "TopicArn": topic,
            "Protocol": protocol,
            "Endpoint": endpoint,
            "Owner": self.account,
            "PendingConfirmation": False,
            "Token": (self.engine.new_id() + self.engine.new_id()).replace("-", ""),
            "Attributes": attributes,
        }
        self.save_subscription(doc)
        return arn

    @sns_operation("ConfirmSubscription")
    def confirm_subscription(self, **params: Any) -> dict[str, Any]:
        topic = self.find_topic(params["TopicArn"], "SNS:Subscribe")
        if topic is None:
            raise invalid_parameter("Token")
        found = next((s for s in self.subscriptions_of(topic["TopicArn"]) if s["Token"] == params["Token"]), None)
        if found is None:
            raise invalid("Invalid token")
        return {"SubscriptionArn": found["SubscriptionArn"]}

    @sns_operation("Unsubscribe")
    def unsubscribe(self, **params: Any) -> dict[str, Any]:
        """Unsubscribing a subscription that does not exist succeeds, as in AWS."""
        doc = self._changeable(params["SubscriptionArn"], "SNS:Unsubscribe")
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
        """The subscriptions of the caller's topics in this region."""
        topics = self.resources.scan(topic_scope(self.account, self.region))
        every = [s for topic in topics for s in self.subscriptions_of(topic["TopicArn"])]
        return _listing(every, params.get("NextToken"))

    @sns_operation("ListSubscriptionsByTopic")
    def list_subscriptions_by_topic(self, **params: Any) -> dict[str, Any]:
        topic = self.topic(params["TopicArn"], "SNS:ListSubscriptionsByTopic")
        return _listing(self.subscriptions_of(topic["TopicArn"]), params.get("NextToken"))

    @sns_operation("GetSubscriptionAttributes")
    def get_subscription_attributes(self, **params: Any) -> dict[str, Any]:
        doc = self._subscription(params["SubscriptionArn"])
        if doc is None:
            raise not_found("Subscription")
        return {"Attributes": shown_attributes(doc)}

    @sns_operation("SetSubscriptionAttributes")
    def set_subscription_attributes(self, **params: Any) -> dict[str, Any]:
        doc = self._changeable(params["SubscriptionArn"], "SNS:SetSubscriptionAttributes")
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
