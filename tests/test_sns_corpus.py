"""The SNS corpus recorded against real AWS (`../shared/corpora/sns/aws-recorded.json`), through the service
classes: every `api_errors` case answers AWS's code, whole message (Jackson's location suffix included) and
HTTP status; every `notification_shapes` case's messages reach the queue with exactly the keys, in the order,
AWS's notifications have; every `filter_policy_cases` case is delivered exactly when AWS delivered it.

A case's `{"$expr": ...}` values are what the recording computed while it ran (the ARN of the topic it had
just created, ...): `Case` builds each the same way here (a FIFO queue subscribed to the FIFO topic, where a
case's subscription is one)."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.corpora import load_json
from tests.support.sns import signed_engine
from trailbridge.services.base import Engine, ServiceError
from trailbridge.services.sns import SNS_CLASSES, PublishService, SubscriptionsService, TopicsService
from trailbridge.services.sns.platform import PlatformService
from trailbridge.services.sqs import QueuesService

CORPUS = load_json("sns", "aws-recorded.json")
REGION, OTHER_REGION = "us-east-1", "eu-west-1"
_accounts = itertools.count(300000000001)
_CLASSES = SNS_CLASSES
_SERVED = {getattr(m, "aws_operation", None) for cls in _CLASSES for m in vars(cls).values()}
# What the mobile-push cases' parametrised tests passed as `attributes`, by the case's parameter.
_ATTRIBUTES = {
    "missing-principal": {"PlatformCredential": "dummy"},
    "missing-credential": {"PlatformPrincipal": "dummy"},
    "dummy-args": {"PlatformPrincipal": "dummy", "PlatformCredential": "dummy"},
    "Invalid_Name_Generic": {"InvalidKey": "value"},
    "Invalid_Name_Principal": {"PlatformPrincipal": "value"},
    "Data_Too_Long": {"CustomUserData": "a" * 2049},
}
# The recording's helper took snake_case keywords.
_KEYWORDS = {"platform_application_arn": "PlatformApplicationArn", "token": "Token"}
# The endpoint ARN AWS's message named, masked by the recording.
_MASKED_ENDPOINT = "arn:<partition>:sns:<region>:111111111111:endpoint/ADM/<platform_application>/<resource:1>"
# The corpus's operation names that botocore spells otherwise.
_BOTOCORE_NAMES = {"SetSmsAttributes": "SetSMSAttributes"}
# What the parametrised SMS-attributes cases set: AWS's answer names `DefaultSendID`, the attribute the recorded
# test gave (a sender ID too long, one without a letter), which SNS refuses as a name before any value.
_SMS_ATTRIBUTES = {"TooLongID": {"DefaultSendID": "a" * 12}, "NoLetterID": {"DefaultSendID": "123456"}}


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    yield from signed_engine()


class Case:
    """One recorded call's world: a fresh account with the topics, queue and subscription its test had."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine, self.name, self.account = engine, name, str(next(_accounts))
        self.topics = TopicsService(engine, self.account, REGION)
        self.topic_name = "topic-1"
        self.topic_arn = self.topics.create_topic(Name="topic-1", Attributes={"DisplayName": "Value1"})["TopicArn"]
        fifo = self.topics.create_topic(Name="topic-1.fifo", Attributes={"FifoTopic": "true"})
        self.fifo_topic_arn = fifo["TopicArn"]
        self.queue_arn = f"arn:aws:sqs:{REGION}:{self.account}:queue-1"
        self.queue_url = engine.settings.endpoint_url + f"/{self.account}/queue-1"
        QueuesService(self.engine, self.account, REGION).create_queue(QueueName="queue-1")
        self.sub_arn = self.subscribe(self.topic_arn)
        self.fifo_sub_arn = ""
        if "test_validations_for_fifo" in name:  # its subscription: a FIFO queue's to the FIFO topic
            fifo_queue = QueuesService(self.engine, self.account, REGION).create_queue(
                QueueName="queue-1.fifo", Attributes={"FifoQueue": "true"}
            )
            assert fifo_queue["QueueUrl"].endswith("/queue-1.fifo")
            self.fifo_sub_arn = self.subscribe(self.fifo_topic_arn, self.queue_arn + ".fifo")
        if "test_publish_batch_exceptions" in name:
            self.topic_arn = self.fifo_topic_arn
        if "more_tags" in name:
            self.topics.create_topic(Name="test-duplicated-topic-more-tags")
        if "cross_region" in name:
            self.topic_arn = TopicsService(engine, self.account, OTHER_REGION).create_topic(Name="t")["TopicArn"]
        self.push = PlatformService(engine, self.account, REGION)
        self.app_arn = self.endpoint_arn = ""
        if "Platform" in name or "Endpoint" in name:
            self.mobile_push()

    def mobile_push(self) -> None:
        """The application (and endpoint) the mobile-push cases made first, as their tests made them."""
        made = self.push.create_platform_application(
            Name="app-a1b2c3", Platform="ADM", Attributes={"PlatformPrincipal": "dummy", "PlatformCredential": "dummy"}
        )
        self.app_arn = made["PlatformApplicationArn"]
        self.endpoint_arn = f"arn:aws:sns:{REGION}:{self.account}:endpoint/ADM/app-a1b2c3/missing"
        if (
            "idempotency" in self.name
            or "SetEndpointAttributes:test_set_platform_endpoint_attributes_invalid" in self.name
        ):
            created = self.push.create_platform_endpoint(PlatformApplicationArn=self.app_arn, Token="token_1")
            self.endpoint_arn = created["EndpointArn"]
        if "deleted_app" in self.name:
            self.push.delete_platform_application(PlatformApplicationArn=self.app_arn)

    def attributes(self) -> dict[str, str]:
        parameter = self.name.rsplit("[", 1)[1].rstrip("]") if self.name.endswith("]") else ""
        return _ATTRIBUTES.get(parameter, {})

    def subscribe(self, topic_arn: str, queue_arn: str | None = None) -> str:
        subscriptions = SubscriptionsService(self.engine, self.account, REGION)
        scope = "MessageBody" if "nested_property_constraints" in self.name else "MessageAttributes"
        subscribed = subscriptions.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn or self.queue_arn,
            Attributes={"FilterPolicyScope": scope},
        )
        return str(subscribed["SubscriptionArn"])

    def value(self, expression: str) -> Any:
        missing = f"arn:aws:sns:{REGION}:{self.account}:missing-topic"
        values = {
            "topic_arn": missing if "topic-not-exists" in self.name else self.topic_arn,
            "fifo_topic_arn": self.fifo_topic_arn,
            "wrong_topic_arn": missing,
            "fake_arn": missing,
            "bad_topic_arn": missing,
            "wrong_topic": missing,
            "f'{topic_arn}-not-existing'": self.topic_arn + "-not-existing",
            "account_id": self.account,
            "topic_name": self.topic_name,
            "queue_arn": self.queue_arn,
            "queue_url": self.queue_url,
            "sub_arn": "pending confirmation" if "deleted-topic" in self.name else self.sub_arn,
            "subscription_arn": self.sub_arn,
            "subscription['SubscriptionArn']": self.fifo_sub_arn,
            "short_uid()": "a1b2c3",
            "{attribute_key_value[0]: attribute_key_value[1]}": _SMS_ATTRIBUTES.get(
                self.name.rsplit("[", 1)[-1].rstrip("]")
            ),
            "message_with_attrs": "a" * (256 * 1024 - len("attr1") - len("Number") - len("1") + 1),
            "f'arn:aws:sns:{region_name}:{account_id}:unknown-{short_uid()}'": missing,
            "f'arn:aws:sns:{region_name}:{account_id}:nonexistent:{uuid.uuid4()}'": missing
            + ":00000000-0000-4000-8000-000000000000",
            "name": "@name" if "invalid-char" in self.name else "app-d4e5f6",
            "attributes": self.attributes(),
            "app_arn": self.app_arn,
            "endpoint_arn": self.endpoint_arn,
            "f'arn:aws:sns:{region_name}:{account_id}:app/ADM/NonExistingApp'": self.app_arn.replace(
                "app-a1b2c3", "NonExistingApp"
            ),
            "platform_application_arn % (region_name, account_id)": self.app_arn.replace("app-a1b2c3", "missing"),
        }
        return values[expression]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if "$expr" in value:
                return self.value(value["$expr"])
            if "$bytes" in value:
                return value["$bytes"].encode()
            return {_KEYWORDS.get(k, k): self.resolve(v) for k, v in value.items() if k != "$note"}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, str) and '"$expr"' in value:  # a JSON document the recording wrote with a value in it
            return json.dumps(self.resolve(json.loads(value)))
        return value


