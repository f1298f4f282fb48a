"""Redrive's checks (`console/redrive.py`) and the route's refusals on a real server: a message that is not a
dead-lettered event of the rule, or not one the rule would deliver, stays in its queue."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.server import Server
from trailbridge.console.redrive import RedriveError, asked, dead_lettered, describe_params, redriven_event

ACCOUNT = "123456789012"
RULE_ARN = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/r"
TARGET = f"arn:aws:sqs:us-east-1:{ACCOUNT}:target"
DLQ = f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq"
RULE = {"Name": "r", "Arn": RULE_ARN, "EventPattern": json.dumps({"source": ["shop"]})}
TARGETS = [{"Id": "t", "Arn": TARGET, "DeadLetterConfig": {"Arn": DLQ}}]
EVENT = {"source": "shop", "detail-type": "order", "account": ACCOUNT, "region": "us-east-1", "detail": {}}


def _attributes(rule: str = RULE_ARN, target: str = TARGET) -> dict[str, Any]:
    return {
        "RULE_ARN": {"DataType": "String", "StringValue": rule},
        "TARGET_ARN": {"DataType": "String", "StringValue": target},
    }


def test_a_dead_lettered_message_names_its_rule_and_target() -> None:
    assert dead_lettered({"MessageAttributes": _attributes()}) == (RULE_ARN, TARGET)
    for attributes in ({}, {"RULE_ARN": _attributes()["RULE_ARN"]}, _attributes(rule="arn:aws:sns:x")):
        with pytest.raises(RedriveError, match="not a dead-lettered event"):
            dead_lettered({"MessageAttributes": attributes})


def test_a_rule_arn_gives_describe_rules_parameters() -> None:
    assert describe_params(RULE_ARN) == {"Name": "r", "EventBusName": "default"}
    assert describe_params(f"arn:aws:events:us-east-1:{ACCOUNT}:rule/orders/r") == {
        "Name": "r",
        "EventBusName": "orders",
    }


def test_the_event_the_rule_would_deliver_is_redriven() -> None:
    assert redriven_event(json.dumps(EVENT), RULE, TARGETS, TARGET, DLQ) == EVENT


@pytest.mark.parametrize(
    ("body", "rule", "queue", "message"),
    [
        (
            EVENT,
            RULE,
            f"arn:aws:sqs:us-east-1:{ACCOUNT}:not-its-dlq",
            "with arn:aws:sqs:us-east-1:123456789012:not-its",
        ),
        ("not json", RULE, DLQ, "not an event"),
        ([1], RULE, DLQ, "not an event"),
        (EVENT | {"account": "999988887777"}, RULE, DLQ, "not of the rule's account and region"),
        (EVENT | {"region": "eu-west-1"}, RULE, DLQ, "not of the rule's account and region"),
        (EVENT | {"source": "aws.iam"}, RULE, DLQ, "event pattern does not match the event"),
        (EVENT, {"Name": "s", "Arn": RULE_ARN, "ScheduleExpression": "rate(1 minute)"}, DLQ, "is scheduled"),
    ],
)
def test_an_event_the_rule_would_not_deliver_is_refused(
    body: Any, rule: dict[str, Any], queue: str, message: str
) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    with pytest.raises(RedriveError, match=re.escape(message)):
        redriven_event(text, rule, TARGETS, TARGET, queue)


def test_what_is_asked_is_checked() -> None:
    assert asked({"QueueUrl": "u", "MessageId": "m"}) == ("u", "m")
    for document in ({}, {"QueueUrl": "u"}, {"QueueUrl": "", "MessageId": "m"}, [1]):
        with pytest.raises(RedriveError, match=r"QueueUrl and MessageId|JSON object"):
            asked(document)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    process = Server()
    yield process
    process.stop()


def _redrive(server: Server, body: dict[str, str], csrf: bool = True) -> tuple[int, dict[str, Any]]:
    page = server.http.request("GET", server.url + "/console/", redirect=False)
    cookie = page.headers["set-cookie"].split(";")[0]
    token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.data.decode())
    assert token is not None
    headers = {"Cookie": cookie, **({"X-CSRF-Token": token.group(1)} if csrf else {})}
    answer = server.http.request(
        "POST", server.url + "/console/redrive", body=json.dumps(body).encode(), headers=headers
    )
    return answer.status, json.loads(answer.data)


def test_a_forged_or_unknown_message_is_not_redriven_and_stays(server: Server) -> None:
    sqs, events = server.client("sqs"), server.client("events")
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    events.put_rule(Name="r", EventPattern=RULE["EventPattern"])
    events.put_targets(Rule="r", Targets=TARGETS)
    forged = EVENT | {"source": "aws.iam"}  # what PutEvents refuses, which the rule does not match anyway
    sent = sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(forged), MessageAttributes=_attributes())
    assert _redrive(server, {"QueueUrl": dlq, "MessageId": sent["MessageId"]}, csrf=False)[0] == 403
    status, answer = _redrive(server, {"QueueUrl": dlq, "MessageId": sent["MessageId"]})
    assert (status, answer["__type"]) == (400, "ValidationException")
    assert "does not match" in answer["message"]
    status, answer = _redrive(server, {"QueueUrl": dlq, "MessageId": "no-such-message"})
    assert (status, answer["__type"]) == (400, "ResourceNotFoundException")  # as EventBridge answers it
    kept = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0)["Messages"]  # visible again at once
    assert [m["MessageId"] for m in kept] == [sent["MessageId"]]
    status, answer = _redrive(server, {"QueueUrl": dlq.replace("/dlq", "/no-such-queue"), "MessageId": "m"})
    assert (status, answer["__type"]) == (400, "QueueDoesNotExist")  # the API's error, as the key received it


def test_the_bus_engine_redrives_to_the_rules_target_of_that_arn_only() -> None:
    from trailbridge.errors import NotFoundError  # noqa: PLC0415
    from trailbridge.runtime import Trailbridge  # noqa: PLC0415

    tb = Trailbridge()
    try:
        events = tb.events(ACCOUNT, "us-east-1")
        arn = events.put_rule(Name="r", EventPattern=RULE["EventPattern"])["RuleArn"]
        events.put_targets(Rule="r", Targets=[*TARGETS, {"Id": "u", "Arn": TARGET.replace("target", "other")}])
        with pytest.raises(NotFoundError, match="does not exist"):
            tb.engine.router.redrive(arn + "-gone", TARGET, EVENT)
        with pytest.raises(NotFoundError, match="has no target"):
            tb.engine.router.redrive(arn, TARGET + "-gone", EVENT)
        event_id = tb.engine.router.redrive(arn, TARGET, EVENT | {"id": "original"})
        assert event_id != "original"
        claimed = tb.deliveries.claim("test", tb.clock.now() + 1, 10, 60.0, ())
        assert [(c.rule_arn, c.target_id, c.event_id) for c in claimed] == [(arn, "t", event_id)]
    finally:
        tb.close()
