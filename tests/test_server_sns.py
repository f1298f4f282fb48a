"""SNS through `trailbridge serve`: a topic's notification, delivered to an SQS subscription, carries a signature
that verifies, as AWS documents the check, against the certificate its SigningCertURL serves."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
import urllib3
from botocore.config import Config
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.conftest import wait_for
from tests.support.http import Endpoint
from tests.support.server import Server
from tests.support.smtp import smtp_server, text_of
from tests.test_server_events import queue_for, receive_all
from trailbridge.aws.validate import service_model
from trailbridge.trail.record import ApiCall, Caller, cloudtrail_record

# What a notification's signature covers, in AWS's order ("Key\nValue\n" each; Subject only when present).
SIGNED = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")


def test_a_notification_verifies_against_the_certificate_its_url_serves(server: Server, account: str) -> None:
    sns = server.client("sns", account)
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    sqs, url, queue = queue_for(server, account)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)
    sns.publish(TopicArn=topic, Message="a bucket was made public", Subject="alert")
    [notification] = receive_all(sqs, url, 1)
    assert (notification["Type"], notification["TopicArn"], notification["Message"]) == (
        "Notification",
        topic,
        "a bucket was made public",
    )
    assert (
        notification["SigningCertURL"]
        .rsplit(":", 1)[1]
        .startswith(server.url.rsplit(":", 1)[1] + "/SimpleNotificationService-")
    )
    pem = urllib3.PoolManager().request("GET", notification["SigningCertURL"])
    assert pem.status == 200
    key = x509.load_pem_x509_certificate(pem.data).public_key()
    text = "".join(f"{k}\n{notification[k]}\n" for k in SIGNED if k in notification)
    digest = hashes.SHA1() if notification["SignatureVersion"] == "1" else hashes.SHA256()
    key.verify(base64.b64decode(notification["Signature"]), text.encode(), padding.PKCS1v15(), digest)  # type: ignore[union-attr]
    missing = urllib3.PoolManager().request("GET", server.url + "/SimpleNotificationService-" + "0" * 32 + ".pem")
    assert missing.status == 404


def test_a_topic_is_a_rule_target_as_the_walkthrough_makes_it(server: Server, account: str) -> None:
    """The issue's CLI walkthrough: a topic, a rule's target, EventBridge allowed to publish; a queue subscribed
    to the topic receives the event as the notification's Message."""
    sns, events = server.client("sns", account), server.client("events", account)
    topic = sns.create_topic(Name="ec2-instance-launch-notifications")["TopicArn"]
    events.put_rule(Name="EC2InstanceLaunchMonitor", EventPattern=json.dumps({"source": ["my.app"]}))
    events.put_targets(Rule="EC2InstanceLaunchMonitor", EventBusName="default", Targets=[{"Id": "1", "Arn": topic}])
    sns.add_permission(TopicArn=topic, Label="EventBridgeInvoke", AWSAccountId=[account], ActionName=["Publish"])
    sqs, url, queue = queue_for(server, account)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)
    events.put_events(Entries=[{"Source": "my.app", "DetailType": "launch", "Detail": '{"instance": "i-1"}'}])
    [notification] = receive_all(sqs, url, 1)
    assert notification["TopicArn"] == topic
    assert json.loads(notification["Message"])["detail"] == {"instance": "i-1"}


def test_a_topic_policy_that_allows_nobody_dead_letters_the_rules_deliveries(server: Server, account: str) -> None:
    sns, events = server.client("sns", account), server.client("events", account)
    topic = sns.create_topic(Name="closed")["TopicArn"]
    sqs, dead_url, dead_letter = queue_for(server, account, "dead")
    events.put_rule(Name="to-closed", EventPattern=json.dumps({"source": ["my.app"]}))
    target = {"Id": "1", "Arn": topic, "DeadLetterConfig": {"Arn": dead_letter}}
    target["RetryPolicy"] = {"MaximumRetryAttempts": 0}
    events.put_targets(Rule="to-closed", Targets=[target])
    nobody = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "999999999999"}, "Action": "SNS:Publish", "Resource": topic}
        ],
    }
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(nobody))
    events.put_events(Entries=[{"Source": "my.app", "DetailType": "launch", "Detail": "{}"}])
    answer = sqs.receive_message(QueueUrl=dead_url, WaitTimeSeconds=10, MessageAttributeNames=["All"])
    [message] = answer["Messages"]
    assert message["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"


def test_publish_is_a_data_event_and_creating_a_topic_a_management_one(server: Server, account: str) -> None:
    sns = server.client("sns", account)
    topic = sns.create_topic(Name="recorded")["TopicArn"]
    sns.publish(TopicArn=topic, Message="m")
    cloudtrail = server.client("cloudtrail", account)

    def named(name: str) -> list[dict[str, Any]]:
        found = cloudtrail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])
        return [json.loads(event["CloudTrailEvent"]) for event in found["Events"]]

    [created] = named("CreateTopic")
    assert created["eventSource"] == "sns.amazonaws.com" and created["managementEvent"] is True
    assert named("Publish") == []  # a data event: for the trails that select it, never for LookupEvents


def test_a_publish_record_names_its_topic() -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:alerts"
    call = ApiCall(
        service="sns",
        operation=service_model("sns").operation_model("Publish"),
        params={"TopicArn": topic, "Message": "m"},
        response={"MessageId": "id"},
        error_code=None,
        error_message=None,
        caller=Caller("123456789012", "AKIDEXAMPLE", None),
        region="us-east-1",
        source_ip="127.0.0.1",
        user_agent="test",
        request_id="r",
        event_id="e",
        time=0.0,
        host="localhost",
        tls=None,
    )
    record = cloudtrail_record(call)
    assert (record["managementEvent"], record["eventCategory"]) == (False, "Data")
    assert record["resources"] == [{"accountId": "123456789012", "type": "AWS::SNS::Topic", "ARN": topic}]


