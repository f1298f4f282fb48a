"""The delivery counters per minute the console's charts read (`Metrics.series`, `Metrics.last_outcomes`) and
the route that gives them only for a rule the key may describe."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.conftest import wait_for
from tests.support.server import Server
from trailbridge.console.deliveries import MAX_MINUTES, DeliveriesError, asked
from trailbridge.metrics import KEPT_BUCKETS, Metrics
from trailbridge.runtime import Trailbridge

RULE = "arn:aws:events:us-east-1:123456789012:rule/r"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0  # a minute's start

    def __call__(self) -> float:
        return self.now


def test_counts_are_kept_per_minute_by_metric_and_target() -> None:
    clock = Clock()
    metrics = Metrics(clock)
    start = clock.now
    metrics.add("Invocations", RULE, "a")
    clock.now += 59
    metrics.add("Invocations", RULE, "a", 2)
    clock.now += 1
    metrics.add("Invocations", RULE, "a")
    metrics.add("FailedInvocations", RULE, "b")
    metrics.add("Invocations", RULE + "-other", "a")
    assert metrics.series(RULE, start) == [
        {"Metric": "FailedInvocations", "TargetId": "b", "Points": [[start + 60, 1]]},
        {"Metric": "Invocations", "TargetId": "a", "Points": [[start, 3], [start + 60, 1]]},
    ]
    assert metrics.series(RULE, start + 60)[1]["Points"] == [[start + 60, 1]]  # from the minute `since` is in
    assert metrics.get("Invocations", RULE) == 4  # the totals are kept as before


def test_three_hours_of_minutes_are_kept() -> None:
    clock = Clock()
    metrics = Metrics(clock)
    for _ in range(KEPT_BUCKETS + 5):
        metrics.add("Invocations", RULE, "a")
        clock.now += 60
    points = metrics.series(RULE, 0)[0]["Points"]
    assert len(points) == KEPT_BUCKETS and points[0][0] == 1_800_000_000 + 5 * 60
    assert metrics.get("Invocations", RULE, "a") == KEPT_BUCKETS + 5


def test_a_targets_last_outcome_is_its_last_delivery_counter() -> None:
    clock = Clock()
    metrics = Metrics(clock)
    metrics.add("MatchedEvents", RULE)  # a rule's counter, no target's outcome
    assert metrics.last_outcomes(RULE) == {}
    metrics.add("Invocations", RULE, "a")
    metrics.add("RetryInvocationAttempts", RULE, "b")
    clock.now += 5
    metrics.add("FailedInvocations", RULE, "b")
    metrics.add("DeadLetterInvocations", RULE, "b")  # not an outcome: the DLQ's send is
    metrics.add("InvocationsSentToDlq", RULE, "b")
    assert metrics.last_outcomes(RULE) == {
        "a": {"Metric": "Invocations", "Time": 1_800_000_000.0},
        "b": {"Metric": "InvocationsSentToDlq", "Time": 1_800_000_005.0},
    }


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "Rule must name a rule"),
        ({"Rule": ""}, "Rule must name a rule"),
        ({"Rule": "r", "EventBusName": 3}, "EventBusName must name"),
        ({"Rule": "r", "Minutes": 0}, "Minutes must be"),
        ({"Rule": "r", "Minutes": MAX_MINUTES + 1}, "Minutes must be"),
        ({"Rule": "r", "Minutes": "60"}, "Minutes must be"),
        ({"Rule": "r", "Minutes": True}, "Minutes must be"),
        ({"Topic": ""}, "Topic must be a topic's ARN"),
        ({"Topic": ["arn"]}, "Topic must be a topic's ARN"),
        ({"Queue": ""}, "Queue must be a queue's URL"),
        ({"Queue": 7}, "Queue must be a queue's URL"),
        ({"Queue": "http://q", "Minutes": 0}, "Minutes must be"),
    ],
)
def test_what_is_asked_is_checked(document: dict[str, object], message: str) -> None:
    with pytest.raises(DeliveriesError, match=message):
        asked(document)


def test_the_default_bus_and_an_hour() -> None:
    assert asked({"Rule": "r"}) == ("rule", {"Name": "r", "EventBusName": "default"}, 60)
    assert asked({"Topic": "arn:t", "Minutes": 5}) == ("topic", {"TopicArn": "arn:t"}, 5)
    queue = ("queue", {"QueueUrl": "http://q", "AttributeNames": ["QueueArn"]}, 60)
    assert asked({"Queue": "http://q"}) == queue


def test_messages_a_rule_delivers_to_a_queue_are_counted_as_sent(tb: Trailbridge) -> None:
    events, sqs = tb.events(), tb.sqs()
    sqs.create_queue(QueueName="from-rule")
    arn = f"arn:aws:sqs:us-east-1:{tb.settings.default_account}:from-rule"
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["my.app"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": arn}])
    events.put_events(Entries=[{"Source": "my.app", "DetailType": "d", "Detail": "{}"} for _ in range(2)])

    def sent() -> int:
        return sum(
            n for s in tb.metrics.series(arn, 0) if s["Metric"] == "NumberOfMessagesSent" for _, n in s["Points"]
        )

    wait_for(lambda: sent() == 2)


def test_a_queues_messages_sent_received_and_deleted_are_counted_per_minute() -> None:
    runtime = Trailbridge(None)
    try:
        sqs = runtime.sqs("123456789012", "us-east-1")
        url = sqs.create_queue(QueueName="counted")["QueueUrl"]
        other = sqs.create_queue(QueueName="not-counted")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="one")
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "two"}, {"Id": "b", "MessageBody": "3"}]
        )
        sqs.send_message(QueueUrl=other, MessageBody="elsewhere")
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10) == {}  # none received: none counted
        sqs.delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "x", "ReceiptHandle": received[1]["ReceiptHandle"]}])
        arn = "arn:aws:sqs:us-east-1:123456789012:counted"
        counted = {s["Metric"]: sum(n for _, n in s["Points"]) for s in runtime.metrics.series(arn, 0)}
        assert counted == {"NumberOfMessagesSent": 3, "NumberOfMessagesReceived": 3, "NumberOfMessagesDeleted": 2}
        assert runtime.metrics.get("NumberOfMessagesSent") == 4
    finally:
        runtime.close()


@pytest.fixture(scope="module")
def authed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    credentials = tmp_path_factory.mktemp("deliveries") / "credentials"
    credentials.write_text(
        "[a]\naws_access_key_id = AKIDDELIVER\naws_secret_access_key = deliver-secret\naws_account_id = 333344445555\n"
    )
    server = Server("--auth", "--credentials", str(credentials))
    yield server
    server.stop()


def _signed_in(server: Server) -> tuple[str, str]:
    login = server.http.request("GET", server.url + "/console/login", redirect=False)
    cookie = login.headers["set-cookie"].split(";")[0]
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', login.data.decode())
    assert found is not None
    form = f"csrf_token={found.group(1)}&access_key_id=AKIDDELIVER&secret_access_key=deliver-secret"
    signed = server.http.request(
        "POST",
        server.url + "/console/login",
        body=form,
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        redirect=False,
    )
    cookie = signed.headers["set-cookie"].split(";")[0]
    page = server.http.request("GET", server.url + "/console/", headers={"Cookie": cookie}, redirect=False)
    token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.data.decode())
    assert token is not None
    return cookie, token.group(1)


def test_the_route_answers_for_a_rule_the_key_may_describe_only(authed: Server) -> None:
    cookie, token = _signed_in(authed)
    headers = {"Cookie": cookie, "X-CSRF-Token": token}
    url = authed.url + "/console/deliveries"
    assert authed.http.request("POST", url, body=b'{"Rule": "r"}', headers={"Cookie": cookie}).status == 403
    missing = authed.http.request("POST", url, body=b'{"Rule": "not-mine"}', headers=headers)
    assert missing.status == 400 and json.loads(missing.data)["__type"] == "ResourceNotFoundException"
    bad = authed.http.request("POST", url, body=b'{"Rule": "r", "Minutes": 0}', headers=headers)
    assert bad.status == 400 and "Minutes must be" in json.loads(bad.data)["message"]
    made = authed.http.request(
        "POST",
        authed.url + "/console/api/events",
        body=json.dumps({"Name": "mine", "EventPattern": json.dumps({"source": ["x"]})}).encode(),
        headers={**headers, "X-Amz-Target": "AWSEvents.PutRule"},
    )
    assert made.status == 200
    answer = json.loads(authed.http.request("POST", url, body=b'{"Rule": "mine"}', headers=headers).data)
    assert answer["Arn"] == "arn:aws:events:us-east-1:333344445555:rule/mine"
    other_accounts = "arn:aws:sns:us-east-1:123456789012:theirs"
    refused = authed.http.request("POST", url, body=json.dumps({"Topic": other_accounts}).encode(), headers=headers)
    assert (refused.status, json.loads(refused.data)["__type"]) == (403, "AuthorizationError")  # SNS's own refusal
    assert (answer["Series"], answer["Last"], answer["Minutes"], answer["BucketSeconds"]) == ([], {}, 60, 60)


def test_the_route_answers_for_a_queue_the_key_may_read_only(authed: Server) -> None:
    cookie, token = _signed_in(authed)
    headers = {"Cookie": cookie, "X-CSRF-Token": token}
    url = authed.url + "/console/deliveries"

    def sqs(operation: str, params: dict[str, object]) -> dict[str, object]:
        answer = authed.http.request(
            "POST",
            authed.url + "/console/api/sqs",
            body=json.dumps(params).encode(),
            headers={**headers, "X-Amz-Target": f"AmazonSQS.{operation}"},
        )
        assert answer.status == 200, answer.data
        parsed: dict[str, object] = json.loads(answer.data)
        return parsed

    queue = str(sqs("CreateQueue", {"QueueName": "charted-mine"})["QueueUrl"])
    sqs("SendMessage", {"QueueUrl": queue, "MessageBody": "hello"})
    answer = json.loads(
        authed.http.request("POST", url, body=json.dumps({"Queue": queue}).encode(), headers=headers).data
    )
    assert answer["Arn"] == "arn:aws:sqs:us-east-1:333344445555:charted-mine"
    assert [(s["Metric"], sum(n for _, n in s["Points"])) for s in answer["Series"]] == [("NumberOfMessagesSent", 1)]
    theirs = queue.replace("333344445555", "123456789012")
    refused = authed.http.request("POST", url, body=json.dumps({"Queue": theirs}).encode(), headers=headers)
    assert (refused.status, json.loads(refused.data)["__type"]) == (403, "AccessDenied")  # SQS's own refusal


def test_validate_now_under_auth_reads_the_bucket_signed_as_the_key(authed: Server) -> None:
    """(Here for the signed-in key of this module's server.) S3 calls by name are signed as S3 signs them."""
    cookie, token = _signed_in(authed)
    headers = {"Cookie": cookie, "X-CSRF-Token": token}

    def by_name(service: str, operation: str, params: dict[str, object]) -> dict[str, object]:
        answer = authed.http.request(
            "POST", f"{authed.url}/console/api/{service}/{operation}", body=json.dumps(params).encode(), headers=headers
        )
        assert answer.status == 200, answer.data
        parsed: dict[str, object] = json.loads(answer.data)
        return parsed

    by_name("s3", "CreateBucket", {"Bucket": "signed-trail-bucket"})
    made = by_name("cloudtrail", "CreateTrail", {"Name": "signed-trail", "S3BucketName": "signed-trail-bucket"})
    answer = authed.http.request(
        "POST",
        authed.url + "/console/trails/validate",
        body=json.dumps({"Trail": made["TrailARN"]}).encode(),
        headers=headers,
    )
    report = json.loads(answer.data)
    assert answer.status == 200, report
    assert (report["Bucket"], report["Valid"], report["Lines"]) == ("signed-trail-bucket", False, [])
    assert report["Notes"] == ["No digest files found."]
