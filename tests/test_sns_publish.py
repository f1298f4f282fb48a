"""trailbridge's SNS subscriptions and deliveries through its service classes: Subscribe per protocol,
subscription attributes, filter policies on both scopes, raw and JSON delivery (signed: the signature
verifies with the certificate SigningCertURL names), another account's queue, PublishBatch, and state that
outlives the process."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.support.sns import REGION, Sns, refused, signed, signed_engine
from trailbridge.delivery.queues import QueueMessages
from trailbridge.runtime import Trailbridge
from trailbridge.services.base import Engine
from trailbridge.topics.signing import string_to_sign


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    yield from signed_engine()


@pytest.fixture
def sns(engine: Engine) -> Sns:
    return Sns(engine)


def test_subscribe_twice_is_one_subscription(sns: Sns) -> None:
    topic, (_, queue) = sns.topic(), sns.queue()
    first = sns.subscribe(topic, queue)
    assert sns.subscribe(topic, queue) == first
    assert first.startswith(topic + ":")
    clash = refused(lambda: sns.subscribe(topic, queue, RawMessageDelivery="true"))
    assert clash[1] == "Invalid parameter: Attributes Reason: Subscription already exists with different attributes"
    listed = sns.subscriptions.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert listed == [
        {"SubscriptionArn": first, "Owner": sns.account, "Protocol": "sqs", "Endpoint": queue, "TopicArn": topic}
    ]
    assert sns.subscriptions.list_subscriptions()["Subscriptions"] == listed
    assert sns.topics.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsConfirmed"] == "1"


def test_protocols_not_delivered_yet_are_refused_after_their_endpoint_is_checked(sns: Sns) -> None:
    topic = sns.topic()
    for protocol, endpoint in [
        ("firehose", f"arn:aws:firehose:{REGION}:{sns.account}:deliverystream/s"),
    ]:
        code, message, status = refused(
            sns.subscriptions.subscribe, TopicArn=topic, Protocol=protocol, Endpoint=endpoint
        )
        assert (code, status) == ("NotImplemented", 501) and protocol in message
    bad = refused(sns.subscriptions.subscribe, TopicArn=topic, Protocol="https", Endpoint="http://example.com")
    assert bad[:2] == ("InvalidParameter", "Invalid parameter: Endpoint must match the specified protocol")
    assert refused(sns.subscriptions.subscribe, TopicArn=topic, Protocol="lambda", Endpoint="f")[1] == (
        "Invalid parameter: Lambda endpoint ARN"
    )
    fifo_queue = f"arn:aws:sqs:{REGION}:{sns.account}:jobs.fifo"
    assert refused(sns.subscriptions.subscribe, TopicArn=topic, Protocol="sqs", Endpoint=fifo_queue)[1] == (
        "Invalid parameter: Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS "
        "topics"
    )
    assert refused(sns.subscriptions.subscribe, TopicArn=topic, Protocol="sqs")[:2] == (
        "NotFound",
        "Endpoint not specified in subscription",
    )
    assert sns.subscriptions.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


def test_subscription_attributes(sns: Sns) -> None:
    topic, (_, queue) = sns.topic(), sns.queue()
    arn = sns.subscribe(topic, queue, FilterPolicy='{"kind": ["a"]}')
    shown = sns.subscriptions.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert shown["FilterPolicyScope"] == "MessageAttributes" and shown["RawMessageDelivery"] == "false"
    assert shown["PendingConfirmation"] == "false" and shown["ConfirmationWasAuthenticated"] == "true"
    sns.subscriptions.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue="")
    shown = sns.subscriptions.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert "FilterPolicy" not in shown and "FilterPolicyScope" not in shown
    redrive = json.dumps({"deadLetterTargetArn": queue})
    sns.subscriptions.set_subscription_attributes(
        SubscriptionArn=arn, AttributeName="RedrivePolicy", AttributeValue=redrive
    )
    assert sns.subscriptions.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]["RedrivePolicy"] == redrive
    sns.subscriptions.unsubscribe(SubscriptionArn=arn)
    sns.subscriptions.unsubscribe(SubscriptionArn=arn)  # again: AWS answers success
    attributes = sns.topics.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert (attributes["SubscriptionsConfirmed"], attributes["SubscriptionsDeleted"]) == ("0", "1")


def test_filter_policies_choose_the_subscriptions(sns: Sns) -> None:
    topic = sns.topic()
    (url_a, queue_a), (url_b, queue_b) = sns.queue("a"), sns.queue("b")
    sns.subscribe(topic, queue_a, FilterPolicy='{"kind": ["order"]}', RawMessageDelivery="true")
    sns.subscribe(
        topic,
        queue_b,
        FilterPolicy='{"total": [{"numeric": [">", 10]}]}',
        FilterPolicyScope="MessageBody",
        RawMessageDelivery="true",
    )
    order = {"kind": {"DataType": "String", "StringValue": "order"}}
    sns.publisher.publish(TopicArn=topic, Message='{"total": 5}', MessageAttributes=order)
    sns.publisher.publish(TopicArn=topic, Message='{"total": 50}')
    assert [m["Body"] for m in sns.received(url_a)] == ['{"total": 5}']
    assert [m["Body"] for m in sns.received(url_b)] == ['{"total": 50}']


def test_json_notification_is_signed_as_sns_signs(engine: Engine, sns: Sns) -> None:
    topic, (url, queue) = sns.topic(), sns.queue()
    subscription = sns.subscribe(topic, queue)
    published = sns.publisher.publish(TopicArn=topic, Message="hello", Subject="greeting")
    (message,) = sns.received(url)
    body = json.loads(message["Body"])
    assert body["MessageId"] == published["MessageId"] and body["Subject"] == "greeting"
    assert body["UnsubscribeURL"].endswith(f"?Action=Unsubscribe&SubscriptionArn={subscription}")
    _verify(engine, body)


def _verify(engine: Engine, message: dict[str, Any]) -> None:
    """The signature verifies with the region's certificate, as a receiver checks it."""
    assert engine.sns_signer is not None
    certificate = x509.load_pem_x509_certificate(engine.sns_signer.certificate_pem(REGION))
    key = certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(base64.b64decode(message["Signature"]), string_to_sign(message), padding.PKCS1v15(), hashes.SHA1())


