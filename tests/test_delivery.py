"""PutEvents and delivery end to end: envelope, routing rules, every target kind, retries, DLQs."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime

import pytest

from tests.conftest import FAST, wait_for
from tests.corpora import load_json
from tests.support.http import Endpoint
from trailbridge.runtime import Trailbridge
from trailbridge.services.base import ServiceError
from trailbridge.services.permissions import PermissionsService
from trailbridge.settings import Settings

ACCOUNT, REGION = "123456789012", "us-east-1"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:"
PATTERN = json.dumps({"source": ["my.app"]})


def entry(detail: dict | None = None, **extra) -> dict:
    return {"Source": "my.app", "DetailType": "Thing Happened", "Detail": json.dumps(detail or {"k": 1}), **extra}


def rule_with(tb: Trailbridge, *targets: dict, pattern: str = PATTERN, name: str = "r", **rule) -> None:
    events = tb.events()
    events.put_rule(Name=name, EventPattern=pattern, **rule)
    events.put_targets(
        Rule=name, Targets=list(targets), **({"EventBusName": rule["EventBusName"]} if "EventBusName" in rule else {})
    )


def collector(tb: Trailbridge, name: str = "collect") -> list:
    got: list = []
    tb.functions.register(name, got.append)
    return got


def queue_messages(tb: Trailbridge, name: str) -> list[dict]:
    sqs = tb.sqs()
    answer = sqs.receive_message(QueueUrl=sqs.url(name), MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    return answer.get("Messages", [])


# -- PutEvents ----------------------------------------------------------------------------------


def test_envelope_is_aws_exactly(tb: Trailbridge) -> None:
    got = collector(tb)
    rule_with(tb, {"Id": "f", "Arn": FUNCTION + "collect"})
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    answer = tb.events().put_events(Entries=[entry({"a": [1, 2]}, Resources=["arn:x"], Time=when)])
    assert answer["FailedEntryCount"] == 0
    wait_for(lambda: got)
    assert got[0] == {
        "version": "0",
        "id": answer["Entries"][0]["EventId"],
        "detail-type": "Thing Happened",
        "source": "my.app",
        "account": ACCOUNT,
        "time": "2026-01-02T03:04:05Z",
        "region": REGION,
        "resources": ["arn:x"],
        "detail": {"a": [1, 2]},
    }


def test_per_entry_errors(tb: Trailbridge) -> None:
    answer = tb.events().put_events(
        Entries=[
            entry(),
            {"DetailType": "d", "Detail": "{}"},
            {"Source": "s", "DetailType": "d", "Detail": "[1]"},
            {"Source": "aws.s3", "DetailType": "d", "Detail": "{}"},
        ]
    )
    assert answer["FailedEntryCount"] == 3
    results = answer["Entries"]
    assert "EventId" in results[0]
    assert results[1] == {
        "ErrorCode": "InvalidArgument",
        "ErrorMessage": "Parameter Source is not valid. Reason: Source is a required argument.",
    }
    assert results[2] == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert results[3]["ErrorCode"] == "NotAuthorizedForSourceException"


def test_put_events_to_a_bus_that_does_not_exist_is_dropped_and_counted(tb: Trailbridge) -> None:
    # As AWS: the entry gets an EventId and the event goes nowhere (a trap: a misspelt bus name fails silently).
    got = collector(tb)
    rule_with(tb, {"Id": "f", "Arn": FUNCTION + "collect"}, pattern=json.dumps({"source": [{"prefix": ""}]}))
    missing = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/missing"
    answer = tb.events().put_events(
        Entries=[entry(EventBusName="missing"), entry(EventBusName=missing), entry({"n": 3}, EventBusName="default")]
    )
    assert answer["FailedEntryCount"] == 0
    assert all(set(result) == {"EventId"} for result in answer["Entries"])
    wait_for(lambda: got)
    wait_for(lambda: tb.pending_deliveries() == 0)
    assert [event["detail"] for event in got] == [{"n": 3}]
    assert tb.metrics.get("DroppedEvents", missing) == 2
    assert tb.metrics.get("DroppedEvents") == 2
    # An entry that is not valid is still refused, whichever bus it names.
    bad = tb.events().put_events(
        Entries=[{"Source": "s", "DetailType": "d", "Detail": "[1]", "EventBusName": "missing"}]
    )
    assert bad["Entries"] == [{"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}]


RECORDED_PUT_EVENTS = [
    c for c in load_json("event-patterns", "aws-recorded.json")["cases"] if c["api"] == "PutEvents->rule->SQS"
]


@pytest.mark.parametrize("case", RECORDED_PUT_EVENTS, ids=[c["name"] for c in RECORDED_PUT_EVENTS])
def test_recorded_put_events_cases_through_a_rule_to_a_queue(tb: Trailbridge, case: dict) -> None:
    # The corpus's PutEvents -> rule -> SQS cases, replayed the way they were recorded.
    sqs = tb.sqs()
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    rule_with(tb, {"Id": "q", "Arn": QUEUE + "q"}, pattern=case["pattern"])
    event = json.loads(case["event"])
    put = {"Source": event["source"], "DetailType": event["detail-type"], "Detail": json.dumps(event["detail"])}
    answer = tb.events().put_events(Entries=[put])
    assert answer["FailedEntryCount"] == 0
    wait_for(lambda: tb.pending_deliveries() == 0)
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert len(messages) == (1 if case["expected"] == "match" else 0)
    if messages:
        assert json.loads(messages[0]["Body"])["detail"] == event["detail"]


def test_bus_target_whose_bus_is_gone_is_dead_lettered(tb: Trailbridge) -> None:
    # trailbridge's own delivery to a bus does not drop silently: a bus deleted since PutTargets fails it.
    events = tb.events()
    events.create_event_bus(Name="second")
    tb.sqs().create_queue(QueueName="dlq")
    bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/second"
    rule_with(tb, {"Id": "bus", "Arn": bus, "DeadLetterConfig": {"Arn": QUEUE + "dlq"}})
    events.delete_event_bus(Name="second")
    events.put_events(Entries=[entry()])
    wait_for(lambda: tb.metrics.get("InvocationsSentToDlq") == 1)
    attributes = queue_messages(tb, "dlq")[0]["MessageAttributes"]
    assert attributes["ERROR_CODE"]["StringValue"] == "ResourceNotFoundException"


def test_request_limits(tb: Trailbridge) -> None:
    events = tb.events()
    with pytest.raises(ServiceError) as info:
        events.put_events(Entries=[entry()] * 11)
    assert info.value.code == "ValidationException"
    with pytest.raises(ServiceError) as info:
        events.put_events(Entries=[entry({"x": "y" * 262_144})])
    assert info.value.message == "Total size of the entries in the request is over the limit."


def test_event_bus_by_arn_and_custom_bus(tb: Trailbridge) -> None:
    got = collector(tb)
    tb.events().create_event_bus(Name="orders")
    rule_with(tb, {"Id": "f", "Arn": FUNCTION + "collect"}, EventBusName="orders")
    arn = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/orders"
    tb.events().put_events(
        Entries=[entry({"n": 1}, EventBusName="orders"), entry({"n": 2}, EventBusName=arn), entry({"n": 3})]
    )
    wait_for(lambda: len(got) == 2)
    assert sorted(e["detail"]["n"] for e in got) == [1, 2]


# -- routing rules ------------------------------------------------------------------------------


def test_disabled_rules_match_nothing(tb: Trailbridge) -> None:
    got = collector(tb)
    rule_with(tb, {"Id": "f", "Arn": FUNCTION + "collect"}, State="DISABLED")
    tb.events().put_events(Entries=[entry()])
    assert tb.pending_deliveries() == 0
    tb.events().enable_rule(Name="r")
    tb.events().put_events(Entries=[entry()])
    wait_for(lambda: got)


def cloudtrail_entry(event_name: str, source: str = "s3.amazonaws.com") -> dict:
    detail = {"eventSource": source, "eventName": event_name}
    return {"Source": "aws.s3", "DetailType": "AWS API Call via CloudTrail", "Detail": json.dumps(detail)}


@pytest.mark.parametrize(
    ("state", "event_name", "source", "delivered"),
    [
        ("ENABLED", "PutBucketAcl", "s3.amazonaws.com", True),
        ("ENABLED", "GetBucketAcl", "s3.amazonaws.com", False),
        ("ENABLED", "ListBuckets", "s3.amazonaws.com", False),
        ("ENABLED", "DescribeInstances", "ec2.amazonaws.com", False),
        ("ENABLED", "GetSessionToken", "sts.amazonaws.com", True),
        ("ENABLED", "GetFederationToken", "sts.amazonaws.com", True),
        ("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", "GetBucketAcl", "s3.amazonaws.com", True),
    ],
)
def test_read_only_cloudtrail_events(state: str, event_name: str, source: str, delivered: bool) -> None:
    tb = Trailbridge(None, FAST)  # routing only: no dispatcher needed
    rule_with(
        tb,
        {"Id": "q", "Arn": QUEUE + "q"},
        pattern=json.dumps({"detail-type": ["AWS API Call via CloudTrail"]}),
        State=state,
    )
    router = tb.engine.router
    router.put_events(ACCOUNT, REGION, [cloudtrail_entry(event_name, source)], trusted=True)
    assert tb.pending_deliveries() == (1 if delivered else 0)


# -- target kinds -------------------------------------------------------------------------------


def test_function_targets_sync_async_and_with_context(tb: Trailbridge) -> None:
    seen: list = []

    async def handler(event):
        await asyncio.sleep(0)
        seen.append(("async", event["id"]))

    tb.functions.register("a", handler)
    tb.functions.register("c", lambda event, context: seen.append(("ctx", context.function_name)))
    rule_with(tb, {"Id": "a", "Arn": FUNCTION + "a"}, {"Id": "c", "Arn": FUNCTION + "c"})
    event_id = tb.events().put_events(Entries=[entry()])["Entries"][0]["EventId"]
    wait_for(lambda: len(seen) == 2)
    assert sorted(seen) == [("async", event_id), ("ctx", "c")]
    assert tb.metrics.get("Invocations") == 2
    assert tb.metrics.latency()["count"] == 2


def test_function_from_config_spec() -> None:
    tb = Trailbridge(None)
    tb.functions.register_spec("dumps=json:dumps")
    assert tb.functions.exists(FUNCTION + "dumps")
    with pytest.raises(Exception, match="is not NAME=module:callable"):
        tb.functions.register_spec("broken")


def test_queue_target_and_receive_delete(tb: Trailbridge) -> None:
    sqs = tb.sqs()
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    rule_with(tb, {"Id": "q", "Arn": QUEUE + "q", "InputPath": "$.detail"})
    tb.events().put_events(Entries=[entry({"hello": "world"})])
    wait_for(
        lambda: (
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessages"]
            == "1"
        )
    )
    message = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"][0]
    assert json.loads(message["Body"]) == {"hello": "world"}
    assert sqs.receive_message(QueueUrl=url) == {}  # invisible while received
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    with pytest.raises(ServiceError) as info:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert info.value.code == "ReceiptHandleIsInvalid"
    with pytest.raises(ServiceError) as info:
        sqs.get_queue_url(QueueName="nope")
    assert info.value.code == "QueueDoesNotExist"


def test_received_message_becomes_visible_again() -> None:
    tb = Trailbridge(None)
    sqs = tb.sqs()
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hi")
    first = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]
    second = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"][0]
    assert first["MessageId"] == second["MessageId"]
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"


def test_bus_to_bus_and_log_group_targets(tb: Trailbridge) -> None:
    got = collector(tb)
    events = tb.events()
    events.create_event_bus(Name="second")
    rule_with(tb, {"Id": "f", "Arn": FUNCTION + "collect"}, EventBusName="second", name="on-second")
    tb.logs().create_log_group(logGroupName="/audit")
    rule_with(
        tb,
        {"Id": "bus", "Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/second"},
        {"Id": "log", "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/audit"},
    )
    events.put_events(Entries=[entry({"via": "default"})])
    wait_for(lambda: got)
    assert got[0]["detail"] == {"via": "default"}
    wait_for(lambda: tb.logs().filter_log_events(logGroupName="/audit")["events"])
    logged = tb.logs().filter_log_events(logGroupName="/audit")["events"][0]
    assert json.loads(logged["message"])["detail"] == {"via": "default"}


def test_bus_target_in_another_account(tb: Trailbridge) -> None:
    other = tb.events(account="210987654321")
    other.put_rule(Name="in", EventPattern=PATTERN)
    got = collector(tb, "other")
    other.put_targets(Rule="in", Targets=[{"Id": "f", "Arn": f"arn:aws:lambda:{REGION}:210987654321:function:other"}])
    # The other account's bus policy lets this account put events there (without it PutTargets is refused).
    PermissionsService(tb.engine, "210987654321", REGION).put_permission(Principal=ACCOUNT, StatementId="in")
    rule_with(tb, {"Id": "bus", "Arn": f"arn:aws:events:{REGION}:210987654321:event-bus/default"})
    tb.events().put_events(Entries=[entry()])
    wait_for(lambda: got)
    assert got[0]["account"] == "210987654321"


def test_loops_are_stopped_and_counted(tb: Trailbridge) -> None:
    # A rule whose target is its own bus: every event would come back forever.
    rule_with(tb, {"Id": "self", "Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"})
    tb.events().put_events(Entries=[entry()])
    wait_for(lambda: tb.metrics.get("LoopsStopped") == 1)
    wait_for(lambda: tb.pending_deliveries() == 0)
    assert tb.metrics.get("Invocations") == tb.settings.max_rule_hops


def test_function_that_puts_events_is_part_of_the_chain(tb: Trailbridge) -> None:
    def echo(event):
        tb.events().put_events(Entries=[entry()])

    tb.functions.register("echo", echo)
    rule_with(tb, {"Id": "echo", "Arn": FUNCTION + "echo"})
    tb.events().put_events(Entries=[entry()])
    wait_for(lambda: tb.metrics.get("LoopsStopped") == 1)


# -- failures, retries, dead letters ------------------------------------------------------------


def test_failing_function_retries_then_dead_letters_with_aws_attributes(
    tb: Trailbridge, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list = []

    def broken(event):
        calls.append(event)
        raise RuntimeError("boom")

    tb.functions.register("broken", broken)
    tb.sqs().create_queue(QueueName="dlq")
    target = {
        "Id": "b",
        "Arn": FUNCTION + "broken",
        "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 60},
        "DeadLetterConfig": {"Arn": QUEUE + "dlq"},
    }
    rule_with(tb, target)
    with caplog.at_level("WARNING", logger="trailbridge.delivery"):
        event_id = tb.events().put_events(Entries=[entry()])["Entries"][0]["EventId"]
        wait_for(lambda: tb.metrics.get("InvocationsSentToDlq") == 1)
    assert len(calls) == 3  # the first invocation and two retries
    failed = [r.getMessage() for r in caplog.records if event_id in r.getMessage()]
    assert failed == [
        f"event {event_id} to target b of arn:aws:events:{REGION}:{ACCOUNT}:rule/r failed after 3 attempt(s): "
        "FUNCTION_ERROR: RuntimeError: boom"
    ]  # logged, not only counted
    message = queue_messages(tb, "dlq")[0]
    assert json.loads(message["Body"])["id"] == event_id
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes == {
        "RULE_ARN": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/r",
        "TARGET_ARN": FUNCTION + "broken",
        "ERROR_CODE": "FUNCTION_ERROR",
        "ERROR_MESSAGE": "RuntimeError: boom",
    }
    assert tb.metrics.get("RetryInvocationAttempts") == 2
    assert tb.metrics.get("FailedInvocations") == 1
    assert tb.pending_deliveries() == 0


def test_without_dead_letter_queue_the_event_is_dropped_and_counted(tb: Trailbridge) -> None:
    tb.functions.register("broken", lambda e: 1 / 0)
    rule_with(tb, {"Id": "b", "Arn": FUNCTION + "broken", "RetryPolicy": {"MaximumRetryAttempts": 0}})
    tb.events().put_events(Entries=[entry()])
    wait_for(lambda: tb.metrics.get("DroppedEvents") == 1)
    assert tb.pending_deliveries() == 0


def test_failed_transformation_is_dead_lettered_logged_and_counted(
    tb: Trailbridge, caplog: pytest.LogCaptureFixture
) -> None:
    # An object inside quotes in a JSON template: AWS delivers nothing. The event goes to the dead-letter queue
    # at once (it would fail again), with an ERROR_CODE saying why; the target is never invoked.
    got = collector(tb)
    tb.sqs().create_queue(QueueName="dlq")
    transformer = {"InputPathsMap": {"payload": "$.detail.payload"}, "InputTemplate": '{"payload": "<payload>"}'}
    target = {
        "Id": "f",
        "Arn": FUNCTION + "collect",
        "InputTransformer": transformer,
        "DeadLetterConfig": {"Arn": QUEUE + "dlq"},
    }
    rule_with(tb, target)
    with caplog.at_level("WARNING", logger="trailbridge.delivery"):
        event_id = tb.events().put_events(Entries=[entry({"payload": {"acc_id": "0a787ecb-4015"}})])["Entries"][0]
        wait_for(lambda: tb.metrics.get("InvocationsSentToDlq") == 1)
    message = queue_messages(tb, "dlq")[0]
    assert json.loads(message["Body"])["id"] == event_id["EventId"]
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes == {
        "RULE_ARN": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/r",
        "TARGET_ARN": FUNCTION + "collect",
        "ERROR_CODE": "TRANSFORMATION_FAILURE",
        "ERROR_MESSAGE": "InputTemplate for target f did not give valid JSON for this event: <payload> inside quotes "
        "held an object or list.",
    }
    assert got == []
    assert tb.metrics.get("FailedInvocations") == 1 and tb.metrics.get("DeadLetterInvocations") == 1
    assert tb.metrics.get("RetryInvocationAttempts") == 0 and tb.metrics.get("Invocations") == 0
    assert any(
        event_id["EventId"] in r.getMessage() and "did not give valid JSON" in r.getMessage() for r in caplog.records
    )
    assert tb.pending_deliveries() == 0


def test_failed_transformation_without_dead_letter_queue_is_dropped_and_counted(tb: Trailbridge) -> None:
    got = collector(tb)
    transformer = {"InputPathsMap": {"tags": "$.detail.tags"}, "InputTemplate": '["<tags>"]'}
    rule_with(tb, {"Id": "f", "Arn": FUNCTION + "collect", "InputTransformer": transformer})
    tb.events().put_events(Entries=[entry({"tags": ["HIGH"]}), entry({"tags": []})])
    wait_for(lambda: tb.metrics.get("DroppedEvents") == 1 and len(got) == 1)
    assert got == [["[]"]]  # the JSON text between the quotes is still JSON when it holds no quote marks
    assert tb.metrics.get("FailedInvocations") == 1


def test_maximum_event_age_ends_retries() -> None:
    settings = Settings(retry_base_seconds=0.05, retry_max_seconds=0.05)
    with Trailbridge(None, settings) as tb:
        calls: list = []
        tb.functions.register("broken", lambda e: calls.append(1) or 1 / 0)
        tb.sqs().create_queue(QueueName="dlq")
        # 60 s is the smallest age AWS allows; a clock would be needed to wait that long, so check the rule
        # through the policy function instead and the wiring with attempts here.
        rule_with(
            tb,
            {
                "Id": "b",
                "Arn": FUNCTION + "broken",
                "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 60},
                "DeadLetterConfig": {"Arn": QUEUE + "dlq"},
            },
        )
        tb.events().put_events(Entries=[entry()])
        wait_for(lambda: len(calls) >= 3)
        assert tb.metrics.get("InvocationsSentToDlq") == 0  # still retrying: the age limit is not reached


# -- HTTP targets -------------------------------------------------------------------------------


PASSWORD = "pass!word.1"


def destination(tb: Trailbridge, endpoint: Endpoint, path: str, auth: str = "API_KEY", **extra) -> str:
    params = {
        "API_KEY": {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret"}},
        "BASIC": {"BasicAuthParameters": {"Username": "user", "Password": PASSWORD}},
        "OAUTH_CLIENT_CREDENTIALS": {
            "OAuthParameters": {
                "ClientParameters": {"ClientID": "client", "ClientSecret": "csecret"},
                "AuthorizationEndpoint": endpoint.url + "/token",
                "HttpMethod": "POST",
                "OAuthHttpParameters": {"BodyParameters": [{"Key": "grant_type", "Value": "client_credentials"}]},
            }
        },
    }[auth]
    api = tb.destinations()
    name = f"c-{auth.lower().replace('_', '-')}-{abs(hash(path)) % 10_000}"
    connection = api.create_connection(Name=name, AuthorizationType=auth, AuthParameters=params)["ConnectionArn"]
    created = api.create_api_destination(
        Name=name, ConnectionArn=connection, InvocationEndpoint=endpoint.url + path, HttpMethod="POST", **extra
    )
    return created["ApiDestinationArn"]


def test_http_target_with_api_key_path_query_and_headers(tb: Trailbridge, endpoint: Endpoint) -> None:
    arn = destination(tb, endpoint, "/ok/*/items")
    http = {
        "PathParameterValues": ["tenant 1"],
        "QueryStringParameters": {"q": "1"},
        "HeaderParameters": {"X-Extra": "e"},
    }
    rule_with(tb, {"Id": "h", "Arn": arn, "HttpParameters": http})
    tb.events().put_events(Entries=[entry({"n": 1})])
    wait_for(lambda: endpoint.received("/ok"))
    request = endpoint.received("/ok")[0]
    assert request["path"] == "/ok/tenant%201/items?q=1"
    assert request["headers"]["x-api-key"] == "s3cret"
    assert request["headers"]["X-Extra"] == "e"
    assert request["headers"]["User-Agent"] == "Amazon/EventBridge/ApiDestinations"
    assert json.loads(request["body"])["detail"] == {"n": 1}


def test_http_basic_and_oauth(tb: Trailbridge, endpoint: Endpoint) -> None:
    basic = destination(tb, endpoint, "/ok/basic", "BASIC")
    oauth = destination(tb, endpoint, "/ok/oauth", "OAUTH_CLIENT_CREDENTIALS")
    rule_with(tb, {"Id": "b", "Arn": basic}, {"Id": "o", "Arn": oauth})
    tb.events().put_events(Entries=[entry(), entry()])
    wait_for(lambda: len(endpoint.received("/ok/")) == 4)
    basic_auth = endpoint.received("/ok/basic")[0]["headers"]["Authorization"]
    assert basic_auth == "Basic " + base64.b64encode(b"user:" + PASSWORD.encode()).decode()
    assert {r["headers"]["Authorization"] for r in endpoint.received("/ok/oauth")} == {"Bearer token-1"}  # cached
    token_request = endpoint.received("/token")[0]
    assert token_request["headers"]["Authorization"] == "Basic " + base64.b64encode(b"client:csecret").decode()
    assert token_request["body"] == "grant_type=client_credentials"


def test_connection_secrets_are_never_returned(tb: Trailbridge, endpoint: Endpoint) -> None:
    destination(tb, endpoint, "/ok", "BASIC")
    api = tb.destinations()
    name = api.list_connections()["Connections"][0]["Name"]
    described = api.describe_connection(Name=name)
    assert PASSWORD not in json.dumps(described, default=str)
    assert described["AuthParameters"] == {"BasicAuthParameters": {"Username": "user"}}
    stored = json.dumps(tb.engine.resources.all_of_kind("connection"))
    assert PASSWORD not in stored  # '!' and '.' never occur in Fernet's base64url text


def test_http_retries_5xx_until_success(tb: Trailbridge, endpoint: Endpoint) -> None:
    arn = destination(tb, endpoint, "/flaky/2")
    rule_with(tb, {"Id": "h", "Arn": arn})
    tb.events().put_events(Entries=[entry()])
    wait_for(lambda: tb.metrics.get("Invocations") == 1)
    assert len(endpoint.received("/flaky/2")) == 3
    assert tb.metrics.get("RetryInvocationAttempts") == 2


def test_http_400_goes_to_dead_letter_queue_at_once(tb: Trailbridge, endpoint: Endpoint) -> None:
    tb.sqs().create_queue(QueueName="dlq")
    arn = destination(tb, endpoint, "/bad")
    rule_with(tb, {"Id": "h", "Arn": arn, "DeadLetterConfig": {"Arn": QUEUE + "dlq"}})
    tb.events().put_events(Entries=[entry()])
    wait_for(lambda: tb.metrics.get("InvocationsSentToDlq") == 1)
    assert len(endpoint.received("/bad")) == 1
    attributes = queue_messages(tb, "dlq")[0]["MessageAttributes"]
    assert attributes["ERROR_CODE"]["StringValue"] == "HTTP_400"


def test_http_timeout_is_retried_then_dead_lettered(tb: Trailbridge, endpoint: Endpoint) -> None:
    tb.sqs().create_queue(QueueName="dlq")
    arn = destination(tb, endpoint, "/slow")
    rule_with(
        tb,
        {"Id": "h", "Arn": arn, "RetryPolicy": {"MaximumRetryAttempts": 1}, "DeadLetterConfig": {"Arn": QUEUE + "dlq"}},
    )
    tb.events().put_events(Entries=[entry()])
    wait_for(lambda: tb.metrics.get("InvocationsSentToDlq") == 1, timeout=10)
    assert queue_messages(tb, "dlq")[0]["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "TIMEOUT"


def test_slow_target_does_not_block_others(tb: Trailbridge, endpoint: Endpoint) -> None:
    got = collector(tb)
    slow = destination(tb, endpoint, "/slow")
    rule_with(tb, {"Id": "slow", "Arn": slow, "RetryPolicy": {"MaximumRetryAttempts": 0}}, name="slow")
    rule_with(tb, {"Id": "f", "Arn": FUNCTION + "collect"}, name="fast")
    tb.events().put_events(Entries=[entry()] * 10)
    wait_for(lambda: len(got) == 10, timeout=0.4)  # well before the slow endpoint's 0.5 s timeout


def test_rate_limit_is_enforced(tb: Trailbridge, endpoint: Endpoint) -> None:
    arn = destination(tb, endpoint, "/ok/limited", InvocationRateLimitPerSecond=5)
    rule_with(tb, {"Id": "h", "Arn": arn})
    for _ in range(2):
        tb.events().put_events(Entries=[entry()] * 10)
    wait_for(lambda: len(endpoint.received("/ok/limited")) == 20, timeout=10)
    assert tb.metrics.get("ThrottledRules") > 0


def test_stop_lets_in_flight_deliveries_finish(endpoint: Endpoint) -> None:
    tb = Trailbridge(None, Settings(http_timeout_seconds=5))
    tb.start()
    arn = destination(tb, endpoint, "/slow")
    rule_with(tb, {"Id": "h", "Arn": arn})
    tb.events().put_events(Entries=[entry()])
    wait_for(lambda: endpoint.received("/slow"))
    tb.stop()  # waits for the 2 s answer within the grace period
    assert tb.metrics.get("Invocations") == 1
    assert tb.pending_deliveries() == 0
    tb.close()