def _call(engine: Engine, case: Case, operation: str, params: dict[str, Any]) -> Any:
    for cls in _CLASSES:
        for member in vars(cls).values():
            if getattr(member, "aws_operation", None) == operation:
                return member(cls(engine, case.account, REGION), **params)
    raise AssertionError(f"no handler for {operation}")


@pytest.mark.parametrize("case", CORPUS["api_errors"], ids=[c["name"] for c in CORPUS["api_errors"]])
def test_api_error(engine: Engine, case: dict[str, Any]) -> None:
    expected = case["expected_error"]
    operation = _BOTOCORE_NAMES.get(case["operation"], case["operation"])
    assert operation in _SERVED, "every operation of the corpus has a handler"
    world = Case(engine, case["name"])
    with pytest.raises(ServiceError) as caught:
        _call(engine, world, operation, world.resolve(case["params"]))
    error, message = caught.value, expected["message"].replace(_MASKED_ENDPOINT, world.endpoint_arn)
    assert (error.code, error.message, error.status) == (expected["code"], message, expected["http_status"])


def _number(value: str) -> dict[str, Any]:
    return {"DataType": "Number", "StringValue": value}


_BINARY = {"DataType": "Binary", "BinaryValue": b"\x02\x03\x04"}
_TWO = {"an-attribute-key": {"DataType": "String", "StringValue": "an-attribute-value"}, "binary-attribute": _BINARY}
_BATCH = [
    {
        "Id": "1",
        "Message": "Test Message with one attribute",
        "Subject": "S",
        "MessageAttributes": {"attr1": _number("19.12")},
    },
    {
        "Id": "2",
        "Message": "Test Message with two attributes",
        "Subject": "S",
        "MessageAttributes": {"attr1": _number("99.12"), "attr2": _number("109.12")},
    },
    {"Id": "3", "Message": "Test Message without attribute", "Subject": "S"},
    {"Id": "4", "Message": "Test Message without subject"},
    {"Id": "5", "Message": json.dumps({"default": "test default", "sqs": "test sqs"}), "MessageStructure": "json"},
]
_FILTER = json.dumps({"attr1": [{"numeric": [">", 0, "<=", 100]}]})
# Per notification_shapes case: (recorded key, raw delivery, filter policy, what is published), in the test's order.
_SCENARIOS: dict[str, list[tuple[str, bool, str, dict[str, Any]]]] = {
    "test_publish_sqs_from_sns": [
        ("message-raw-true", True, "", {"Message": "Test msg", "MessageAttributes": {"attr1": _number("99.12")}}),
        ("message-raw-false", False, "", {"Message": "Test msg", "MessageAttributes": {"attr1": _number("100.12")}}),
    ],
    "test_publish_unicode_chars": [("received-message", False, "", {"Message": 'ö§a1"_!?,. £$-'})],
    "test_attribute_raw_subscribe": [
        ("messages-response", True, "", {"Message": "This is a test message", "MessageAttributes": {"store": _BINARY}})
    ],
    "test_subscribe_sqs_queue": [
        (
            "messages",
            False,
            _FILTER,
            {"Message": "This is a test message", "MessageAttributes": {"attr1": _number("99.12")}},
        )
    ],
    "test_message_attributes_not_missing": [
        ("raw-delivery-msg-attrs", True, "", {"Message": "text", "MessageAttributes": _TWO}),
        ("json-delivery-msg-attrs", False, "", {"Message": "text", "MessageAttributes": _TWO}),
    ],
    "test_message_structure_json_to_sqs": [
        (
            "get-msg-json-sqs",
            False,
            "",
            {
                "Message": json.dumps({"default": "default field", "sqs": '{"field": "value"}'}),
                "MessageStructure": "json",
            },
        ),
        (
            "get-msg-json-default",
            False,
            "",
            {"Message": json.dumps({"default": "default field"}), "MessageStructure": "json"},
        ),
    ],
    "test_publish_batch_messages_from_sns_to_sqs": [("messages", True, "", {"batch": _BATCH})],
    "test_publish_sqs_from_sns_with_xray_propagation": [
        ("xray-msg", False, "", {"Message": "X-Ray propagation test msg"})
    ],
}
_MASKED = {
    "MessageId": re.compile(r"[0-9a-f-]{36}"),
    "Timestamp": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"),
    "Signature": re.compile(r"[A-Za-z0-9+/]+=*"),
    "SigningCertURL": re.compile(r"http://localhost/SimpleNotificationService-[0-9a-f]{32}\.pem"),
}


