"""SNS's SMS through the service classes: the account's SMS attributes, opt-out and opt-in (AWS's 30-day rule
on an injected clock), Publish to a phone number and to a topic's `sms` subscriptions (filter policy
included) landing in the outbox `sent_sms` lists, an opted-out number dropped, and all of it after a
SQLite-backed trailbridge is reopened. The SMS sandbox: numbers added as Pending with a one-time password
texted to the outbox, verified by it, listed a page at a time, deleted, AWS's limits and errors; the account
not in a sandbox (Publish to an unverified number sent); no origination number; and all of it over the wire."""

from __future__ import annotations

import json
import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import FAST
from tests.support.asgi import Answer, AsgiClient, asgi_client
from tests.support.sns import REGION, Clock, Sns, clock_fixture, engine_fixture, refused, signed, sns_fixture  # noqa: F401 (fixtures)
from trailbridge.runtime import Trailbridge
from trailbridge.services.base import Engine, ServiceError
from trailbridge.services.sns import SmsService
from trailbridge.services.sns.sms import opt_out, sent_sms

DAY = 24 * 3600.0
NUMBER = "+15555550100"


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


# The SMS sandbox.

_OTP = re.compile(r"Your verification code is ([0-9]{6})")


def _password(sns: Sns, number: str = NUMBER, region: str = REGION) -> str:
    """The one-time password last texted to `number`, read from the outbox as its owner reads their phone."""
    texts = [s for s in sent_sms(sns.engine, sns.account, region) if s["PhoneNumber"] == number]
    found = _OTP.fullmatch(str(texts[-1]["Message"]))
    assert found is not None, texts[-1]
    return found.group(1)


def _numbers(service: SmsService, **params: Any) -> list[tuple[str, str]]:
    answer = service.list_sms_sandbox_phone_numbers(**params)
    return [(n["PhoneNumber"], n["Status"]) for n in answer["PhoneNumbers"]]


def _wrong(password: str) -> str:
    return f"{(int(password) + 1) % 1_000_000:06d}"


def test_the_account_is_not_in_a_sandbox_and_publishes_to_unverified_numbers(sns: Sns) -> None:
    assert _sms(sns).get_sms_sandbox_account_status() == {"IsInSandbox": False}
    assert _numbers(_sms(sns)) == []
    answer = sns.publisher.publish(PhoneNumber=NUMBER, Message="no sandbox here")
    assert [(s["PhoneNumber"], s["MessageId"]) for s in _outbox(sns)] == [(NUMBER, answer["MessageId"])]


def test_a_sandbox_number_is_pending_until_its_texted_password_verifies_it(sns: Sns, clock: Clock) -> None:
    service = _sms(sns)
    service.set_sms_attributes(attributes={"DefaultSenderID": "Shop", "DefaultSMSType": "Promotional"})
    assert service.create_sms_sandbox_phone_number(PhoneNumber=NUMBER, LanguageCode="de-DE") == {}
    assert _numbers(service) == [(NUMBER, "Pending")]
    (text,) = _outbox(sns)
    password = _password(sns)
    assert text == {
        "PhoneNumber": NUMBER,
        "Message": f"Your verification code is {password}",
        "SenderID": "Shop",
        "SMSType": "Transactional",
        "MaxPrice": None,
        "MessageId": text["MessageId"],
        "TopicArn": None,
        "Timestamp": clock.at,
    }
    assert text["MessageId"]
    wrong = refused(service.verify_sms_sandbox_phone_number, PhoneNumber=NUMBER, OneTimePassword=_wrong(password))
    assert wrong == ("VerificationException", "The one-time password is not valid", 400)
    assert _numbers(service) == [(NUMBER, "Pending")]
    assert service.verify_sms_sandbox_phone_number(PhoneNumber=NUMBER, OneTimePassword=password) == {}
    assert _numbers(service) == [(NUMBER, "Verified")]
    assert service.verify_sms_sandbox_phone_number(PhoneNumber=NUMBER, OneTimePassword=password) == {}
    assert refused(service.create_sms_sandbox_phone_number, PhoneNumber=NUMBER) == (
        "UserError",
        "The phone number is already verified in the SMS sandbox",
        400,
    )
    assert len(_outbox(sns)) == 1  # nothing texted for the refused call
    assert _numbers(SmsService(sns.engine, sns.account, "eu-west-1")) == []
    assert _numbers(SmsService(sns.engine, "499999999999", REGION)) == []