def _allow_sns(sns: Sns, url: str, queue: str, topic: str) -> None:
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
    }
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    sns.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})


def _publish(owner: Sns, topic: str, message: str) -> None:
    owner.publisher.publish(TopicArn=topic, Message=message)


def test_another_accounts_queue_confirms_then_takes_what_its_policy_allows(engine: Engine) -> None:
    owner, reader = Sns(engine), Sns(engine)
    topic, (url, queue) = owner.topic(), reader.queue()
    _allow_sns(reader, url, queue, topic)
    answer = owner.subscriptions.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue, Attributes={})
    assert answer == {"SubscriptionArn": "pending confirmation"}
    (listed,) = owner.subscriptions.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert listed["SubscriptionArn"] == "PendingConfirmation"
    assert owner.topics.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsPending"] == "1"
    (asked,) = reader.received(url)
    confirmation = json.loads(asked["Body"])
    assert list(confirmation) == [
        *("Type", "MessageId", "Token", "TopicArn", "Message", "SubscribeURL", "Timestamp"),
        *("SignatureVersion", "Signature", "SigningCertURL"),
    ]
    assert confirmation["Type"] == "SubscriptionConfirmation" and confirmation["Token"] in confirmation["SubscribeURL"]
    _verify(engine, confirmation)
    _publish(owner, topic, "before")
    assert reader.received(url) == []  # not delivered until confirmed
    assert refused(reader.subscriptions.confirm_subscription, TopicArn=topic, Token="x")[1] == "Invalid token"
    confirmed = reader.subscriptions.confirm_subscription(TopicArn=topic, Token=confirmation["Token"])
    attributes = owner.subscriptions.get_subscription_attributes(SubscriptionArn=confirmed["SubscriptionArn"])
    assert attributes["Attributes"]["PendingConfirmation"] == "false"
    _publish(owner, topic, "after")
    assert [json.loads(m["Body"])["Message"] for m in reader.received(url)] == ["after"]
    reader.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    _publish(owner, topic, "refused")
    assert reader.received(url) == []


def test_the_owner_of_a_queue_subscribing_it_needs_no_confirmation(engine: Engine) -> None:
    owner, reader = Sns(engine), Sns(engine)
    topic, (_, queue) = owner.topic(), reader.queue()
    owner.topics.add_permission(TopicArn=topic, Label="s", AWSAccountId=[reader.account], ActionName=["Subscribe"])
    arn = reader.subscribe(topic, queue)
    shown = reader.subscriptions.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert (shown["PendingConfirmation"], shown["Owner"]) == ("false", reader.account)
    assert owner.subscriptions.get_subscription_attributes(SubscriptionArn=arn)["Attributes"] == shown
    assert [s["SubscriptionArn"] for s in reader.subscriptions.list_subscriptions()["Subscriptions"]] == [arn]
    assert [s["SubscriptionArn"] for s in owner.subscriptions.list_subscriptions()["Subscriptions"]] == [arn]
    stranger = Sns(engine)
    assert stranger.subscriptions.list_subscriptions()["Subscriptions"] == []
    assert refused(stranger.subscriptions.get_subscription_attributes, SubscriptionArn=arn)[0] == "AuthorizationError"
    assert refused(stranger.subscriptions.unsubscribe, SubscriptionArn=arn)[0] == "AuthorizationError"


