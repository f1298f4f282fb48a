"""The push outbox through the served API: boto3 makes a platform application and endpoint, publishes to the
endpoint and to a topic it subscribes to, sees AWS's errors for a disabled endpoint and a missing one, and a
signed `GET /_trailbridge/sns/push` lists what SNS would have pushed, for the caller's account only."""

from __future__ import annotations

import json
from typing import Any

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
import urllib3
from botocore.exceptions import ClientError

from tests.support.server import Server


def _listed(server: Server, account: str, query: str = "") -> Any:
    request = botocore.awsrequest.AWSRequest("GET", server.url + "/_trailbridge/sns/push" + query)
    credentials = botocore.credentials.Credentials(account, "secret")  # the account's key, as the clients use it
    botocore.auth.SigV4Auth(credentials, "cloudtrail", "us-east-1").add_auth(request)  # trailbridge's own endpoints
    return urllib3.PoolManager().request("GET", request.url, headers=dict(request.headers.items()))


def test_the_push_notifications_sns_would_have_sent_are_listed(server: Server, account: str) -> None:
    sns = server.client("sns", account)
    app = sns.create_platform_application(Name="phones", Platform="GCM", Attributes={"PlatformCredential": "k"})
    endpoint = sns.create_platform_endpoint(PlatformApplicationArn=app["PlatformApplicationArn"], Token="device-1")
    arn = endpoint["EndpointArn"]
    direct = sns.publish(TargetArn=arn, Message=json.dumps({"default": "d", "GCM": "for fcm"}), MessageStructure="json")
    topic = sns.create_topic(Name="news")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="application", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="breaking")
    sns.set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "false"})
    with pytest.raises(ClientError) as disabled:
        sns.publish(TargetArn=arn, Message="not sent")
    assert disabled.value.response["Error"]["Code"] == "EndpointDisabled"
    assert disabled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    sns.publish(TopicArn=topic, Message="dropped")  # a disabled endpoint gets nothing from its topic
    sns.delete_endpoint(EndpointArn=arn)
    with pytest.raises(ClientError) as missing:
        sns.publish(TargetArn=arn, Message="not sent")
    assert missing.value.response["Error"] == {
        "Type": "Sender",
        "Code": "InvalidParameter",
        "Message": "Invalid parameter: TargetArn Reason: No endpoint found for the target arn specified",
    }
    answer = _listed(server, account)
    assert answer.status == 200
    sent = json.loads(answer.data)["Messages"]
    assert [(p["EndpointArn"], p["Platform"], p["Token"], p["Message"], p["TopicArn"]) for p in sent] == [
        (arn, "GCM", "device-1", "for fcm", None),
        (arn, "GCM", "device-1", "breaking", topic),
    ]
    assert sent[0]["MessageId"] == direct["MessageId"]
    assert json.loads(_listed(server, account, f"?since={sent[1]['Timestamp']}").data)["Messages"] == sent[1:]
    assert json.loads(_listed(server, "499999999998").data)["Messages"] == []
    bad = urllib3.PoolManager().request("GET", server.url + "/_trailbridge/sns/push?since=yesterday")
    assert bad.status == 400
