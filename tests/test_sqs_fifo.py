"""FIFO queues through trailbridge's SQS service classes (on an injected clock), EventBridge rules delivering to
them, and SNS FIFO topics' queues: creation and attributes, the send checks and their AWS errors, sequence
numbers, the five-minute deduplication interval (per queue or per group), order and holds per message group,
system attributes, redrive, PutTargets, and TopicQueues' group and deduplication ids."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.support.sns import REGION, Sns, refused, signed_engine
from trailbridge.clock import ManualClock
from trailbridge.runtime import Trailbridge
from trailbridge.services.base import Engine
from trailbridge.services.sns.queues import TopicQueues
from trailbridge.services.sqs import QueuesService

ACCOUNT = "123456789012"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sqs(clock: ManualClock) -> QueuesService:
    return Trailbridge(None, clock=clock).sqs(ACCOUNT, REGION)


def _fifo(sqs: QueuesService, name: str = "jobs.fifo", **attributes: str) -> str:
    return str(sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", **attributes})["QueueUrl"])


def _receive(sqs: QueuesService, url: str, **params: Any) -> list[dict[str, Any]]:
    return list(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, **params).get("Messages", []))


def _bodies(messages: list[dict[str, Any]]) -> list[str]:
    return [m["Body"] for m in messages]


# -- CreateQueue, attributes ----------------------------------------------------------------------------------


def test_a_fifo_queue_is_named_dot_fifo_and_only_it(sqs: QueuesService) -> None:
    fifo_name = (
        "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end "
        "with .fifo suffix and be 1 to 80 in length."
    )
    assert refused(sqs.create_queue, QueueName="jobs", Attributes={"FifoQueue": "true"}) == (
        "InvalidParameterValue",
        fifo_name,
        400,
    )
    assert refused(sqs.create_queue, QueueName="a.b.fifo", Attributes={"FifoQueue": "true"})[1] == fifo_name
    assert refused(sqs.create_queue, QueueName="x" * 76 + ".fifo", Attributes={"FifoQueue": "true"})[1] == fifo_name
    standard_name = "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
    assert refused(sqs.create_queue, QueueName="jobs.fifo") == ("InvalidParameterValue", standard_name, 400)
    assert refused(sqs.create_queue, QueueName="jobs.fifo", Attributes={"FifoQueue": "false"})[1] == standard_name
    assert refused(sqs.create_queue, QueueName="jobs.fifo", Attributes={"FifoQueue": "yes"}) == (
        "InvalidAttributeValue",
        "Invalid value for the parameter FifoQueue.",
        400,
    )
    assert _fifo(sqs, "x" * 75 + ".fifo").endswith("/" + "x" * 75 + ".fifo")  # 80 with the suffix
    standard = sqs.create_queue(QueueName="plain", Attributes={"FifoQueue": "false"})["QueueUrl"]
    assert "FifoQueue" not in sqs.get_queue_attributes(QueueUrl=standard, AttributeNames=["All"])["Attributes"]


def test_fifo_attributes_default_are_checked_and_returned(sqs: QueuesService) -> None:
    url = _fifo(sqs)
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert {k: got[k] for k in ("FifoQueue", "ContentBasedDeduplication", "DeduplicationScope")} == {
        "FifoQueue": "true",
        "ContentBasedDeduplication": "false",
        "DeduplicationScope": "queue",
    }
    assert got["FifoThroughputLimit"] == "perQueue"
    high = {"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"ContentBasedDeduplication": "true", **high})
    asked = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"]
    )
    assert asked["Attributes"] == {"ContentBasedDeduplication": "true", **high}
    for name, value in (("DeduplicationScope", "group"), ("FifoThroughputLimit", "perGroup")):
        assert refused(sqs.set_queue_attributes, QueueUrl=url, Attributes={name: value}) == (
            "InvalidAttributeValue",
            f"Invalid value for the parameter {name}.",
            400,
        )
    assert refused(sqs.set_queue_attributes, QueueUrl=url, Attributes={"FifoQueue": "false"})[:2] == (
        "InvalidAttributeName",
        "Unknown Attribute FifoQueue.",
    )
    # the same attributes on a standard queue are unknown to it; asked for, they are left out
    standard = sqs.create_queue(QueueName="plain")["QueueUrl"]
    assert refused(sqs.set_queue_attributes, QueueUrl=standard, Attributes={"DeduplicationScope": "queue"})[:2] == (
        "InvalidAttributeName",
        "Unknown Attribute DeduplicationScope.",
    )
    assert refused(sqs.create_queue, QueueName="p2", Attributes={"ContentBasedDeduplication": "true"})[0] == (
        "InvalidAttributeName"
    )
    assert sqs.get_queue_attributes(QueueUrl=standard, AttributeNames=["FifoQueue"]) == {}
    # CreateQueue again with what the queue has is the same queue; with other FIFO attributes it is refused
    assert _fifo(sqs, "jobs.fifo", ContentBasedDeduplication="true") == url
    assert refused(
        sqs.create_queue, QueueName="jobs.fifo", Attributes={"FifoQueue": "true", "DeduplicationScope": "queue"}
    )[0] == ("QueueNameExists")


def test_a_dead_letter_queue_is_of_its_source_queue_type(sqs: QueuesService) -> None:
    _fifo(sqs, "dead.fifo")
    sqs.create_queue(QueueName="dead")
    same_type = "Invalid value for the parameter RedrivePolicy. Reason: Dead-letter queue must be same type of queue as the source.."

    def redrive(target: str) -> dict[str, str]:
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{target}"
        return {"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 2})}

    fifo_attributes = {"FifoQueue": "true", **redrive("dead")}
    assert refused(sqs.create_queue, QueueName="src.fifo", Attributes=fifo_attributes) == (
        "InvalidAttributeValue",
        same_type,
        400,
    )
    assert refused(sqs.create_queue, QueueName="src", Attributes=redrive("dead.fifo"))[1] == same_type
    url = _fifo(sqs, "src.fifo", **redrive("dead.fifo"))
    assert refused(sqs.set_queue_attributes, QueueUrl=url, Attributes=redrive("dead"))[1] == same_type
    # a FIFO message received twice moves to the FIFO dead-letter queue with its group
    sqs.send_message(QueueUrl=url, MessageBody="poison", MessageGroupId="g", MessageDeduplicationId="p")
    for _ in range(2):
        assert _bodies(_receive(sqs, url, VisibilityTimeout=0)) == ["poison"]
    assert _receive(sqs, url) == []
    dead = sqs.get_queue_url(QueueName="dead.fifo")["QueueUrl"]
    (moved,) = _receive(sqs, dead, MessageSystemAttributeNames=["MessageGroupId"])
    assert (moved["Body"], moved["Attributes"]) == ("poison", {"MessageGroupId": "g"})


# -- SendMessage ----------------------------------------------------------------------------------------------


def test_a_fifo_send_is_checked_as_sqs_checks_it(sqs: QueuesService) -> None:
    url = _fifo(sqs)
    assert refused(sqs.send_message, QueueUrl=url, MessageBody="x") == (
        "MissingParameter",
        "The request must contain the parameter MessageGroupId.",
        400,
    )
    assert refused(sqs.send_message, QueueUrl=url, MessageBody="x", MessageGroupId="g") == (
        "InvalidParameterValue",
        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
        400,
    )
    delayed = {"MessageGroupId": "g", "MessageDeduplicationId": "d", "DelaySeconds": 5}
    assert refused(sqs.send_message, QueueUrl=url, MessageBody="x", **delayed) == (
        "InvalidParameterValue",
        "Value 5 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for "
        "this queue type.",
        400,
    )
    bad_group = {"MessageGroupId": "a b", "MessageDeduplicationId": "d"}
    assert refused(sqs.send_message, QueueUrl=url, MessageBody="x", **bad_group)[1] == (
        "Value a b for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include alphanumeric "
        "and punctuation characters. 1 to 128 in length."
    )
    long_dedup = {"MessageGroupId": "g", "MessageDeduplicationId": "d" * 129}
    assert (
        "MessageDeduplicationId can only include"
        in refused(sqs.send_message, QueueUrl=url, MessageBody="x", **long_dedup)[1]
    )
    assert _receive(sqs, url) == []  # none of them was enqueued
    sent = sqs.send_message(
        QueueUrl=url, MessageBody="x", DelaySeconds=0, **long_dedup | {"MessageDeduplicationId": "d"}
    )
    assert set(sent) == {"MessageId", "MD5OfMessageBody", "SequenceNumber"}


def test_a_standard_queue_takes_a_group_but_no_deduplication_id(sqs: QueuesService) -> None:
    url = sqs.create_queue(QueueName="plain")["QueueUrl"]
    assert refused(sqs.send_message, QueueUrl=url, MessageBody="x", MessageDeduplicationId="d") == (
        "InvalidParameterValue",
        "Value d for parameter MessageDeduplicationId is invalid. Reason: The request include parameter that is "
        "not valid for this queue type.",
        400,
    )
    # a fair queue: the group names a tenant; messages of one group are received side by side, unordered holds
    for body in ("a", "b"):
        assert "SequenceNumber" not in sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="tenant")
    first = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"])["Messages"][0]
    assert first["Attributes"]["MessageGroupId"] == "tenant"
    assert "SequenceNumber" not in first["Attributes"] and "MessageDeduplicationId" not in first["Attributes"]
    assert _bodies(_receive(sqs, url)) == ["b"]  # not held behind "a", which is in flight


def test_sequence_numbers_increase_and_have_twenty_digits(sqs: QueuesService) -> None:
    url = _fifo(sqs, ContentBasedDeduplication="true")
    numbers = [
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g")["SequenceNumber"] for i in range(3)
    ]
    assert all(len(n) == 20 and n.isdigit() for n in numbers)
    assert [int(n) for n in numbers] == sorted(int(n) for n in numbers) and len(set(numbers)) == 3
    batch = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "ok", "MessageBody": "m3", "MessageGroupId": "g"},
            {"Id": "no-group", "MessageBody": "m4"},
            {"Id": "ok2", "MessageBody": "m5", "MessageGroupId": "h"},
        ],
    )
    assert [e["Id"] for e in batch["Successful"]] == ["ok", "ok2"]
    assert int(batch["Successful"][0]["SequenceNumber"]) > int(numbers[-1])
    assert int(batch["Successful"][1]["SequenceNumber"]) > int(batch["Successful"][0]["SequenceNumber"])
    assert batch["Failed"] == [
        {
            "Id": "no-group",
            "SenderFault": True,
            "Code": "MissingParameter",
            "Message": "The request must contain the parameter MessageGroupId.",
        }
    ]


def test_a_duplicate_within_five_minutes_answers_the_original_and_is_not_enqueued(
    sqs: QueuesService, clock: ManualClock
) -> None:
    url = _fifo(sqs)
    first = sqs.send_message(QueueUrl=url, MessageBody="pay", MessageGroupId="g", MessageDeduplicationId="order-1")
    clock.advance(299.9)
    again = sqs.send_message(QueueUrl=url, MessageBody="pay", MessageGroupId="g", MessageDeduplicationId="order-1")
    assert again == first
    (message,) = _receive(sqs, url)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])  # received and deleted: still a duplicate
    assert (
        sqs.send_message(QueueUrl=url, MessageBody="pay", MessageGroupId="g", MessageDeduplicationId="order-1") == first
    )
    assert _receive(sqs, url) == []
    clock.advance(0.1)  # five minutes after the first send
    later = sqs.send_message(QueueUrl=url, MessageBody="pay", MessageGroupId="g", MessageDeduplicationId="order-1")
    assert later["MessageId"] != first["MessageId"] and int(later["SequenceNumber"]) > int(first["SequenceNumber"])
    assert _bodies(_receive(sqs, url)) == ["pay"]


def test_content_based_deduplication_is_the_sha256_of_the_body(sqs: QueuesService, clock: ManualClock) -> None:
    url = _fifo(sqs, ContentBasedDeduplication="true")
    first = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    assert sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="h") == first  # queue scope
    sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g", MessageDeduplicationId="explicit")
    (message, explicit) = _receive(sqs, url, MessageSystemAttributeNames=["MessageDeduplicationId"])
    assert message["Attributes"]["MessageDeduplicationId"] == hashlib.sha256(b"same").hexdigest()
    assert explicit["Attributes"]["MessageDeduplicationId"] == "explicit"  # an explicit id overrides the content


def test_deduplication_by_message_group(sqs: QueuesService) -> None:
    url = _fifo(sqs, DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
    a = sqs.send_message(QueueUrl=url, MessageBody="a", MessageGroupId="g", MessageDeduplicationId="d")
    b = sqs.send_message(QueueUrl=url, MessageBody="b", MessageGroupId="h", MessageDeduplicationId="d")
    assert a["MessageId"] != b["MessageId"]
    duplicate = sqs.send_message(QueueUrl=url, MessageBody="c", MessageGroupId="g", MessageDeduplicationId="d")
    assert (duplicate["MessageId"], duplicate["SequenceNumber"]) == (a["MessageId"], a["SequenceNumber"])
    assert duplicate["MD5OfMessageBody"] == hashlib.md5(b"c").hexdigest()  # of what was sent, as the SDKs check
    assert sorted(_bodies(_receive(sqs, url))) == ["a", "b"]


# -- ReceiveMessage -------------------------------------------------------------------------------------------


def test_each_group_is_received_in_order_and_held_while_in_flight(sqs: QueuesService, clock: ManualClock) -> None:
    url = _fifo(sqs, ContentBasedDeduplication="true", VisibilityTimeout="30")
    for body, group in (("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b"), ("a3", "a")):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
    first = sqs.receive_message(QueueUrl=url)["Messages"]
    assert _bodies(first) == ["a1"]
    assert _bodies(_receive(sqs, url)) == ["b1", "b2"]  # a waits for a1; b gives its messages in order
    assert _receive(sqs, url) == []
    clock.advance(30)  # a1 was not deleted: it comes back before a2, and b1, b2 with it
    again = _receive(sqs, url, MessageSystemAttributeNames=["ApproximateReceiveCount"])
    assert _bodies(again) == ["a1", "b1", "a2", "b2", "a3"]
    assert again[0]["Attributes"] == {"ApproximateReceiveCount": "2"}
    for message in again[:2]:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again[2]["ReceiptHandle"], VisibilityTimeout=0)
    assert _receive(sqs, url) == []  # a2 is visible again, but a3 of its group is still in flight


def test_system_attributes_of_a_fifo_message(sqs: QueuesService) -> None:
    url = _fifo(sqs)
    sent = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d")
    (message,) = _receive(sqs, url, MessageSystemAttributeNames=["All"], VisibilityTimeout=0)
    assert {k: message["Attributes"][k] for k in ("MessageGroupId", "MessageDeduplicationId", "SequenceNumber")} == {
        "MessageGroupId": "g",
        "MessageDeduplicationId": "d",
        "SequenceNumber": sent["SequenceNumber"],
    }
    (named,) = _receive(sqs, url, MessageSystemAttributeNames=["SequenceNumber"], VisibilityTimeout=0)
    assert named["Attributes"] == {"SequenceNumber": sent["SequenceNumber"]}
    (plain,) = _receive(sqs, url, ReceiveRequestAttemptId="attempt-1")  # accepted, not acted on
    assert "Attributes" not in plain and plain["MessageId"] == sent["MessageId"]


# -- EventBridge targets --------------------------------------------------------------------------------------


def test_put_targets_needs_a_group_for_a_fifo_queue_and_no_fifo_dead_letter_queue(tb: Trailbridge) -> None:
    events, sqs = tb.events(), tb.sqs()
    _fifo(sqs, "t.fifo")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["my.app"]}))
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:t.fifo"
    for target in ({"Id": "q", "Arn": queue}, {"Id": "q", "Arn": queue, "SqsParameters": {}}):
        assert refused(events.put_targets, Rule="r", Targets=[target]) == (
            "ValidationException",
            "Parameter(s) SqsParameters must be specified for target: q.",
            400,
        )
    _fifo(sqs, "dlq.fifo")
    dead = {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq.fifo"}
    grouped = {"Id": "q", "Arn": queue, "SqsParameters": {"MessageGroupId": "g"}}
    assert refused(events.put_targets, Rule="r", Targets=[grouped | {"DeadLetterConfig": dead}]) == (
        "ValidationException",
        "SQS FIFO is not supported by Dead Letter Queues.",
        400,
    )
    assert events.put_targets(Rule="r", Targets=[grouped])["FailedEntryCount"] == 0


def test_a_rule_delivers_to_a_fifo_queue_in_its_group_deduplicated_by_event_id(tb: Trailbridge) -> None:
    events, sqs = tb.events(), tb.sqs()
    url = _fifo(sqs, "t.fifo")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["my.app"]}))
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:t.fifo"
    target = {"Id": "q", "Arn": queue, "SqsParameters": {"MessageGroupId": "orders"}, "InputPath": "$.detail"}
    events.put_targets(Rule="r", Targets=[target])
    answer = events.put_events(
        Entries=[{"Source": "my.app", "DetailType": "d", "Detail": json.dumps({"n": n})} for n in range(3)]
    )
    ids = [e["EventId"] for e in answer["Entries"]]
    got: list[dict[str, Any]] = []

    def drained() -> bool:
        batch = _receive(sqs, url, MessageSystemAttributeNames=["All"])
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        got.extend(batch)
        return len(got) >= 3

    wait_for(drained)
    assert sorted(json.loads(m["Body"])["n"] for m in got) == [0, 1, 2]
    assert {m["Attributes"]["MessageGroupId"] for m in got} == {"orders"}
    assert sorted(m["Attributes"]["MessageDeduplicationId"] for m in got) == sorted(ids)
    # a second delivery of one event (a retry) is a duplicate: nothing more is enqueued
    tb.engine.queues.send(queue, "again", group_id="orders", dedup_id=ids[0])
    assert _receive(sqs, url) == []


# -- SNS FIFO topics ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    yield from signed_engine()


def test_a_fifo_topic_takes_fifo_queues_and_refuses_standard_ones(engine: Engine) -> None:
    sns = Sns(engine)
    topic = sns.topic("jobs.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"})
    _, standard = sns.queue("plain")
    assert refused(sns.subscriptions.subscribe, TopicArn=topic, Protocol="sqs", Endpoint=standard) == (
        "InvalidParameter",
        "Invalid parameter: Endpoint Reason: FIFO SNS Topics currently only support FIFO SQS Queues as subscribers",
        400,
    )
    _, fifo = sns.queue("jobs.fifo", FifoQueue="true")
    subscription = sns.subscribe(topic, fifo, RawMessageDelivery="true")
    assert subscription.startswith(topic + ":")
    dead = json.dumps({"deadLetterTargetArn": standard})
    assert (
        refused(
            sns.subscriptions.set_subscription_attributes,
            SubscriptionArn=subscription,
            AttributeName="RedrivePolicy",
            AttributeValue=dead,
        )[1]
        == "Invalid parameter: RedrivePolicy: must use a FIFO queue as DLQ for a FIFO Subscription to a FIFO Topic."
    )
    _, fifo_dead = sns.queue("dead.fifo", FifoQueue="true")
    sns.subscriptions.set_subscription_attributes(
        SubscriptionArn=subscription,
        AttributeName="RedrivePolicy",
        AttributeValue=json.dumps({"deadLetterTargetArn": fifo_dead}),
    )


def test_topic_queues_pass_the_publish_group_and_deduplication_id(engine: Engine) -> None:
    sns = Sns(engine)
    topic_arn = sns.topic("jobs.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"})
    url, queue_arn = sns.queue("jobs.fifo", FifoQueue="true")
    topic = engine.resources.get(topic_arn)
    assert topic is not None
    queues = TopicQueues(engine, topic)
    queue = queues.queue(queue_arn)
    assert queue is not None
    explicit = {"Message": "m", "MessageGroupId": "g", "MessageDeduplicationId": "d-1"}
    assert queues.fifo_ids(explicit) == ("g", "d-1")
    by_content = {"Message": "hello", "MessageGroupId": "h"}
    assert queues.fifo_ids(by_content) == ("h", hashlib.sha256(b"hello").hexdigest())
    with engine.store.transaction():
        queues.send(queue, "first", group_id="g", dedup_id="d-1")
        queues.send(queue, "duplicate", group_id="g", dedup_id="d-1")
        queues.send(queue, "second", group_id="h", dedup_id="d-2")
        queues.send(queue, "no ids")  # a message SNS sends of its own: the topic's group, deduplicated by content
    got = sns.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
    messages = [
        (m["Body"], m["Attributes"]["MessageGroupId"], m["Attributes"]["MessageDeduplicationId"])
        for m in got["Messages"]
    ]
    assert messages == [
        ("first", "g", "d-1"),
        ("second", "h", "d-2"),
        ("no ids", topic_arn, hashlib.sha256(b"no ids").hexdigest()),
    ]
    standard_topic = engine.resources.get(sns.topic("plain"))
    assert standard_topic is not None
    assert TopicQueues(engine, standard_topic).fifo_ids(explicit) == (None, None)
