"""Amazon SNS topics: creation (idempotent for the same name, attributes and tags), deletion with their
subscriptions, listing, attributes, the permissions of the topic's policy, and tags.

A topic is a document of kind `sns-topic` on the `Resources` port, named by its name in its account and
region: `Attributes` holds what the caller set, `Policy` the access policy (AWS's default, naming the
owner, until one is set), `Tags` the tags in the order they were given, `Deleted` how many subscriptions
it lost (SubscriptionsDeleted)."""

from __future__ import annotations

import re
from typing import Any

import orjson

from trailbridge.errors import InvalidInputError
from trailbridge.services.base import page
from trailbridge.services.sns import attributes as attrs
from trailbridge.services.sns.common import (
    TOPIC,
    SnsParts,
    invalid_parameter,
    sns_operation,
    topic_arn,
    topic_scope,
)

_NAME = re.compile(r"[A-Za-z0-9_-]{1,256}")
_FIFO_NAME = re.compile(r"[A-Za-z0-9_-]{1,251}\.fifo")
_POLICY_ACTIONS = (
    "GetTopicAttributes",
    "SetTopicAttributes",
    "AddPermission",
    "RemovePermission",
    "DeleteTopic",
    "Subscribe",
    "ListSubscriptionsByTopic",
    "Publish",
)


def default_policy(arn: str, owner: str) -> str:
    """The policy AWS writes on a new topic: every SNS action for the owner's account."""
    statement = {
        "Sid": "__default_statement_ID",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": [f"SNS:{action}" for action in _POLICY_ACTIONS],
        "Resource": arn,
        "Condition": {"StringEquals": {"AWS:SourceOwner": owner}},
    }
    return _text({"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": [statement]})


def _text(document: Any) -> str:
    return orjson.dumps(document).decode()