def _received(sqs: QueuesService, url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
        "Messages", []
    )
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return list(messages)


def _check_json(recorded: dict[str, Any], body: str, topic: str, unsubscribe: str) -> None:
    got = json.loads(body)
    assert list(got) == list(recorded), "the notification's keys, in AWS's order"
    for key, value in got.items():
        if key in _MASKED:
            assert _MASKED[key].fullmatch(value), key
        elif key == "TopicArn":
            assert value == topic
        elif key == "UnsubscribeURL":
            assert value == unsubscribe
        else:
            assert value == recorded[key], key


def _check_raw(recorded: dict[str, Any], message: dict[str, Any]) -> None:
    assert message["Body"] == recorded["Body"]
    shown = {
        n: {k: repr(v) if isinstance(v, bytes) else v for k, v in a.items()}
        for n, a in message.get("MessageAttributes", {}).items()
    }
    assert shown == recorded.get("MessageAttributes", {})
    if recorded.get("MD5OfMessageAttributes", "<md5-hash>") != "<md5-hash>":
        assert message["MD5OfMessageAttributes"] == recorded["MD5OfMessageAttributes"]


@pytest.mark.parametrize("shape", CORPUS["notification_shapes"], ids=[s["name"] for s in CORPUS["notification_shapes"]])
def test_notification_shape(engine: Engine, shape: dict[str, Any]) -> None:
    world = Case(engine, shape["name"])
    sqs, subscriptions = (
        QueuesService(engine, world.account, REGION),
        SubscriptionsService(engine, world.account, REGION),
    )
    publisher = PublishService(engine, world.account, REGION)
    for key, raw, policy, published in _SCENARIOS[shape["name"]]:
        subscriptions.set_subscription_attributes(
            SubscriptionArn=world.sub_arn, AttributeName="RawMessageDelivery", AttributeValue=str(raw).lower()
        )
        subscriptions.set_subscription_attributes(
            SubscriptionArn=world.sub_arn, AttributeName="FilterPolicy", AttributeValue=policy
        )
        if "batch" in published:
            publisher.publish_batch(TopicArn=world.topic_arn, PublishBatchRequestEntries=published["batch"])
        else:
            by = "TargetArn" if key == "message-raw-false" else "TopicArn"  # as the recorded test published it
            publisher.publish(**{by: world.topic_arn}, **published)
        recorded = shape["recorded"][key]
        expected = recorded.get("Messages", [recorded])
        received = _received(sqs, world.queue_url)
        assert len(received) == len(expected)
        for want, got in zip(expected, received, strict=True):
            if isinstance(want["Body"], dict):
                unsubscribe = f"{engine.settings.endpoint_url}/?Action=Unsubscribe&SubscriptionArn={world.sub_arn}"
                _check_json(want["Body"], got["Body"], world.topic_arn, unsubscribe)
            else:
                _check_raw(want, got)


