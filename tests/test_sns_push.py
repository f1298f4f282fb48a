"""SNS mobile push's outbox through the service classes: a Publish to a platform endpoint (TargetArn) kept with
its endpoint, application, platform, token and MessageId; AWS's errors for an endpoint that does not exist
(never made, deleted, its application deleted), is disabled, belongs to another account or another region;
the message each platform gets of a `MessageStructure=json` publish; a topic's `application` subscriptions,
confirmed at once, each matching, enabled endpoint getting one push (filter policies honoured, a disabled one
dropped); `since`; and the outbox still there after a SQLite-backed trailbridge is reopened."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.sns import REGION, Clock, Sns, clock_fixture, engine_fixture, refused, signed, sns_fixture  # noqa: F401 (fixtures)
from trailbridge.runtime import Trailbridge
from trailbridge.services.base import Engine
from trailbridge.services.sns import PlatformService
from trailbridge.services.sns.push import sent_push


def _platform(sns: Sns) -> PlatformService:
    return PlatformService(sns.engine, sns.account, REGION)


def _application(sns: Sns, platform: str = "GCM", name: str = "app") -> str:
    given = {"PlatformCredential": "key"} | ({} if platform == "GCM" else {"PlatformPrincipal": "principal"})
    made = _platform(sns).create_platform_application(Name=name, Platform=platform, Attributes=given)
    return str(made["PlatformApplicationArn"])


def _endpoint(sns: Sns, app: str, token: str = "device-1", **attributes: str) -> str:
    made = _platform(sns).create_platform_endpoint(PlatformApplicationArn=app, Token=token, Attributes=attributes)
    return str(made["EndpointArn"])


def _sent(sns: Sns, since: float | None = None) -> list[dict[str, Any]]:
    return sent_push(sns.engine, sns.account, REGION, since)


def test_a_publish_to_an_endpoint_is_kept_in_the_outbox(sns: Sns, clock: Clock) -> None:
    app = _application(sns)
    arn = _endpoint(sns, app, CustomUserData="user 7")
    answer = sns.publisher.publish(TargetArn=arn, Message="your order shipped", Subject="Orders")
    assert _sent(sns) == [
        {
            "EndpointArn": arn,
            "PlatformApplicationArn": app,
            "Platform": "GCM",
            "Token": "device-1",
            "Message": "your order shipped",
            "MessageId": answer["MessageId"],
            "TopicArn": None,
            "Timestamp": clock.at,
        }
    ]
    clock.at += 60
    sns.publisher.publish(TargetArn=arn, Message="it arrived")
    assert [p["Message"] for p in _sent(sns, clock.at)] == ["it arrived"]
    assert sent_push(sns.engine, sns.account, "eu-west-1") == []
    assert sent_push(sns.engine, "499999999999", REGION) == []


def test_an_endpoint_that_does_not_exist_is_refused_as_aws_refuses_it(sns: Sns) -> None:
    app = _application(sns)
    arn = _endpoint(sns, app)
    missing = arn.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    no_endpoint = (
        "InvalidParameter",
        "Invalid parameter: TargetArn Reason: No endpoint found for the target arn specified",
        400,
    )
    assert refused(sns.publisher.publish, TargetArn=missing, Message="hi") == no_endpoint
    _platform(sns).delete_endpoint(EndpointArn=arn)
    assert refused(sns.publisher.publish, TargetArn=arn, Message="hi") == no_endpoint
    again = _endpoint(sns, app, "device-2")
    _platform(sns).delete_platform_application(PlatformApplicationArn=app)
    assert refused(sns.publisher.publish, TargetArn=again, Message="hi") == no_endpoint
    assert refused(sns.publisher.publish, TargetArn=arn.rsplit("/", 1)[0], Message="hi") == (
        "InvalidParameter",
        "Invalid parameter: TargetArn Reason: Wrong number of slashes in relative portion of the ARN.",
        400,
    )
    assert _sent(sns) == []


def test_a_disabled_endpoint_is_refused_and_sent_to_again_once_enabled(sns: Sns) -> None:
    arn = _endpoint(sns, _application(sns), Enabled="false")
    assert refused(sns.publisher.publish, TargetArn=arn, Message="hi") == (
        "EndpointDisabled",
        "Endpoint is disabled",
        400,
    )
    assert _sent(sns) == []
    _platform(sns).set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "true"})
    sns.publisher.publish(TargetArn=arn, Message="hi")
    assert [p["Message"] for p in _sent(sns)] == ["hi"]


def test_another_accounts_or_regions_endpoint_is_refused(engine: Engine, sns: Sns) -> None:
    arn = _endpoint(sns, _application(sns))
    stranger = Sns(engine)
    assert refused(stranger.publisher.publish, TargetArn=arn, Message="hi")[::2] == ("AuthorizationError", 403)
    elsewhere = arn.replace(f":{REGION}:", ":eu-west-1:")
    assert refused(sns.publisher.publish, TargetArn=elsewhere, Message="hi") == (
        "InvalidParameter",
        "Invalid parameter: TargetArn",
        400,
    )
    assert _sent(sns) == [] and _sent(stranger) == []


def test_a_push_publish_is_checked_as_any_publish(sns: Sns) -> None:
    arn = _endpoint(sns, _application(sns))
    assert refused(sns.publisher.publish, TargetArn=arn, Message="")[:2] == (
        "InvalidParameter",
        "Invalid parameter: Empty message",
    )
    assert refused(sns.publisher.publish, TargetArn=arn, Message="{}", MessageStructure="json")[:2] == (
        "InvalidParameter",
        "Invalid parameter: Message Structure - No default entry in JSON message body",
    )
    assert refused(sns.publisher.publish, TargetArn=arn, Message="hi", MessageDeduplicationId="d")[1] == (
        "Invalid parameter: MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter "
        "that is not valid for this topic type"
    )
    bad_attribute = {"AWS.mine": {"DataType": "String", "StringValue": "x"}}
    assert refused(sns.publisher.publish, TargetArn=arn, Message="hi", MessageAttributes=bad_attribute)[0] == (
        "ParameterValueInvalid"
    )
    assert refused(sns.publisher.publish, TargetArn=arn, TopicArn=sns.topic(), Message="hi")[1] == (
        "Invalid parameter: TopicArn or TargetArn Reason: Only one of TopicArn or TargetArn may be specified"
    )
    assert _sent(sns) == []


@pytest.mark.parametrize("platform", ["GCM", "APNS", "APNS_SANDBOX", "ADM", "BAIDU", "MPNS", "WNS"])
def test_each_platform_gets_its_own_entry_of_a_json_message_else_the_default(
    sns: Sns, clock: Clock, platform: str
) -> None:
    arn = _endpoint(sns, _application(sns, platform))
    own = json.dumps({"payload": platform})
    others = {key: f"for {key}" for key in ("GCM", "APNS", "APNS_SANDBOX", "ADM", "BAIDU", "MPNS", "WNS", "sqs")}
    structured = {"default": "plain", **others, platform: own}
    sns.publisher.publish(TargetArn=arn, Message=json.dumps(structured), MessageStructure="json")
    clock.at += 1
    sns.publisher.publish(TargetArn=arn, Message=json.dumps({"default": "plain", "sqs": "q"}), MessageStructure="json")
    clock.at += 1
    sns.publisher.publish(TargetArn=arn, Message=json.dumps({"default": "as is"}))  # no structure: the text itself
    sent = _sent(sns)
    assert [p["Message"] for p in sent] == [own, "plain", json.dumps({"default": "as is"})]
    assert {p["Platform"] for p in sent} == {platform}


def test_a_json_entry_given_as_an_object_reaches_the_platform_as_json(sns: Sns) -> None:
    arn = _endpoint(sns, _application(sns, "APNS"))
    message = {"default": "plain", "APNS": {"aps": {"alert": "hello"}}}
    sns.publisher.publish(TargetArn=arn, Message=json.dumps(message), MessageStructure="json")
    assert json.loads(_sent(sns)[0]["Message"]) == {"aps": {"alert": "hello"}}


def test_application_subscriptions_get_one_push_per_matching_enabled_endpoint(sns: Sns) -> None:
    topic = sns.topic()
    android, ios = _application(sns, "GCM", "android"), _application(sns, "APNS", "ios")
    phone, tablet = _endpoint(sns, android, "phone"), _endpoint(sns, ios, "tablet")
    off = _endpoint(sns, android, "off", Enabled="false")
    picky = _endpoint(sns, android, "picky")
    gone = _endpoint(sns, android, "gone")
    arns = {}
    for endpoint in (phone, tablet, off, gone):
        made = sns.subscriptions.subscribe(TopicArn=topic, Protocol="application", Endpoint=endpoint)
        arns[endpoint] = made["SubscriptionArn"]
    policy = json.dumps({"kind": ["urgent"]})
    sns.subscriptions.subscribe(
        TopicArn=topic, Protocol="application", Endpoint=picky, Attributes={"FilterPolicy": policy}
    )
    assert all(arn.startswith(topic + ":") for arn in arns.values())  # confirmed at once: no "pending confirmation"
    listed = sns.subscriptions.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert {s["Protocol"] for s in listed} == {"application"} and len(listed) == 5
    _platform(sns).delete_endpoint(EndpointArn=gone)
    structured = json.dumps({"default": "sale", "APNS": '{"aps":{"alert":"sale!"}}'})
    plain = sns.publisher.publish(TopicArn=topic, Message=structured, MessageStructure="json")["MessageId"]
    urgent = {"kind": {"DataType": "String", "StringValue": "urgent"}}
    second = sns.publisher.publish(TopicArn=topic, Message="now", MessageAttributes=urgent)["MessageId"]
    kept = {(p["MessageId"], p["Token"], p["Message"], p["TopicArn"]) for p in _sent(sns)}
    assert kept == {
        (plain, "phone", "sale", topic),
        (plain, "tablet", '{"aps":{"alert":"sale!"}}', topic),
        (second, "phone", "now", topic),
        (second, "tablet", "now", topic),
        (second, "picky", "now", topic),
    }


def test_a_batch_to_a_topic_pushes_every_entry(sns: Sns) -> None:
    topic = sns.topic()
    endpoint = _endpoint(sns, _application(sns))
    sns.subscriptions.subscribe(TopicArn=topic, Protocol="application", Endpoint=endpoint)
    entries = [{"Id": str(i), "Message": f"m{i}"} for i in range(3)]
    answer = sns.publisher.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
    assert len(answer["Successful"]) == 3
    assert sorted(p["Message"] for p in _sent(sns)) == ["m0", "m1", "m2"]


def test_the_outbox_survives_a_restart(tmp_path: Path) -> None:
    with Trailbridge(tmp_path) as tb:
        sns = Sns(signed(tb))
        arn = _endpoint(sns, _application(sns))
        message_id = sns.publisher.publish(TargetArn=arn, Message="kept")["MessageId"]
        account = sns.account
    with Trailbridge(tmp_path) as tb:
        kept = sent_push(tb.engine, account, REGION)
    assert [(p["EndpointArn"], p["Message"], p["MessageId"]) for p in kept] == [(arn, "kept", message_id)]