def test_the_sms_sns_would_have_sent_are_listed(server: Server, account: str) -> None:
    sns = server.client("sns", account)
    sns.publish(PhoneNumber="+15555550100", Message="your code is 1234")
    topic = sns.create_topic(Name="texts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint="+15555550101")
    sns.publish(TopicArn=topic, Message="deploy done")
    request = botocore.awsrequest.AWSRequest("GET", server.url + "/_trailbridge/sns/sms")
    credentials = botocore.credentials.Credentials(account, "secret")  # the account's key, as the clients use it
    botocore.auth.SigV4Auth(credentials, "cloudtrail", "us-east-1").add_auth(request)  # trailbridge's own endpoints
    answer = urllib3.PoolManager().request("GET", request.url, headers=dict(request.headers.items()))
    sent = json.loads(answer.data)["Messages"]
    assert [(m["PhoneNumber"], m["Message"]) for m in sent] == [
        ("+15555550100", "your code is 1234"),
        ("+15555550101", "deploy done"),
    ]
    assert sent[1]["TopicArn"] == topic
    bad = urllib3.PoolManager().request("GET", server.url + "/_trailbridge/sns/sms?since=yesterday")
    assert bad.status == 400


# -- HTTP/S subscriptions through the server, under --auth ---------------------------------------


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    credentials = tmp_path_factory.mktemp("sns-auth") / "credentials"
    credentials.write_text(
        "[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = ops-secret\naws_account_id = 222233334444\n"
    )
    process = Server("--auth", "--credentials", str(credentials), env={"TRAILBRIDGE_SNS_RETRY_SCALE": "0.001"})
    yield process
    process.stop()


def _signed_sns(server: Server) -> Any:
    return boto3.client(
        "sns",
        endpoint_url=server.url,
        region_name="eu-west-1",
        aws_access_key_id="AKIDOPS",
        aws_secret_access_key="ops-secret",
        config=Config(retries={"max_attempts": 1}),
    )


def test_the_links_sns_sends_work_unsigned_as_on_aws(signed_server: Server, endpoint: Endpoint) -> None:
    """The SubscribeURL an HTTP endpoint is sent confirms with a plain GET, and the UnsubscribeURL of a
    notification unsubscribes, though the server refuses every other unsigned call."""
    sns = _signed_sns(signed_server)
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url + "/ok")
    wait_for(lambda: endpoint.received("/ok"))
    asked = json.loads(endpoint.received("/ok")[0]["body"])
    http = urllib3.PoolManager()
    confirmed = http.request("GET", asked["SubscribeURL"])
    assert confirmed.status == 200, confirmed.data
    arn = ElementTree.fromstring(confirmed.data).find(".//{*}SubscriptionArn").text  # type: ignore[union-attr]
    assert arn is not None and arn.startswith(topic + ":")
    sns.publish(TopicArn=topic, Message="disk full")
    wait_for(lambda: len(endpoint.received("/ok")) == 2)
    notification = json.loads(endpoint.received("/ok")[1]["body"])
    assert notification["Message"] == "disk full"
    assert http.request("GET", f"{signed_server.url}/?Action=ListTopics").status == 403  # other calls: signed
    assert http.request("GET", notification["UnsubscribeURL"]).status == 200
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


def test_an_unsigned_unsubscribe_of_a_subscription_made_by_its_owner_is_refused(signed_server: Server) -> None:
    sns = _signed_sns(signed_server)
    topic = sns.create_topic(Name="owned")["TopicArn"]
    queue = f"arn:aws:sqs:eu-west-1:222233334444:owned-{time.time_ns()}"
    arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue, ReturnSubscriptionArn=True)["SubscriptionArn"]
    url = f"{signed_server.url}/?Action=Unsubscribe&SubscriptionArn={arn}"
    assert urllib3.PoolManager().request("GET", url).status == 403  # ConfirmationWasAuthenticated: it must be signed
    assert [s["SubscriptionArn"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]] == [arn]


def test_the_walkthrough_alerts_an_email_address() -> None:
    """ "You can then subscribe an email address ... to this SNS topic": through a served trailbridge with an
    SMTP server, the address confirms with the link of its confirmation email, then a rule's event arrives
    by email."""
    with smtp_server() as box:
        served = Server(env={"TRAILBRIDGE_SMTP_URL": box.url, "TRAILBRIDGE_SNS_RETRY_SCALE": "0.001"})
        try:
            sns, events = served.client("sns"), served.client("events")
            topic = sns.create_topic(Name="ec2-instance-launch-notifications")["TopicArn"]
            events.put_rule(Name="EC2InstanceLaunchMonitor", EventPattern=json.dumps({"source": ["my.app"]}))
            events.put_targets(Rule="EC2InstanceLaunchMonitor", Targets=[{"Id": "1", "Arn": topic}])
            sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="secops@example.com")
            wait_for(lambda: box.messages)
            link = next(line for line in text_of(box.messages[0]).splitlines() if "ConfirmSubscription" in line)
            assert urllib3.PoolManager().request("GET", link.strip()).status == 200
            detail = {"instance-id": "i-0abc", "state": "running"}
            events.put_events(Entries=[{"Source": "my.app", "DetailType": "launch", "Detail": json.dumps(detail)}])
            wait_for(lambda: len(box.messages) == 2)
            alert = box.messages[1]
            assert (alert["Subject"], box.recipients[1]) == ("AWS Notification Message", ["secops@example.com"])
            assert json.loads(text_of(alert).split("\n\n--\n")[0])["detail"] == detail
        finally:
            served.stop()