def test_a_wrong_password_answers_its_status_as_a_member(sns: Sns) -> None:
    _sms(sns).create_sms_sandbox_phone_number(PhoneNumber=NUMBER)
    with pytest.raises(ServiceError) as caught:
        _sms(sns).verify_sms_sandbox_phone_number(PhoneNumber=NUMBER, OneTimePassword=_wrong(_password(sns)))
    assert caught.value.fields == {"Status": "Pending"}


def test_the_password_comes_from_the_secure_source(sns: Sns, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []

    def chosen(below: int) -> int:
        asked.append(below)
        return 42

    monkeypatch.setattr(secrets, "randbelow", chosen)
    _sms(sns).create_sms_sandbox_phone_number(PhoneNumber=NUMBER)
    assert (asked, _password(sns)) == ([1_000_000], "000042")


def test_creating_a_pending_number_again_texts_a_new_password_five_times_a_day(sns: Sns, clock: Clock) -> None:
    service = _sms(sns)
    service.create_sms_sandbox_phone_number(PhoneNumber=NUMBER)
    first = _password(sns)
    passwords = [first]
    while passwords[-1] == first:  # a new password that happens to equal the first one would prove nothing
        clock.at += 60
        service.create_sms_sandbox_phone_number(PhoneNumber=NUMBER)
        passwords.append(_password(sns))
        assert len(passwords) <= 5
    assert _numbers(service) == [(NUMBER, "Pending")]
    old = refused(service.verify_sms_sandbox_phone_number, PhoneNumber=NUMBER, OneTimePassword=first)
    assert old[0] == "VerificationException"
    for _ in range(5 - len(passwords)):
        clock.at += 60
        service.create_sms_sandbox_phone_number(PhoneNumber=NUMBER)
    assert len(_outbox(sns)) == 5
    assert refused(service.create_sms_sandbox_phone_number, PhoneNumber=NUMBER) == (
        "UserError",
        "A one-time password is sent to a phone number at most 5 times in 24 hours",
        400,
    )
    assert len(_outbox(sns)) == 5
    clock.at = 1_700_000_000.0 + DAY  # the first send is 24 hours old
    service.create_sms_sandbox_phone_number(PhoneNumber=NUMBER)
    last = _password(sns)
    assert len(_outbox(sns)) == 6
    service.verify_sms_sandbox_phone_number(PhoneNumber=NUMBER, OneTimePassword=last)
    assert _numbers(service) == [(NUMBER, "Verified")]


def test_the_sandbox_holds_ten_numbers_an_account_and_region(sns: Sns) -> None:
    service = _sms(sns)
    numbers = [f"+1555000{i:04d}" for i in range(11)]
    for number in numbers[:10]:
        service.create_sms_sandbox_phone_number(PhoneNumber=number)
    service.verify_sms_sandbox_phone_number(PhoneNumber=numbers[0], OneTimePassword=_password(sns, numbers[0]))
    assert refused(service.create_sms_sandbox_phone_number, PhoneNumber=numbers[10]) == (
        "UserError",
        "The SMS sandbox holds at most 10 destination phone numbers",
        400,
    )
    service.create_sms_sandbox_phone_number(PhoneNumber=numbers[9])  # a resend adds no number
    SmsService(sns.engine, sns.account, "eu-west-1").create_sms_sandbox_phone_number(PhoneNumber=numbers[10])
    service.delete_sms_sandbox_phone_number(PhoneNumber=numbers[0])  # a verified one goes at once
    service.create_sms_sandbox_phone_number(PhoneNumber=numbers[10])
    assert [n for n, _ in _numbers(service)] == numbers[1:]


def test_unknown_sandbox_numbers_are_not_found_and_deleted_ones_are_gone(sns: Sns) -> None:
    service = _sms(sns)
    missing = ("ResourceNotFound", "The phone number is not a destination number of the SMS sandbox", 404)
    assert refused(service.verify_sms_sandbox_phone_number, PhoneNumber=NUMBER, OneTimePassword="123456") == missing
    assert refused(service.delete_sms_sandbox_phone_number, PhoneNumber=NUMBER) == missing
    service.create_sms_sandbox_phone_number(PhoneNumber=NUMBER)
    password = _password(sns)
    assert service.delete_sms_sandbox_phone_number(PhoneNumber=NUMBER) == {}
    assert _numbers(service) == []
    assert refused(service.verify_sms_sandbox_phone_number, PhoneNumber=NUMBER, OneTimePassword=password) == missing
    assert refused(service.delete_sms_sandbox_phone_number, PhoneNumber=NUMBER) == missing
    other = SmsService(sns.engine, sns.account, "eu-west-1")
    service.create_sms_sandbox_phone_number(PhoneNumber=NUMBER)
    assert refused(other.delete_sms_sandbox_phone_number, PhoneNumber=NUMBER) == missing


def test_sandbox_parameters_are_checked(sns: Sns) -> None:
    service = _sms(sns)
    create, verify = service.create_sms_sandbox_phone_number, service.verify_sms_sandbox_phone_number
    assert refused(create, PhoneNumber="+0123456789") == (
        "InvalidParameter",
        "Invalid parameter: PhoneNumber Reason: input incorrectly formatted",
        400,
    )
    assert refused(create, PhoneNumber="+1234567890123456")[0] == "InvalidParameter"  # 16 digits
    assert refused(create, PhoneNumber="5550100")[0] == "InvalidParameter"
    assert refused(create, PhoneNumber="15555550100") == (
        "ValidationError",
        "1 validation error detected: Value '15555550100' at 'phoneNumber' failed to satisfy constraint: "
        r"Member must satisfy regular expression pattern: ^(\+[0-9]{8,}|[0-9]{0,9})$",
        400,
    )
    code, message, _ = refused(create, PhoneNumber=NUMBER, LanguageCode="en-AU")
    assert code == "ValidationError"
    assert "Value 'en-AU' at 'languageCode' failed to satisfy constraint: Member must satisfy enum value set" in message
    create(PhoneNumber=NUMBER)
    for password in ("1234", "123456789", "12345a"):
        assert refused(verify, PhoneNumber=NUMBER, OneTimePassword=password)[0] == "ValidationError"
    assert _numbers(service) == [(NUMBER, "Pending")]


# LanguageCode's values, as AWS's API reference lists them.
LANGUAGES = (
    "en-US",
    "en-GB",
    "es-419",
    "es-ES",
    "de-DE",
    "fr-CA",
    "fr-FR",
    "it-IT",
    "ja-JP",
    "pt-BR",
    "kr-KR",
    "zh-CN",
    "zh-TW",
)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_aws_names_is_taken(sns: Sns, language: str) -> None:
    _sms(sns).create_sms_sandbox_phone_number(PhoneNumber=NUMBER, LanguageCode=language)
    assert _OTP.fullmatch(str(_outbox(sns)[-1]["Message"]))


def test_an_opted_out_number_cannot_join_the_sandbox(sns: Sns) -> None:
    opt_out(sns.engine, sns.account, REGION, NUMBER)
    assert refused(_sms(sns).create_sms_sandbox_phone_number, PhoneNumber=NUMBER) == (
        "OptedOut",
        "The phone number has opted out of receiving SMS from this account",
        400,
    )
    assert _numbers(_sms(sns)) == [] and _outbox(sns) == []


def test_sandbox_numbers_are_listed_max_results_a_page(sns: Sns) -> None:
    service = _sms(sns)
    numbers = [f"+1555000{i:04d}" for i in range(10)]
    for number in reversed(numbers):
        service.create_sms_sandbox_phone_number(PhoneNumber=number)
    first = service.list_sms_sandbox_phone_numbers(MaxResults=4)
    assert [n["PhoneNumber"] for n in first["PhoneNumbers"]] == numbers[:4]
    second = service.list_sms_sandbox_phone_numbers(MaxResults=4, NextToken=first["NextToken"])
    assert [n["PhoneNumber"] for n in second["PhoneNumbers"]] == numbers[4:8]
    third = service.list_sms_sandbox_phone_numbers(MaxResults=4, NextToken=second["NextToken"])
    assert [n["PhoneNumber"] for n in third["PhoneNumbers"]] == numbers[8:] and "NextToken" not in third
    assert _numbers(service, MaxResults=100) == [(n, "Pending") for n in numbers]
    assert "NextToken" not in service.list_sms_sandbox_phone_numbers()
    for most in (0, 101):
        refusal = refused(service.list_sms_sandbox_phone_numbers, MaxResults=most)
        assert refusal[0] == "ValidationError" and "at 'maxResults'" in refusal[1]
    assert refused(service.list_sms_sandbox_phone_numbers, NextToken="!!") == (
        "InvalidParameter",
        "Invalid parameter: NextToken",
        400,
    )


def test_no_origination_number_is_provisioned(sns: Sns) -> None:
    service = _sms(sns)
    assert service.list_origination_numbers() == {"PhoneNumbers": []}
    assert service.list_origination_numbers(MaxResults=1) == {"PhoneNumbers": []}
    assert service.list_origination_numbers(MaxResults=30) == {"PhoneNumbers": []}
    for most in (0, 31):
        assert refused(service.list_origination_numbers, MaxResults=most) == (
            "ValidationError",
            f"1 validation error detected: Value '{most}' at 'maxResults' failed to satisfy constraint: "
            f"Member must have value {'greater' if most == 0 else 'less'} than or equal to {1 if most == 0 else 30}",
            400,
        )
    assert refused(service.list_origination_numbers, NextToken="!!") == (
        "InvalidParameter",
        "Invalid parameter: NextToken",
        400,
    )


def test_the_sandbox_outlives_the_process(tmp_path: Path) -> None:
    with Trailbridge(tmp_path) as tb:
        sns = Sns(tb.engine)
        _sms(sns).create_sms_sandbox_phone_number(PhoneNumber=NUMBER)
        _sms(sns).create_sms_sandbox_phone_number(PhoneNumber="+15555550199")
        password = _password(sns, "+15555550199")
        _sms(sns).verify_sms_sandbox_phone_number(PhoneNumber="+15555550199", OneTimePassword=password)
        pending = _password(sns, NUMBER)
    with Trailbridge(tmp_path) as tb:
        again = Sns(tb.engine, sns.account)
        assert _numbers(_sms(again)) == [(NUMBER, "Pending"), ("+15555550199", "Verified")]
        _sms(again).verify_sms_sandbox_phone_number(PhoneNumber=NUMBER, OneTimePassword=pending)
        assert _numbers(_sms(again)) == [(NUMBER, "Verified"), ("+15555550199", "Verified")]


# The sandbox over the wire (the query protocol), through the server's routing.

_FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
_NS = {"sns": "http://sns.amazonaws.com/doc/2010-03-31/"}


@pytest.fixture
def served() -> Iterator[tuple[AsgiClient, Engine]]:
    with Trailbridge(None, FAST) as tb, asgi_client(tb) as client:
        yield client, tb.engine


def _call(client: AsgiClient, action: str, **params: str) -> Answer:
    body = urlencode({"Action": action, "Version": "2010-03-31", **params}).encode()
    return client.post("/", "", _FORM, body)


def _texts(answer: Answer, path: str) -> list[str | None]:
    return [found.text for found in ET.fromstring(answer.body).iterfind(path, _NS)]


def test_the_sandbox_calls_are_served_over_the_wire(served: tuple[AsgiClient, Engine]) -> None:
    client, engine = served
    account = engine.settings.default_account
    status = _call(client, "GetSMSSandboxAccountStatus")
    assert status.status == 200 and _texts(status, ".//sns:IsInSandbox") == ["false"]
    created = _call(client, "CreateSMSSandboxPhoneNumber", PhoneNumber=NUMBER, LanguageCode="en-GB")
    assert created.status == 200 and b"CreateSMSSandboxPhoneNumberResult" in created.body, created.body
    found = _OTP.fullmatch(str(sent_sms(engine, account, REGION)[-1]["Message"]))
    assert found is not None
    listed = _call(client, "ListSMSSandboxPhoneNumbers")
    assert _texts(listed, ".//sns:PhoneNumbers/sns:member/sns:PhoneNumber") == [NUMBER]
    assert _texts(listed, ".//sns:PhoneNumbers/sns:member/sns:Status") == ["Pending"]
    wrong = _call(client, "VerifySMSSandboxPhoneNumber", PhoneNumber=NUMBER, OneTimePassword=_wrong(found.group(1)))
    assert wrong.status == 400
    assert _texts(wrong, ".//sns:Error/sns:Code") == ["VerificationException"]
    assert _texts(wrong, ".//sns:Error/sns:Message") == ["The one-time password is not valid"]
    verified = _call(client, "VerifySMSSandboxPhoneNumber", PhoneNumber=NUMBER, OneTimePassword=found.group(1))
    assert verified.status == 200, verified.body
    listed = _call(client, "ListSMSSandboxPhoneNumbers", MaxResults="1")
    assert _texts(listed, ".//sns:PhoneNumbers/sns:member/sns:Status") == ["Verified"]
    assert _call(client, "DeleteSMSSandboxPhoneNumber", PhoneNumber=NUMBER).status == 200
    gone = _call(client, "DeleteSMSSandboxPhoneNumber", PhoneNumber=NUMBER)
    assert (gone.status, _texts(gone, ".//sns:Error/sns:Code")) == (404, ["ResourceNotFound"])
    origination = _call(client, "ListOriginationNumbers", MaxResults="30")
    assert origination.status == 200 and b"ListOriginationNumbersResult" in origination.body, origination.body
    assert _texts(origination, ".//sns:PhoneNumbers/sns:member") == []
    too_many = _call(client, "ListOriginationNumbers", MaxResults="31")
    assert (too_many.status, _texts(too_many, ".//sns:Error/sns:Code")) == (400, ["ValidationError"])