def _tags(given: list[dict[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in given or []}


class TopicsService(SnsParts):
    @sns_operation("CreateTopic")
    def create_topic(self, **params: Any) -> dict[str, Any]:
        name, given = params["Name"], dict(params.get("Attributes") or {})
        fifo = given.get("FifoTopic", "false").lower() == "true"
        if not (_FIFO_NAME if fifo else _NAME).fullmatch(name):
            raise invalid_parameter("Topic Name")
        if params.get("DataProtectionPolicy"):
            given["DataProtectionPolicy"] = params["DataProtectionPolicy"]
        checked, tags = attrs.creation_attributes(given), _tags(params.get("Tags"))
        arn = topic_arn(self.account, self.region, name)
        existing = self.resources.by_name(topic_scope(self.account, self.region), name)
        if existing is not None:
            return self._again(existing, checked, tags)
        policy = checked.pop("Policy", None) or default_policy(arn, self.account)
        doc = {"Kind": TOPIC, "TopicArn": arn, "Attributes": checked, "Policy": policy, "Tags": tags, "Deleted": 0}
        self.save_topic(doc)
        return {"TopicArn": arn}

    def _again(self, existing: dict[str, Any], checked: dict[str, str], tags: dict[str, str]) -> dict[str, Any]:
        """CreateTopic of a name that exists: the same topic, unless attributes or tags differ from its own."""
        current = {**existing["Attributes"], "Policy": existing["Policy"]}
        if any(current.get(name) != value for name, value in checked.items()):
            raise invalid_parameter("Attributes Reason: Topic already exists with different attributes")
        if any(existing["Tags"].get(key) != value for key, value in tags.items()):
            raise invalid_parameter("Tags Reason: Topic already exists with different tags")
        return {"TopicArn": existing["TopicArn"]}

    @sns_operation("DeleteTopic")
    def delete_topic(self, **params: Any) -> dict[str, Any]:
        """Deleting a topic that does not exist succeeds, as in AWS."""
        doc = self.find_topic(params["TopicArn"], "SNS:DeleteTopic")
        if doc is not None:
            for subscription in self.subscriptions_of(doc["TopicArn"]):
                self.resources.delete(subscription["SubscriptionArn"])
            self.resources.delete(doc["TopicArn"])
        return {}

    @sns_operation("ListTopics")
    def list_topics(self, **params: Any) -> dict[str, Any]:
        topics = ({"TopicArn": doc["TopicArn"]} for doc in self.resources.scan(topic_scope(self.account, self.region)))
        try:
            chosen, token = page(sorted(topics, key=lambda t: t["TopicArn"]), "TopicArn", params.get("NextToken"), 100)
        except InvalidInputError:
            raise invalid_parameter("NextToken") from None
        return {"Topics": chosen} | ({"NextToken": token} if token else {})

    @sns_operation("GetTopicAttributes")
    def get_topic_attributes(self, **params: Any) -> dict[str, Any]:
        doc = self.topic(params["TopicArn"], "SNS:GetTopicAttributes")
        subscriptions = self.subscriptions_of(doc["TopicArn"])
        pending = sum(1 for s in subscriptions if s["PendingConfirmation"])
        shown = {
            "Policy": doc["Policy"],
            "Owner": doc["TopicArn"].split(":")[4],
            "SubscriptionsPending": str(pending),
            "TopicArn": doc["TopicArn"],
            "EffectiveDeliveryPolicy": attrs.effective_delivery_policy(doc["Attributes"].get("DeliveryPolicy")),
            "SubscriptionsConfirmed": str(len(subscriptions) - pending),
            "DisplayName": doc["Attributes"].get("DisplayName", ""),
            "SubscriptionsDeleted": str(doc["Deleted"]),
        }
        if doc["Attributes"].get("FifoTopic") == "true":
            shown["ContentBasedDeduplication"] = "false"
        return {"Attributes": shown | doc["Attributes"]}

    @sns_operation("SetTopicAttributes")
    def set_topic_attributes(self, **params: Any) -> dict[str, Any]:
        doc = self.topic(params["TopicArn"], "SNS:SetTopicAttributes")
        name, value = params["AttributeName"], params.get("AttributeValue") or ""
        if name not in attrs.SETTABLE_TOPIC:
            raise invalid_parameter("AttributeName")
        try:
            checked = attrs.topic_value(name, value, doc["Attributes"].get("FifoTopic") == "true") if value else ""
        except attrs.Reason as reason:
            raise attrs.placed(reason, "") from None
        if name == "Policy":
            doc["Policy"] = checked or default_policy(doc["TopicArn"], doc["TopicArn"].split(":")[4])
        elif checked:
            doc["Attributes"][name] = checked
        else:
            doc["Attributes"].pop(name, None)
        self.save_topic(doc)
        return {}

    @sns_operation("AddPermission")
    def add_permission(self, **params: Any) -> dict[str, Any]:
        doc = self.topic(params["TopicArn"], "SNS:AddPermission")
        actions, label = params["ActionName"], params["Label"]
        if any(action not in (*_POLICY_ACTIONS, "Receive") for action in actions):
            raise invalid_parameter("Policy statement action out of service scope!")
        policy = orjson.loads(doc["Policy"])
        if any(statement.get("Sid") == label for statement in policy["Statement"]):
            raise invalid_parameter("Statement already exists")
        principals = [f"arn:aws:iam::{account}:root" for account in params["AWSAccountId"]]
        named = [f"SNS:{action}" for action in actions]
        statement = {
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
            "Action": named[0] if len(named) == 1 else named,
            "Resource": doc["TopicArn"],
        }
        policy["Statement"].append(statement)
        doc["Policy"] = _text(policy)
        self.save_topic(doc)
        return {}

    @sns_operation("RemovePermission")
    def remove_permission(self, **params: Any) -> dict[str, Any]:
        doc = self.topic(params["TopicArn"], "SNS:RemovePermission")
        policy = orjson.loads(doc["Policy"])
        policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != params["Label"]]
        doc["Policy"] = _text(policy)
        self.save_topic(doc)
        return {}