def test_publish_needs_a_signer_only_for_json_notifications(engine: Engine) -> None:
    unsigned = Sns(replace(engine, sns_signer=None))
    topic, (url, queue) = unsigned.topic(), unsigned.queue()
    arn = unsigned.subscribe(topic, queue, RawMessageDelivery="true")
    unsigned.publisher.publish(TopicArn=topic, Message="raw")
    assert [m["Body"] for m in unsigned.received(url)] == ["raw"]
    unsigned.subscriptions.set_subscription_attributes(
        SubscriptionArn=arn, AttributeName="RawMessageDelivery", AttributeValue="false"
    )
    assert refused(unsigned.publisher.publish, TopicArn=topic, Message="json")[0] == "NotImplemented"
    assert unsigned.received(url) == []  # nothing of the refused publish was delivered


def test_what_sns_leaves_out_of_a_delivery(sns: Sns) -> None:
    """Attributes go only with a String message; a raw delivery with more than 10 is discarded (AWS's docs)."""
    topic, (raw_url, raw_queue), (json_url, json_queue) = sns.topic(), sns.queue("raw"), sns.queue("json")
    sns.subscribe(topic, raw_queue, RawMessageDelivery="true")
    sns.subscribe(topic, json_queue)
    one = {"kind": {"DataType": "String", "StringValue": "a"}}
    structured = json.dumps({"default": "d"})
    sns.publisher.publish(TopicArn=topic, Message=structured, MessageStructure="json", MessageAttributes=one)
    assert "MessageAttributes" not in sns.received(raw_url)[0]
    assert "MessageAttributes" not in json.loads(sns.received(json_url)[0]["Body"])
    eleven = {f"a{i}": {"DataType": "Number", "StringValue": str(i)} for i in range(11)}
    sns.publisher.publish(TopicArn=topic, Message="many", MessageAttributes=eleven)
    assert sns.received(raw_url) == []
    assert len(json.loads(sns.received(json_url)[0]["Body"])["MessageAttributes"]) == 11


def test_publish_batch(sns: Sns) -> None:
    topic, (url, queue) = sns.topic(), sns.queue()
    sns.subscribe(topic, queue, RawMessageDelivery="true")
    entries = [{"Id": f"m{i}", "Message": f"message {i}"} for i in range(3)]
    answer = sns.publisher.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
    assert [e["Id"] for e in answer["Successful"]] == ["m0", "m1", "m2"] and answer["Failed"] == []
    assert sorted(m["Body"] for m in sns.received(url)) == ["message 0", "message 1", "message 2"]
    assert refused(sns.publisher.publish_batch, TopicArn=topic, PublishBatchRequestEntries=[])[0] == "EmptyBatchRequest"
    eleven = [{"Id": f"m{i}", "Message": "x"} for i in range(11)]
    assert refused(sns.publisher.publish_batch, TopicArn=topic, PublishBatchRequestEntries=eleven)[0] == (
        "TooManyEntriesInBatchRequest"
    )


def test_publish_to_a_fifo_topic_numbers_its_messages(sns: Sns) -> None:
    topic = sns.topic("jobs.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"})
    first = sns.publisher.publish(TopicArn=topic, Message="a", MessageGroupId="g")
    second = sns.publisher.publish(TopicArn=topic, Message="b", MessageGroupId="g")
    assert int(second["SequenceNumber"]) == int(first["SequenceNumber"]) + 1


def test_topics_and_subscriptions_outlive_the_process(tmp_path: Path) -> None:
    with Trailbridge(tmp_path) as tb:
        sns = Sns(signed(tb), "123456789012")
        topic, (url, queue) = sns.topic(), sns.queue()
        sns.subscribe(topic, queue, RawMessageDelivery="true", FilterPolicy='{"kind": ["a"]}')
    with Trailbridge(tmp_path) as tb:
        sns = Sns(signed(tb), "123456789012")
        kinds = [{"kind": {"DataType": "String", "StringValue": k}} for k in ("a", "b")]
        for attributes in kinds:
            sns.publisher.publish(
                TopicArn=topic, Message=attributes["kind"]["StringValue"], MessageAttributes=attributes
            )
        assert [m["Body"] for m in sns.received(url)] == ["a"]


class _FailingSecondSend:
    """The engine's queues, failing at the second message (a store that breaks in the middle of a publish): the
    messages before it are written first."""

    def __init__(self, queues: QueueMessages) -> None:
        self.queues, self.sends = queues, 0

    def send_many(self, sends: list[tuple[str, str, dict[str, Any], float, str | None]]) -> None:
        for send in sends:
            self.sends += 1
            if self.sends == 2:
                raise OSError("disk full")
            self.queues.send_many([send])


