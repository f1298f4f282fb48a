"""trailbridge's SNS through its service classes: topics, their attributes, permissions and tags as AWS
answers them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.support.sns import REGION, Sns, refused, signed_engine
from trailbridge.services.base import Engine


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    yield from signed_engine()


@pytest.fixture
def sns(engine: Engine) -> Sns:
    return Sns(engine)


def test_create_topic_is_idempotent_and_keeps_attributes_and_tags(sns: Sns) -> None:
    arn = sns.topic(Attributes={"DisplayName": "Orders"}, Tags=[{"Key": "team", "Value": "a"}])
    assert arn == f"arn:aws:sns:{REGION}:{sns.account}:orders"
    assert sns.topic() == arn  # no attributes: the same topic
    assert sns.topic(Attributes={"DisplayName": "Orders"}) == arn
    attributes = sns.topics.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["DisplayName"] == "Orders" and attributes["Owner"] == sns.account
    assert sns.tags.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    fifo = sns.topic("jobs.fifo", Attributes={"FifoTopic": "true"})
    fifo_attributes = sns.topics.get_topic_attributes(TopicArn=fifo)["Attributes"]
    assert (fifo_attributes["FifoTopic"], fifo_attributes["ContentBasedDeduplication"]) == ("true", "false")
    assert refused(sns.topics.create_topic, Name="x" * 257)[1] == "Invalid parameter: Topic Name"


def test_default_policy_names_the_owner(sns: Sns) -> None:
    arn = sns.topic()
    policy = json.loads(sns.topics.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
    (statement,) = policy["Statement"]
    assert policy["Id"] == "__default_policy_ID" and statement["Resource"] == arn
    assert statement["Condition"] == {"StringEquals": {"AWS:SourceOwner": sns.account}}
    assert "SNS:Publish" in statement["Action"]


def test_set_topic_attributes_validates(sns: Sns) -> None:
    arn = sns.topic()
    sns.topics.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="2")
    assert sns.topics.get_topic_attributes(TopicArn=arn)["Attributes"]["SignatureVersion"] == "2"
    code, message, _ = refused(
        sns.topics.set_topic_attributes, TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="3"
    )
    assert (code, message) == (
        "InvalidParameter",
        "Invalid parameter: SignatureVersion: Invalid value [3]. Must be 1 or 2.",
    )
    assert refused(sns.topics.set_topic_attributes, TopicArn=arn, AttributeName="Owner", AttributeValue="x")[1] == (
        "Invalid parameter: AttributeName"
    )
    delivery = {"http": {"defaultHealthyRetryPolicy": {"numRetries": 5}}}
    sns.topics.set_topic_attributes(TopicArn=arn, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(delivery))
    effective = json.loads(sns.topics.get_topic_attributes(TopicArn=arn)["Attributes"]["EffectiveDeliveryPolicy"])
    retry = effective["http"]["defaultHealthyRetryPolicy"]
    assert (retry["numRetries"], retry["minDelayTarget"], effective["http"]["disableSubscriptionOverrides"]) == (
        5,
        20,
        False,
    )
    bad = refused(
        sns.topics.set_topic_attributes, TopicArn=arn, AttributeName="ContentBasedDeduplication", AttributeValue="true"
    )
    assert "only be set for FIFO topics" in bad[1]


def test_list_topics_pages_by_100(sns: Sns) -> None:
    made = sorted(sns.topic(f"t{i:03d}") for i in range(101))
    first = sns.topics.list_topics()
    second = sns.topics.list_topics(NextToken=first["NextToken"])
    assert [t["TopicArn"] for t in first["Topics"] + second["Topics"]] == made
    assert len(first["Topics"]) == 100 and "NextToken" not in second


def test_delete_topic_deletes_its_subscriptions(sns: Sns) -> None:
    topic, (_, queue) = sns.topic(), sns.queue()
    subscription = sns.subscribe(topic, queue)
    sns.topics.delete_topic(TopicArn=topic)
    sns.topics.delete_topic(TopicArn=topic)  # again: AWS answers a deleted topic's deletion with success
    assert refused(sns.subscriptions.get_subscription_attributes, SubscriptionArn=subscription)[0] == "NotFound"
    assert sns.topics.list_topics()["Topics"] == []


def test_permissions_are_statements_of_the_policy_and_let_another_account_publish(engine: Engine) -> None:
    owner, other = Sns(engine), Sns(engine)
    topic = owner.topic()
    code, message, status = refused(other.publisher.publish, TopicArn=topic, Message="hi")
    assert (code, status) == ("AuthorizationError", 403) and "SNS:Publish" in message
    owner.topics.add_permission(TopicArn=topic, Label="p1", AWSAccountId=[other.account], ActionName=["Publish"])
    statement = json.loads(owner.topics.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])["Statement"][1]
    assert statement == {
        "Sid": "p1",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{other.account}:root"},
        "Action": "SNS:Publish",
        "Resource": topic,
    }
    assert "MessageId" in other.publisher.publish(TopicArn=topic, Message="hi")
    assert refused(other.topics.delete_topic, TopicArn=topic)[0] == "AuthorizationError"
    again = refused(
        owner.topics.add_permission, TopicArn=topic, Label="p1", AWSAccountId=[other.account], ActionName=["Publish"]
    )
    assert again[1] == "Invalid parameter: Statement already exists"
    owner.topics.remove_permission(TopicArn=topic, Label="p1")
    assert refused(other.publisher.publish, TopicArn=topic, Message="hi")[0] == "AuthorizationError"


def test_tags(sns: Sns) -> None:
    topic = sns.topic()
    sns.tags.tag_resource(ResourceArn=topic, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    sns.tags.untag_resource(ResourceArn=topic, TagKeys=["a"])
    assert sns.tags.list_tags_for_resource(ResourceArn=topic)["Tags"] == [{"Key": "b", "Value": "2"}]
    missing = refused(sns.tags.list_tags_for_resource, ResourceArn=topic + "-gone")
    assert missing == ("ResourceNotFound", "Resource does not exist", 404)
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(50)]
    assert refused(sns.tags.tag_resource, ResourceArn=topic, Tags=too_many)[0] == "TagLimitExceeded"
