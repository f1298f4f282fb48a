"""SNS deliveries through the durable delivery queue: HTTP/S endpoints (the confirmation handshake, AWS's
headers, signed or raw bodies, retries per delivery policy, dead-letter queues), functions subscribed as
`lambda`, and email through a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.conftest import wait_for
from tests.support.http import Endpoint
from tests.support.smtp import Mailbox, smtp_server, text_of
from tests.support.sns import Sns
from trailbridge.runtime import Trailbridge
from trailbridge.services.base import ServiceError
from trailbridge.settings import Settings

REGION = "us-east-1"
# SNS's retries, a thousand times faster: the HTTP/S default of 20 s apart becomes 20 ms
QUICK = {"retry_base_seconds": 0.01, "retry_max_seconds": 0.05, "http_timeout_seconds": 1.0, "sns_retry_scale": 0.001}
SIGNED = {
    "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn"],
    "SubscriptionConfirmation": ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn"],
}


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


@pytest.fixture
def tb(mailbox: Mailbox) -> Iterator[Trailbridge]:
    settings = Settings(**QUICK, smtp_url=mailbox.url)  # type: ignore[arg-type]
    with Trailbridge(None, settings) as instance:
        yield instance


@pytest.fixture
def sns(tb: Trailbridge) -> Sns:
    return Sns(tb.engine)


def verified(tb: Trailbridge, body: str) -> dict[str, Any]:
    """A JSON message whose signature is checked as AWS documents it, against the certificate the signer
    serves at its SigningCertURL."""
    message: dict[str, Any] = json.loads(body)
    signer = tb.engine.sns_signer
    assert signer is not None
    assert message["SigningCertURL"] == tb.settings.endpoint_url + signer.certificate_path(REGION)
    certificate = x509.load_pem_x509_certificate(signer.certificate_pem(REGION))
    names = [name for name in SIGNED[message["Type"]] if name != "Subject" or "Subject" in message]
    canonical = "".join(f"{name}\n{message[name]}\n" for name in [*names, "Type"]).encode()
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}[message["SignatureVersion"]]
    signature = base64.b64decode(message["Signature"])
    certificate.public_key().verify(signature, canonical, padding.PKCS1v15(), algorithm)  # type: ignore[union-attr]
    return message


def dead_lettered(sns: Sns, url: str) -> dict[str, Any]:
    """The first message that arrives on a queue (received, so hidden from the next receive)."""
    got: list[dict[str, Any]] = []
    wait_for(lambda: got.extend(sns.received(url)) or got)
    return got[0]


def confirmed_http(sns: Sns, endpoint: Endpoint, topic: str, path: str, **attributes: str) -> str:
    """An HTTP subscription confirmed with the token of the SubscriptionConfirmation its endpoint got."""
    pending = sns.subscriptions.subscribe(
        TopicArn=topic, Protocol="http", Endpoint=endpoint.url + path, Attributes=attributes
    )
    assert pending == {"SubscriptionArn": "pending confirmation"}
    wait_for(lambda: endpoint.received(path))
    token = json.loads(endpoint.received(path)[0]["body"])["Token"]
    arn = sns.subscriptions.confirm_subscription(TopicArn=topic, Token=token)["SubscriptionArn"]
    wait_for(lambda: sns.engine.router.deliveries.pending() == 0)  # no retry of the confirmation is under way
    return str(arn)


# -- HTTP/S ---------------------------------------------------------------------------------------


def test_an_http_subscription_is_confirmed_by_the_token_it_was_sent(
    tb: Trailbridge, sns: Sns, endpoint: Endpoint
) -> None:
    topic = sns.topic()
    sns.subscriptions.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url + "/ok")
    listed = sns.subscriptions.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [s["SubscriptionArn"] for s in listed] == ["PendingConfirmation"]
    wait_for(lambda: endpoint.received("/ok"))
    request = endpoint.received("/ok")[0]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert headers["x-amz-sns-topic-arn"] == topic
    assert headers["user-agent"] == "Amazon Simple Notification Service Agent"
    assert headers["content-type"] == "text/plain; charset=UTF-8"
    message = verified(tb, request["body"])
    assert headers["x-amz-sns-message-id"] == message["MessageId"]
    assert list(message) == [
        "Type",
        "MessageId",
        "Token",
        "TopicArn",
        "Message",
        "SubscribeURL",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
    ]
    assert message["SubscribeURL"] == (
        f"{tb.settings.endpoint_url}/?Action=ConfirmSubscription&TopicArn={topic}&Token={message['Token']}"
    )
    sns.publisher.publish(TopicArn=topic, Message="not yet")  # a pending subscription gets nothing
    arn = sns.subscriptions.confirm_subscription(TopicArn=topic, Token=message["Token"])["SubscriptionArn"]
    shown = sns.subscriptions.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert shown["PendingConfirmation"] == "false"
    sns.publisher.publish(TopicArn=topic, Message="now")
    wait_for(lambda: len(endpoint.received("/ok")) == 2)
    assert json.loads(endpoint.received("/ok")[1]["body"])["Message"] == "now"


def test_a_notification_is_posted_signed_with_awss_headers(tb: Trailbridge, sns: Sns, endpoint: Endpoint) -> None:
    topic = sns.topic(Attributes={"SignatureVersion": "2"})
    arn = confirmed_http(sns, endpoint, topic, "/ok")
    attributes = {
        "kind": {"DataType": "String", "StringValue": "a"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x01"},
    }
    answer = sns.publisher.publish(TopicArn=topic, Message="hello", Subject="Hi", MessageAttributes=attributes)
    wait_for(lambda: len(endpoint.received("/ok")) == 2)
    request = endpoint.received("/ok")[1]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["x-amz-sns-message-type"] == "Notification"
    assert headers["x-amz-sns-message-id"] == answer["MessageId"]
    assert headers["x-amz-sns-subscription-arn"] == arn
    assert "x-amz-sns-rawdelivery" not in headers
    message = verified(tb, request["body"])
    assert message["SignatureVersion"] == "2"
    assert message["UnsubscribeURL"] == f"{tb.settings.endpoint_url}/?Action=Unsubscribe&SubscriptionArn={arn}"
    assert message["MessageAttributes"] == {
        "kind": {"Type": "String", "Value": "a"},
        "b": {"Type": "Binary", "Value": "AQ=="},
    }
    assert (message["Subject"], message["Message"]) == ("Hi", "hello")
    assert request["body"].startswith('{\n  "Type" : "Notification",\n')


def test_raw_delivery_posts_the_message_itself(sns: Sns, endpoint: Endpoint) -> None:
    topic = sns.topic()
    confirmed_http(sns, endpoint, topic, "/ok", RawMessageDelivery="true")
    sns.publisher.publish(TopicArn=topic, Message='{"just": "this"}')
    wait_for(lambda: len(endpoint.received("/ok")) == 2)
    request = endpoint.received("/ok")[1]
    assert request["body"] == '{"just": "this"}'
    assert {k.lower(): v for k, v in request["headers"].items()}["x-amz-sns-rawdelivery"] == "true"


def test_the_delivery_policy_sets_the_content_type_and_a_message_structure_picks_the_protocols_text(
    sns: Sns, endpoint: Endpoint
) -> None:
    policy = {"requestPolicy": {"headerContentType": "application/json"}}
    topic = sns.topic()
    confirmed_http(sns, endpoint, topic, "/ok", DeliveryPolicy=json.dumps(policy))
    message = json.dumps({"default": "d", "http": "for http", "https": "for https"})
    sns.publisher.publish(TopicArn=topic, Message=message, MessageStructure="json")
    wait_for(lambda: len(endpoint.received("/ok")) == 2)
    request = endpoint.received("/ok")[1]
    assert {k.lower(): v for k, v in request["headers"].items()}["content-type"] == "application/json"
    assert json.loads(request["body"])["Message"] == "for http"


def test_filter_policies_choose_the_http_deliveries(sns: Sns, endpoint: Endpoint) -> None:
    topic = sns.topic()
    confirmed_http(sns, endpoint, topic, "/ok", FilterPolicy=json.dumps({"kind": ["a"]}))
    for kind in ("b", "a"):
        attributes = {"kind": {"DataType": "String", "StringValue": kind}}
        sns.publisher.publish(TopicArn=topic, Message=kind, MessageAttributes=attributes)
    wait_for(lambda: len(endpoint.received("/ok")) == 2)
    assert [json.loads(r["body"])["Message"] for r in endpoint.received("/ok")[1:]] == ["a"]


def test_a_failing_endpoint_is_retried_as_the_delivery_policy_says(sns: Sns, endpoint: Endpoint) -> None:
    topic = sns.topic()
    policy = {"healthyRetryPolicy": {"numRetries": 4, "minDelayTarget": 1, "maxDelayTarget": 1}}
    confirmed_http(sns, endpoint, topic, "/flaky/3", DeliveryPolicy=json.dumps(policy))
    endpoint.recorder.hits["/flaky/3"] = 0  # the next 3 requests answer 503
    sns.publisher.publish(TopicArn=topic, Message="eventually")

    def tries() -> list[dict[str, Any]]:
        bodies = [json.loads(r["body"]) for r in endpoint.received("/flaky/3")]
        return [b for b in bodies if b["Type"] == "Notification"]

    wait_for(lambda: len(tries()) == 4)  # 3 answered 503, the 4th 200
    assert {body["Message"] for body in tries()} == {"eventually"}
    with pytest.raises(AssertionError):
        wait_for(lambda: len(tries()) > 4, timeout=0.3)


def test_retries_run_out_into_the_dead_letter_queue(tb: Trailbridge, sns: Sns, endpoint: Endpoint) -> None:
    topic = sns.topic()
    dlq_url, dlq_arn = sns.queue("dead")
    policy = {"healthyRetryPolicy": {"numRetries": 2, "minDelayTarget": 1, "maxDelayTarget": 1}}
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn})
    arn = confirmed_http(sns, endpoint, topic, "/flaky/1", DeliveryPolicy=json.dumps(policy))
    sns.subscriptions.set_subscription_attributes(
        SubscriptionArn=arn, AttributeName="RedrivePolicy", AttributeValue=redrive
    )
    endpoint.recorder.hits["/flaky/1"] = -100  # from now on the endpoint answers 503
    sns.publisher.publish(TopicArn=topic, Message="lost")
    body = dead_lettered(sns, dlq_url)["Body"]
    tries = [r for r in endpoint.received("/flaky/1") if json.loads(r["body"])["Type"] == "Notification"]
    assert len(tries) == 3  # a try and 2 retries (the confirmation, answered 503 once, was retried too)
    assert verified(tb, body)["Message"] == "lost"
    assert tb.metrics.get("NumberOfNotificationsRedrivenToDlq", topic, arn) == 1


def test_an_endpoint_that_refuses_is_not_retried(tb: Trailbridge, sns: Sns, endpoint: Endpoint) -> None:
    topic = sns.topic()
    dlq_url, dlq_arn = sns.queue("refused")
    pending = sns.subscriptions.subscribe(
        TopicArn=topic, Protocol="http", Endpoint=endpoint.url + "/bad", ReturnSubscriptionArn=True
    )
    wait_for(lambda: endpoint.received("/bad"))
    token = json.loads(endpoint.received("/bad")[0]["body"])["Token"]  # its 400 does not stop a confirmation
    sns.subscriptions.confirm_subscription(TopicArn=topic, Token=token)
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn})
    sns.subscriptions.set_subscription_attributes(
        SubscriptionArn=pending["SubscriptionArn"], AttributeName="RedrivePolicy", AttributeValue=redrive
    )
    sns.publisher.publish(
        TopicArn=topic, Message="no", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}}
    )
    assert json.loads(dead_lettered(sns, dlq_url)["Body"])["Message"] == "no"
    assert len(endpoint.received("/bad")) == 2


def test_raw_messages_keep_their_attributes_in_the_dead_letter_queue(sns: Sns, endpoint: Endpoint) -> None:
    topic = sns.topic()
    dlq_url, dlq_arn = sns.queue("raw-dead")
    arn = confirmed_http(sns, endpoint, topic, "/ok", RawMessageDelivery="true")
    given = {
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn}),
        "DeliveryPolicy": json.dumps({"healthyRetryPolicy": {"numRetries": 0}}),
    }
    for name, value in given.items():
        sns.subscriptions.set_subscription_attributes(SubscriptionArn=arn, AttributeName=name, AttributeValue=value)
    endpoint.close()  # nothing listens any more: the connection fails
    attributes = {"n": {"DataType": "Number", "StringValue": "7"}}
    sns.publisher.publish(TopicArn=topic, Message="raw", MessageAttributes=attributes)
    received = dead_lettered(sns, dlq_url)
    assert (received["Body"], received["MessageAttributes"]) == ("raw", attributes)


def test_an_unsubscribed_endpoint_gets_nothing_more(sns: Sns, endpoint: Endpoint) -> None:
    topic = sns.topic()
    arn = confirmed_http(sns, endpoint, topic, "/ok")
    sns.subscriptions.unsubscribe(SubscriptionArn=arn)
    sns.publisher.publish(TopicArn=topic, Message="gone")
    sns.publisher.publish(TopicArn=sns.topic("other"), Message="elsewhere")
    with pytest.raises(AssertionError):
        wait_for(lambda: len(endpoint.received("/ok")) > 1, timeout=0.5)


def test_the_topics_policy_applies_unless_overrides_are_allowed(sns: Sns, endpoint: Endpoint) -> None:
    topic_policy = {
        "http": {
            "defaultHealthyRetryPolicy": {"numRetries": 1, "minDelayTarget": 1, "maxDelayTarget": 1},
            "disableSubscriptionOverrides": True,
        }
    }
    topic = sns.topic(Attributes={"DeliveryPolicy": json.dumps(topic_policy)})
    own = {"healthyRetryPolicy": {"numRetries": 5, "minDelayTarget": 1, "maxDelayTarget": 1}}
    confirmed_http(sns, endpoint, topic, "/flaky/1", DeliveryPolicy=json.dumps(own))
    endpoint.recorder.hits["/flaky/1"] = -100

    def tries() -> int:
        return sum(json.loads(r["body"])["Type"] == "Notification" for r in endpoint.received("/flaky/1"))

    sns.publisher.publish(TopicArn=topic, Message="twice")
    wait_for(lambda: tries() == 2)  # a try and the topic's 1 retry
    with pytest.raises(AssertionError):
        wait_for(lambda: tries() > 2, timeout=0.3)


# -- lambda ---------------------------------------------------------------------------------------


def test_a_function_gets_snss_event(tb: Trailbridge, sns: Sns) -> None:
    got: list[dict[str, Any]] = []
    tb.functions.register("on-order", got.append)
    topic = sns.topic()
    function = f"arn:aws:lambda:{REGION}:{sns.account}:function:on-order"
    arn = sns.subscriptions.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function)["SubscriptionArn"]
    assert arn.startswith(topic + ":")  # confirmed at once
    answer = sns.publisher.publish(
        TopicArn=topic, Message="m", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}}
    )
    wait_for(lambda: got)
    record = got[0]["Records"][0]
    assert (record["EventSource"], record["EventVersion"], record["EventSubscriptionArn"]) == ("aws:sns", "1.0", arn)
    event = record["Sns"]
    assert list(event) == [
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertUrl",
        "UnsubscribeUrl",
        "MessageAttributes",
    ]
    assert (event["MessageId"], event["Subject"], event["Message"]) == (answer["MessageId"], None, "m")
    assert event["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}


def test_a_function_that_raises_is_retried_twice_then_dead_lettered(tb: Trailbridge, sns: Sns) -> None:
    calls: list[Any] = []

    def failing(event: Any) -> None:
        calls.append(event)
        raise RuntimeError("boom")

    tb.functions.register("failing", failing)
    dlq_url, dlq_arn = sns.queue("fn-dead")
    topic = sns.topic()
    function = f"arn:aws:lambda:{REGION}:{sns.account}:function:failing"
    attributes = {"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})}
    sns.subscriptions.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function, Attributes=attributes)
    sns.publisher.publish(TopicArn=topic, Message="m")
    assert json.loads(dead_lettered(sns, dlq_url)["Body"])["Message"] == "m"
    assert len(calls) == 3


# -- email ----------------------------------------------------------------------------------------


def test_email_asks_for_confirmation_then_delivers_with_the_unsubscribe_link(
    tb: Trailbridge, sns: Sns, mailbox: Mailbox
) -> None:
    box = mailbox
    topic = sns.topic(Attributes={"DisplayName": "Orders"})
    sns.subscriptions.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
    wait_for(lambda: box.messages)
    asked = box.messages[0]
    assert asked["Subject"] == "AWS Notification - Subscription Confirmation"
    assert asked["From"] == "Orders <no-reply@sns.amazonaws.com>"
    assert box.recipients[0] == ["ops@example.com"]
    text = text_of(asked)
    assert topic in text
    link = next(line for line in text.splitlines() if "Action=ConfirmSubscription" in line)
    token = link.rsplit("Token=", 1)[1]
    arn = sns.subscriptions.confirm_subscription(TopicArn=topic, Token=token)["SubscriptionArn"]
    sns.publisher.publish(TopicArn=topic, Message="an order", Subject="New order")
    wait_for(lambda: len(box.messages) == 2)
    told = box.messages[1]
    assert told["Subject"] == "New order"
    body = text_of(told)
    assert body.startswith("an order\n\n--\n")
    assert f"/?Action=Unsubscribe&SubscriptionArn={arn}" in body


def test_email_json_gets_the_signed_notification(tb: Trailbridge, sns: Sns, mailbox: Mailbox) -> None:
    box = mailbox
    topic = sns.topic()
    sns.subscriptions.subscribe(TopicArn=topic, Protocol="email-json", Endpoint="bot@example.com")
    wait_for(lambda: box.messages)
    confirmation = verified(tb, text_of(box.messages[0]))
    sns.subscriptions.confirm_subscription(TopicArn=topic, Token=confirmation["Token"])
    sns.publisher.publish(TopicArn=topic, Message="json please")
    wait_for(lambda: len(box.messages) == 2)
    assert box.messages[1]["Subject"] == "AWS Notification Message"
    assert verified(tb, text_of(box.messages[1]))["Message"] == "json please"


def test_without_an_smtp_server_email_subscriptions_are_refused() -> None:
    with Trailbridge(None, Settings(**QUICK)) as tb:  # type: ignore[arg-type]
        sns = Sns(tb.engine)
        with pytest.raises(ServiceError) as caught:
            sns.subscriptions.subscribe(TopicArn=sns.topic(), Protocol="email", Endpoint="a@b.c")
    assert (caught.value.code, caught.value.status) == ("NotImplemented", 501)
    assert "smtp_url" in caught.value.message


# -- durability -----------------------------------------------------------------------------------


def test_a_queued_delivery_survives_a_restart(tmp_path: Path, endpoint: Endpoint) -> None:
    settings = Settings(**QUICK)  # type: ignore[arg-type]
    with Trailbridge(tmp_path, settings) as tb:
        sns = Sns(tb.engine, "123456789012")
        topic = sns.topic()
        arn = confirmed_http(sns, endpoint, topic, "/ok")
    tb = Trailbridge(tmp_path, settings)  # not started: the publish is only queued
    try:
        Sns(tb.engine, "123456789012").publisher.publish(TopicArn=topic, Message="kept")
        assert tb.pending_deliveries() == 1
    finally:
        tb.close()
    with Trailbridge(tmp_path, settings) as again:
        wait_for(lambda: len(endpoint.received("/ok")) == 2)
        wait_for(lambda: again.pending_deliveries() == 0)
    delivered = json.loads(endpoint.received("/ok")[1]["body"])
    assert (delivered["Message"], delivered["UnsubscribeURL"].rsplit("=", 1)[1]) == ("kept", arn)