def test_a_publish_delivers_to_every_queue_or_to_none(engine: Engine) -> None:
    failing = _FailingSecondSend(engine.queues)
    sns = Sns(replace(engine, queues=failing))  # type: ignore[arg-type]
    topic, (url_a, queue_a), (url_b, queue_b) = sns.topic(), sns.queue("a"), sns.queue("b")
    sns.subscribe(topic, queue_a, RawMessageDelivery="true")
    sns.subscribe(topic, queue_b, RawMessageDelivery="true")
    with pytest.raises(OSError, match="disk full"):
        sns.publisher.publish(TopicArn=topic, Message="lost")
    assert failing.sends == 2
    assert Sns(engine, sns.account).received(url_a) == Sns(engine, sns.account).received(url_b) == []


def test_a_message_its_queue_cannot_take_goes_to_the_subscriptions_dead_letter_queue(sns: Sns) -> None:
    topic, (_, queue), (dead_url, dead) = sns.topic(), sns.queue("gone"), sns.queue("dead")
    sns.subscribe(topic, queue, RawMessageDelivery="true", RedrivePolicy=json.dumps({"deadLetterTargetArn": dead}))
    sns.sqs.delete_queue(QueueUrl=sns.sqs.get_queue_url(QueueName="gone")["QueueUrl"])
    sns.publisher.publish(TopicArn=topic, Message="undeliverable")
    assert [m["Body"] for m in sns.received(dead_url)] == ["undeliverable"]
    without = sns.topic("no-redrive")
    _, other = sns.queue("other")
    sns.subscribe(without, other)
    sns.sqs.delete_queue(QueueUrl=sns.sqs.get_queue_url(QueueName="other")["QueueUrl"])
    sns.publisher.publish(TopicArn=without, Message="lost")  # nowhere to go: dropped, as SNS drops it
    assert sns.received(dead_url) == []


def test_a_fifo_topic_delivers_to_fifo_queues_in_order_with_its_group_and_sequence(sns: Sns) -> None:
    topic = sns.topic("orders.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"})
    url, queue = sns.queue("orders.fifo", FifoQueue="true")
    raw_url, raw_queue = sns.queue("raw.fifo", FifoQueue="true")
    sns.subscribe(topic, queue)
    sns.subscribe(topic, raw_queue, RawMessageDelivery="true")
    answers = [sns.publisher.publish(TopicArn=topic, Message=f"m{n}", MessageGroupId="g") for n in range(3)]
    again = sns.publisher.publish(TopicArn=topic, Message="m0", MessageGroupId="g")  # a duplicate by content
    sequences = [a["SequenceNumber"] for a in [*answers, again]]
    assert sequences == sorted(sequences) and len(set(sequences)) == 4
    received = []
    for _ in range(3):  # one group: the next is given only once the one before is deleted
        [message] = sns.sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
        received.append(message)
        sns.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    bodies = [json.loads(m["Body"]) for m in received]
    assert [b["Message"] for b in bodies] == ["m0", "m1", "m2"]
    assert [b["SequenceNumber"] for b in bodies] == sequences[:3]
    assert list(bodies[0])[:4] == ["Type", "MessageId", "SequenceNumber", "TopicArn"]
    assert {m["Attributes"]["MessageGroupId"] for m in received} == {"g"}
    assert sns.sqs.receive_message(QueueUrl=url).get("Messages", []) == []  # the duplicate was not enqueued
    raw = sns.sqs.receive_message(QueueUrl=raw_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in raw] == ["m0", "m1", "m2"]  # in order, the duplicate not among them
    assert sns.sqs.receive_message(QueueUrl=raw_url).get("Messages", []) == []  # the group is in flight


def test_deliveries_to_queues_are_counted_per_topic_and_subscription(engine: Engine) -> None:
    sns = Sns(engine)
    topic = sns.topic("counted")
    _, raw_queue = sns.queue("raw")
    _, json_queue = sns.queue("json")
    raw = sns.subscribe(topic, raw_queue, RawMessageDelivery="true")
    notified = sns.subscribe(topic, json_queue)
    _, gone_queue = sns.queue("gone")
    gone = sns.subscribe(topic, gone_queue)
    sns.sqs.delete_queue(QueueUrl=sns.sqs.get_queue_url(QueueName="gone")["QueueUrl"])
    for n in range(2):
        sns.publisher.publish(TopicArn=topic, Message=f"m{n}")
    counted = {(s["Metric"], s["TargetId"]): sum(c for _, c in s["Points"]) for s in engine.metrics.series(topic, 0)}
    assert counted == {
        ("NumberOfNotificationsDelivered", raw): 2,
        ("NumberOfNotificationsDelivered", notified): 2,
        ("NumberOfNotificationsFailed", gone): 2,
    }
