"""SNS's SMS through the service classes: the account's SMS attributes, opt-out and opt-in (AWS's 30-day rule
on an injected clock), Publish to a phone number and to a topic's `sms` subscriptions (filter policy
included) landing in the outbox `sent_sms` lists, an opted-out number dropped, and all of it after a
SQLite-backed trailbridge is reopened."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sns import REGION, Sns, refused, signed
from trailbridge.runtime import Trailbridge
from trailbridge.services.base import Engine
from trailbridge.services.sns import SmsService
from trailbridge.services.sns.sms import opt_out, sent_sms

DAY = 24 * 3600.0
NUMBER = "+15555550100"


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.at = 1_700_000_000.0

    def now(self) -> float:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(clock: Clock) -> Iterator[Engine]:
    with Trailbridge(clock=clock) as tb:
        yield signed(tb)


@pytest.fixture
def sns(engine: Engine) -> Sns:
    return Sns(engine)


def _sms(sns: Sns) -> SmsService:
    return SmsService(sns.engine, sns.account, REGION)


def _outbox(sns: Sns, since: float | None = None) -> list[dict[str, object]]:
    return sent_sms(sns.engine, sns.account, REGION, since)


def test_sms_attributes_are_kept_per_account_and_region_and_filtered(sns: Sns) -> None:
    service = _sms(sns)
    assert service.get_sms_attributes() == {"attributes": {}}
    service.set_sms_attributes(attributes={"DefaultSenderID": "Shop-1", "DefaultSMSType": "Transactional"})
    service.set_sms_attributes(attributes={"MonthlySpendLimit": "5", "DeliveryStatusSuccessSamplingRate": "100"})
    every = service.get_sms_attributes()["attributes"]
    assert every == {
        "DefaultSenderID": "Shop-1",
        "DefaultSMSType": "Transactional",
        "MonthlySpendLimit": "5",
        "DeliveryStatusSuccessSamplingRate": "100",
    }
    wanted = ["DefaultSMSType", "UsageReportS3Bucket"]
    assert service.get_sms_attributes(attributes=wanted) == {"attributes": {"DefaultSMSType": "Transactional"}}
    assert SmsService(sns.engine, sns.account, "eu-west-1").get_sms_attributes() == {"attributes": {}}
    assert SmsService(sns.engine, "499999999999", REGION).get_sms_attributes() == {"attributes": {}}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DefaultSenderID", "a" * 12),
        ("DefaultSenderID", "123456"),
        ("DefaultSenderID", "has space"),
        ("DefaultSMSType", "Urgent"),
        ("MonthlySpendLimit", "-1"),
        ("MonthlySpendLimit", "1.5"),
        ("DeliveryStatusSuccessSamplingRate", "101"),
        ("DeliveryStatusIAMRole", "arn:aws:iam::123456789012:user/u"),
        ("UsageReportS3Bucket", "Not_A_Bucket"),
    ],
)
def test_sms_attribute_values_are_checked(sns: Sns, name: str, value: str) -> None:
    service = _sms(sns)
    refusal = refused(service.set_sms_attributes, attributes={name: value})
    assert refusal == ("InvalidParameter", f"Invalid parameter: {name}", 400)
    assert service.get_sms_attributes() == {"attributes": {}}


def test_an_unknown_sms_attribute_is_refused_by_name(sns: Sns) -> None:
    refusal = refused(_sms(sns).set_sms_attributes, attributes={"DefaultSendID": "Shop"})
    assert refusal == ("InvalidParameter", "DefaultSendID is not a valid attribute", 400)
    role = "arn:aws:iam::123456789012:role/sns-sms"
    _sms(sns).set_sms_attributes(attributes={"DeliveryStatusIAMRole": role, "UsageReportS3Bucket": "my.reports"})


def test_opt_out_and_opt_in_once_every_thirty_days(sns: Sns, clock: Clock) -> None:
    service = _sms(sns)
    assert service.check_if_phone_number_is_opted_out(phoneNumber=NUMBER) == {"isOptedOut": False}
    service.opt_in_phone_number(phoneNumber=NUMBER)  # not opted out: nothing to do, and no 30 days started
    opt_out(sns.engine, sns.account, REGION, NUMBER)
    assert service.check_if_phone_number_is_opted_out(phoneNumber=NUMBER) == {"isOptedOut": True}
    assert service.list_phone_numbers_opted_out() == {"phoneNumbers": [NUMBER]}
    service.opt_in_phone_number(phoneNumber=NUMBER)
    assert service.check_if_phone_number_is_opted_out(phoneNumber=NUMBER) == {"isOptedOut": False}
    assert service.list_phone_numbers_opted_out() == {"phoneNumbers": []}
    clock.at += DAY
    opt_out(sns.engine, sns.account, REGION, NUMBER)
    clock.at += 29 * DAY - 1
    assert refused(service.opt_in_phone_number, phoneNumber=NUMBER) == (
        "InvalidParameter",
        "Invalid parameter: PhoneNumber Reason: it was opted in less than 30 days ago",
        400,
    )
    assert service.check_if_phone_number_is_opted_out(phoneNumber=NUMBER) == {"isOptedOut": True}
    clock.at += 1
    service.opt_in_phone_number(phoneNumber=NUMBER)
    assert service.check_if_phone_number_is_opted_out(phoneNumber=NUMBER) == {"isOptedOut": False}
    other = SmsService(sns.engine, sns.account, "eu-west-1")
    opt_out(sns.engine, sns.account, "eu-west-1", NUMBER)
    assert other.check_if_phone_number_is_opted_out(phoneNumber=NUMBER) == {"isOptedOut": True}
    assert service.check_if_phone_number_is_opted_out(phoneNumber=NUMBER) == {"isOptedOut": False}


@pytest.mark.parametrize("number", ["15555550100", "+0555", "+1234567890123456", "+1555abc", ""])
def test_phone_numbers_must_be_e164(sns: Sns, number: str) -> None:
    service = _sms(sns)
    expected = ("InvalidParameter", "Invalid parameter: PhoneNumber Reason: input incorrectly formatted", 400)
    assert refused(service.check_if_phone_number_is_opted_out, phoneNumber=number) == expected
    assert refused(service.opt_in_phone_number, phoneNumber=number) == expected


def test_opted_out_numbers_are_listed_a_hundred_a_page(sns: Sns) -> None:
    numbers = [f"+1555000{i:04d}" for i in range(150)]
    for number in reversed(numbers):
        opt_out(sns.engine, sns.account, REGION, number)
    first = _sms(sns).list_phone_numbers_opted_out()
    assert first["phoneNumbers"] == numbers[:100]
    second = _sms(sns).list_phone_numbers_opted_out(nextToken=first["nextToken"])
    assert second == {"phoneNumbers": numbers[100:]}
    assert refused(_sms(sns).list_phone_numbers_opted_out, nextToken="!!") == (
        "InvalidParameter",
        "Invalid parameter: nextToken",
        400,
    )


def test_publish_to_a_number_is_kept_in_the_outbox(sns: Sns, clock: Clock) -> None:
    _sms(sns).set_sms_attributes(attributes={"DefaultSenderID": "Shop", "DefaultSMSType": "Transactional"})
    first = sns.publisher.publish(PhoneNumber="+1 555-555-0100", Message="Your code is 1234")
    clock.at += 10
    chosen = {
        "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": "Alerts"},
        "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Promotional"},
        "AWS.SNS.SMS.MaxPrice": {"DataType": "Number", "StringValue": "0.50"},
    }
    structured = json.dumps({"default": "for everyone", "sms": "for phones"})
    second = sns.publisher.publish(
        PhoneNumber=NUMBER, Message=structured, MessageStructure="json", MessageAttributes=chosen
    )
    assert _outbox(sns) == [
        {
            "PhoneNumber": NUMBER,
            "Message": "Your code is 1234",
            "SenderID": "Shop",
            "SMSType": "Transactional",
            "MaxPrice": None,
            "MessageId": first["MessageId"],
            "TopicArn": None,
            "Timestamp": clock.at - 10,
        },
        {
            "PhoneNumber": NUMBER,
            "Message": "for phones",
            "SenderID": "Alerts",
            "SMSType": "Promotional",
            "MaxPrice": "0.50",
            "MessageId": second["MessageId"],
            "TopicArn": None,
            "Timestamp": clock.at,
        },
    ]
    assert [s["MessageId"] for s in _outbox(sns, since=clock.at)] == [second["MessageId"]]
    assert sent_sms(sns.engine, sns.account, "eu-west-1") == []


def test_publish_to_a_number_is_checked(sns: Sns) -> None:
    publish = sns.publisher.publish
    assert refused(publish, PhoneNumber="5555550100", Message="m") == (
        "InvalidParameter",
        "Invalid parameter: PhoneNumber Reason: 5555550100 is not valid to publish to",
        400,
    )
    assert refused(publish, PhoneNumber=NUMBER, Message="m" * 1601)[1] == (
        "Invalid parameter: Message Reason: an SMS message is at most 1600 characters"
    )
    both = refused(publish, PhoneNumber=NUMBER, TopicArn=sns.topic(), Message="m")
    assert both[1] == "Invalid parameter: TopicArn, TargetArn or PhoneNumber Reason: only one of them may be specified"
    bad_type = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Urgent"}}
    assert refused(publish, PhoneNumber=NUMBER, Message="m", MessageAttributes=bad_type)[1] == (
        "Invalid parameter: MessageAttributes Reason: AWS.SNS.SMS.SMSType has an invalid value"
    )
    bad_sender = {"AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": "TooLongSender"}}
    assert refused(publish, PhoneNumber=NUMBER, Message="m", MessageAttributes=bad_sender)[0] == "InvalidParameter"
    sns.publisher.publish(PhoneNumber=NUMBER, Message="m" * 1600)
    assert [len(s["Message"]) for s in _outbox(sns)] == [1600]  # type: ignore[arg-type]


def test_an_opted_out_number_is_not_sent_to(sns: Sns) -> None:
    opt_out(sns.engine, sns.account, REGION, NUMBER)
    answer = sns.publisher.publish(PhoneNumber=NUMBER, Message="dropped")
    assert answer["MessageId"] and _outbox(sns) == []


def test_sms_subscriptions_are_confirmed_at_once_and_get_what_their_filter_lets_through(sns: Sns) -> None:
    topic = sns.topic()
    policy = json.dumps({"kind": ["alert"]})
    subscribed = sns.subscriptions.subscribe(
        TopicArn=topic, Protocol="sms", Endpoint="+1-555-555-0100", Attributes={"FilterPolicy": policy}
    )["SubscriptionArn"]
    assert subscribed.startswith(topic + ":")
    assert sns.subscriptions.subscribe(TopicArn=topic, Protocol="sms", Endpoint="+15555550199")
    shown = sns.subscriptions.get_subscription_attributes(SubscriptionArn=subscribed)["Attributes"]
    assert (shown["PendingConfirmation"], shown["Protocol"], shown["Endpoint"]) == ("false", "sms", "+1-555-555-0100")
    url, queue = sns.queue()
    sns.subscribe(topic, queue)
    opt_out(sns.engine, sns.account, REGION, "+15555550199")
    alert = {"kind": {"DataType": "String", "StringValue": "alert"}}
    kept = sns.publisher.publish(TopicArn=topic, Message="disk full", MessageAttributes=alert)
    sns.publisher.publish(TopicArn=topic, Message="all fine")
    outbox = _outbox(sns)
    assert [(s["PhoneNumber"], s["Message"], s["TopicArn"], s["MessageId"]) for s in outbox] == [
        (NUMBER, "disk full", topic, kept["MessageId"])
    ]
    assert outbox[0]["SMSType"] == "Promotional" and outbox[0]["SenderID"] is None
    assert len(sns.received(url)) == 2


def test_a_fifo_topic_takes_no_sms_subscription(sns: Sns) -> None:
    topic = sns.topic("jobs.fifo", Attributes={"FifoTopic": "true"})
    assert refused(sns.subscriptions.subscribe, TopicArn=topic, Protocol="sms", Endpoint=NUMBER) == (
        "InvalidParameter",
        "Invalid parameter: Endpoint Reason: FIFO SNS Topics currently only support FIFO SQS Queues as subscribers",
        400,
    )


def test_the_outbox_opt_outs_and_settings_outlive_the_process(tmp_path: Path) -> None:
    with Trailbridge(tmp_path) as tb:
        sns = Sns(tb.engine)
        _sms(sns).set_sms_attributes(attributes={"DefaultSenderID": "Shop"})
        opt_out(tb.engine, sns.account, REGION, "+15555550199")
        topic = sns.topic()
        sns.subscriptions.subscribe(TopicArn=topic, Protocol="sms", Endpoint=NUMBER)
        sns.publisher.publish(TopicArn=topic, Message="via topic")
        sns.publisher.publish(PhoneNumber="+15555550199", Message="dropped")
        sent = sent_sms(tb.engine, sns.account, REGION)
    with Trailbridge(tmp_path) as tb:
        again = Sns(tb.engine, sns.account)
        assert sent_sms(tb.engine, sns.account, REGION) == sent
        assert [(s["Message"], s["SenderID"]) for s in sent] == [("via topic", "Shop")]
        assert _sms(again).list_phone_numbers_opted_out() == {"phoneNumbers": ["+15555550199"]}
        assert _sms(again).get_sms_attributes() == {"attributes": {"DefaultSenderID": "Shop"}}