# `body:large_complex_payload` published a file the corpus does not hold: a large payload of the shape its
# policy names (`detail` -> `payload.nested.another-level.deep` -> `inside-list` with a "q-test" prefix).
_STAND_IN = json.dumps(
    {
        "detail": {
            "payload": {"nested": {"another-level": {"deep": {"inside-list": ["other", "q-test-42"]}}}},
            "padding": [{"field": f"value-{i}", "list": list(range(10))} for i in range(1000)],
        }
    }
)


@pytest.mark.parametrize("case", CORPUS["filter_policy_cases"], ids=[c["name"] for c in CORPUS["filter_policy_cases"]])
def test_filter_policy_case_end_to_end(engine: Engine, case: dict[str, Any]) -> None:
    """Each recorded filter-policy case through Subscribe, Publish and the queue: delivered exactly when AWS
    delivered, and what AWS's queue received where the corpus keeps it."""
    world = Case(engine, case["name"])
    subscriptions = SubscriptionsService(engine, world.account, REGION)
    given = {"RawMessageDelivery": "true" if case["raw_message_delivery"] else "false"}
    given["FilterPolicyScope"] = case["filter_policy_scope"] or "MessageAttributes"
    given["FilterPolicy"] = json.dumps(case["filter_policy"]) if case["filter_policy"] is not None else ""
    for name, value in given.items():
        subscriptions.set_subscription_attributes(
            SubscriptionArn=world.sub_arn, AttributeName=name, AttributeValue=value
        )
    published = dict(case["publish"])
    if isinstance(published["Message"], dict):  # a file of the recording's the corpus does not hold
        published["Message"] = _STAND_IN
    PublishService(engine, world.account, REGION).publish(TopicArn=world.topic_arn, **published)
    received = _received(QueuesService(engine, world.account, REGION), world.queue_url)
    assert len(received) == (1 if case["delivered"] else 0)
    recorded = case.get("recorded_delivery")
    if recorded is not None:
        if isinstance(recorded["Body"], dict):
            assert list(json.loads(received[0]["Body"])) == list(recorded["Body"])
        else:
            assert received[0]["Body"] == recorded["Body"]
