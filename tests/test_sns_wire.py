"""SNS over the wire (the query protocol) through trailbridge's ASGI application: the server routes SNS to
trailbridge's own service, Publish reaches a built-in queue, errors are SNS's XML, and an SNS operation
trailbridge does not serve answers 501."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import pytest

from tests.conftest import FAST
from tests.support.asgi import Answer, AsgiClient, asgi_client
from tests.support.sns import signed
from trailbridge.runtime import Trailbridge
from trailbridge.services.base import Engine
from trailbridge.services.sqs import QueuesService

_FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
_NS = {"sns": "http://sns.amazonaws.com/doc/2010-03-31/"}
_SNS_MAY_SEND = {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage"}


@pytest.fixture
def served() -> Iterator[tuple[AsgiClient, Engine]]:
    """A client of the application, and the engine behind it for what a test does beside the wire."""
    with Trailbridge(None, FAST) as tb:
        tb.engine = signed(tb)  # the signer the composition root is to give the engine
        with asgi_client(tb) as client:
            yield client, tb.engine


@pytest.fixture
def client(served: tuple[AsgiClient, Engine]) -> AsgiClient:
    return served[0]


def sns(client: AsgiClient, action: str, **params: str) -> Answer:
    body = urlencode({"Action": action, "Version": "2010-03-31", **params}).encode()
    return client.post("/", "", _FORM, body)


def text(answer: Answer, path: str) -> str:
    found = ET.fromstring(answer.body).find(path, _NS)
    assert found is not None and found.text is not None, answer.body
    return found.text


def test_publish_over_the_wire_reaches_the_queue(client: AsgiClient) -> None:
    created = sns(client, "CreateTopic", Name="orders")
    assert created.status == 200, created.body
    topic = text(created, ".//sns:TopicArn")
    assert client.call("sqs", "CreateQueue", {"QueueName": "inbox"}).status == 200
    queue = topic.replace(":sns:", ":sqs:").replace(":orders", ":inbox")
    subscribed = sns(client, "Subscribe", TopicArn=topic, Protocol="sqs", Endpoint=queue)
    assert text(subscribed, ".//sns:SubscriptionArn").startswith(topic + ":")
    attributes = {"MessageAttributes.entry.1.Name": "kind", "MessageAttributes.entry.1.Value.DataType": "String"}
    attributes["MessageAttributes.entry.1.Value.StringValue"] = "order"
    published = sns(client, "Publish", TopicArn=topic, Message="hello", **attributes)
    message_id = text(published, ".//sns:MessageId")
    url = client.call("sqs", "GetQueueUrl", {"QueueName": "inbox"}).json()["QueueUrl"]
    (received,) = client.call("sqs", "ReceiveMessage", {"QueueUrl": url}).json()["Messages"]
    body = json.loads(received["Body"])
    assert (body["MessageId"], body["Message"], body["TopicArn"]) == (message_id, "hello", topic)
    assert body["MessageAttributes"] == {"kind": {"Type": "String", "Value": "order"}}


def test_errors_are_sns_errors(client: AsgiClient) -> None:
    missing = sns(client, "GetTopicAttributes", TopicArn="arn:aws:sns:us-east-1:123456789012:none")
    assert missing.status == 404
    assert (text(missing, ".//sns:Code"), text(missing, ".//sns:Message")) == ("NotFound", "Topic does not exist")
    assert text(missing, ".//sns:Type") == "Sender"
    malformed = sns(client, "GetTopicAttributes", TopicArn="test-topic")
    assert (malformed.status, text(malformed, ".//sns:Code")) == (400, "InvalidParameter")
    unserved = sns(client, "GetDataProtectionPolicy", ResourceArn="arn:aws:sns:us-east-1:123456789012:none")
    assert (unserved.status, text(unserved, ".//sns:Code")) == (501, "NotImplemented")


def test_the_subscribe_url_of_a_confirmation_confirms_by_get(served: tuple[AsgiClient, Engine]) -> None:
    """What a queue's owner in another account does with the SubscriptionConfirmation SNS sent it."""
    client, tb_engine = served
    owner = sns(client, "CreateTopic", Name="shared")
    topic = text(owner, ".//sns:TopicArn")
    other = "210987654321"
    queue = f"arn:aws:sqs:us-east-1:{other}:theirs"
    QueuesService(tb_engine, other, "us-east-1").create_queue(
        QueueName="theirs",
        Attributes={"Policy": json.dumps({"Statement": [_SNS_MAY_SEND | {"Resource": queue}]})},
    )
    subscribed = sns(client, "Subscribe", TopicArn=topic, Protocol="sqs", Endpoint=queue)
    assert text(subscribed, ".//sns:SubscriptionArn") == "pending confirmation"
    url = f"{tb_engine.settings.endpoint_url}/{other}/theirs"
    (asked,) = QueuesService(tb_engine, other, "us-east-1").receive_message(QueueUrl=url)["Messages"]
    link = urlsplit(json.loads(asked["Body"])["SubscribeURL"])
    confirmed = client.post(link.path or "/", link.query, {}, b"", "GET")
    assert confirmed.status == 200 and text(confirmed, ".//sns:SubscriptionArn").startswith(topic + ":")
    listed = sns(client, "ListSubscriptionsByTopic", TopicArn=topic)
    assert text(listed, ".//sns:SubscriptionArn").startswith(topic + ":")
