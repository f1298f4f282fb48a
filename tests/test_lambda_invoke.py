"""Invoking deployed functions: RequestResponse (payload, FunctionError, LogResult), DryRun, Event (queued
durably, retried, destinations), the function's logs in CloudWatch Logs, and its environment."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.support.s3 import fails
from tests.support.sns import Sns
from tests.test_lambda_service import OWNER, Lambda, create, zipped
from trailbridge.runtime import Trailbridge
from trailbridge.services.logs import LogsService
from trailbridge.services.sqs import QueuesService
from trailbridge.settings import Settings

APP = """
import json, os

def handler(event, context):
    print("got", json.dumps(event))
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"echo": event, "name": context.function_name, "region": os.environ["AWS_REGION"],
            "endpoint": os.environ["AWS_ENDPOINT_URL"], "mine": os.environ.get("MINE")}
"""


@pytest.fixture
def tb() -> Iterator[Trailbridge]:
    settings = Settings(retry_base_seconds=0.01, retry_max_seconds=0.05, lambda_retry_base_seconds=0.01)
    with Trailbridge(None, settings) as instance:
        yield instance


@pytest.fixture
def aws(tb: Trailbridge) -> Lambda:
    create(
        Lambda(tb.engine), "echo", Code={"ZipFile": zipped({"app.py": APP})}, Environment={"Variables": {"MINE": "1"}}
    )
    return Lambda(tb.engine)


def invoked(aws: Lambda, event: dict[str, Any], **params: Any) -> dict[str, Any]:
    return aws.Invoke(FunctionName="echo", Payload=json.dumps(event).encode(), **params)


def test_request_response_answers_the_handlers_result(tb: Trailbridge, aws: Lambda) -> None:
    answer = invoked(aws, {"k": 1})
    assert (answer["StatusCode"], answer["ExecutedVersion"], "FunctionError" in answer) == (200, "$LATEST", False)
    result = json.loads(answer["Payload"])
    assert result == {
        "echo": {"k": 1},
        "name": "echo",
        "region": "us-east-1",
        "endpoint": tb.settings.endpoint_url,
        "mine": "1",
    }


def test_an_exception_is_a_function_error_with_lambdas_payload_and_the_log_tail(aws: Lambda) -> None:
    answer = invoked(aws, {"fail": True}, LogType="Tail")
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"])
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "asked to fail")
    tail = base64.b64decode(answer["LogResult"]).decode()
    assert "START RequestId:" in tail and "REPORT RequestId:" in tail and 'got {"fail": true}' in tail


def test_the_logs_are_in_cloudwatch_logs(tb: Trailbridge, aws: Lambda) -> None:
    invoked(aws, {"k": 2})
    logs = LogsService(tb.engine, OWNER, "us-east-1")
    events = logs.filter_log_events(logGroupName="/aws/lambda/echo")["events"]
    messages = [e["message"] for e in events]
    assert any(m.startswith("START RequestId:") for m in messages)
    assert any('got {"k": 2}' in m for m in messages)
    assert any(m.startswith("REPORT RequestId:") for m in messages)


def test_dry_run_checks_without_running(aws: Lambda) -> None:
    assert invoked(aws, {}, InvocationType="DryRun")["StatusCode"] == 204
    fails(aws.Invoke, "ResourceNotFoundException", 404, FunctionName="missing", Payload=b"{}")


def test_a_payload_over_the_limit_is_refused(aws: Lambda) -> None:
    big = b'"' + b"x" * (256 * 1024) + b'"'
    fails(aws.Invoke, "RequestTooLargeException", 413, FunctionName="echo", Payload=big, InvocationType="Event")


def test_an_event_invocation_runs_later_and_its_destinations_get_lambdas_record(tb: Trailbridge, aws: Lambda) -> None:
    sqs = QueuesService(tb.engine, OWNER, "us-east-1")
    urls = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("ok", "failed")}
    queue = f"arn:aws:sqs:us-east-1:{OWNER}:"
    aws.PutFunctionEventInvokeConfig(
        FunctionName="echo",
        MaximumRetryAttempts=1,
        DestinationConfig={"OnSuccess": {"Destination": queue + "ok"}, "OnFailure": {"Destination": queue + "failed"}},
    )
    assert invoked(aws, {"k": 3}, InvocationType="Event")["StatusCode"] == 202
    assert invoked(aws, {"fail": True}, InvocationType="Event")["StatusCode"] == 202

    def first(url: str) -> dict[str, Any]:
        got: list[dict[str, Any]] = []
        wait_for(lambda: got.extend(sqs.receive_message(QueueUrl=url).get("Messages", [])) or got, timeout=15)
        return json.loads(got[0]["Body"])

    success = first(urls["ok"])
    assert success["requestContext"]["condition"] == "Success"
    assert success["responsePayload"]["echo"] == {"k": 3}
    failure = first(urls["failed"])
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 2
    assert failure["responseContext"]["functionError"] == "Unhandled"


SEEN = """
import json, os

def handler(event, context):
    with open(os.environ["OUT"], "a") as out:
        out.write(json.dumps(event) + "\\n")
"""


def _seen(path: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_rule_invokes_a_deployed_function_only_where_its_policy_lets_eventbridge(
    tb: Trailbridge, tmp_path: Any
) -> None:
    out = tmp_path / "seen.jsonl"
    aws = Lambda(tb.engine)
    code = {"ZipFile": zipped({"app.py": SEEN})}
    fn = create(aws, "seen", Code=code, Environment={"Variables": {"OUT": str(out)}})["FunctionArn"]
    events = tb.events(OWNER)
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["my.app"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "1", "Arn": fn, "RetryPolicy": {"MaximumRetryAttempts": 0}}])
    events.put_events(Entries=[{"Source": "my.app", "DetailType": "t", "Detail": '{"n": 1}'}])
    wait_for(lambda: tb.metrics.get("FailedInvocations") == 1)  # no permission: refused, not invoked
    rule = f"arn:aws:events:us-east-1:{OWNER}:rule/r"
    aws.AddPermission(
        FunctionName="seen",
        StatementId="events",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule,
    )
    events.put_events(Entries=[{"Source": "my.app", "DetailType": "t", "Detail": '{"n": 2}'}])
    wait_for(lambda: _seen(out), timeout=15)
    assert [e["detail"] for e in _seen(out)] == [{"n": 2}]


def test_a_topic_invokes_a_deployed_function_it_may_invoke(tb: Trailbridge, tmp_path: Any) -> None:
    out = tmp_path / "sns.jsonl"
    aws = Lambda(tb.engine)
    code = {"ZipFile": zipped({"app.py": SEEN})}
    fn = create(aws, "alerted", Code=code, Environment={"Variables": {"OUT": str(out)}})["FunctionArn"]
    sns = Sns(tb.engine, OWNER)
    topic = sns.topic("alerts")
    aws.AddPermission(
        FunctionName="alerted",
        StatementId="sns",
        Action="lambda:InvokeFunction",
        Principal="sns.amazonaws.com",
        SourceArn=topic,
    )
    sns.subscriptions.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn)
    sns.publisher.publish(TopicArn=topic, Message="bucket made public")
    wait_for(lambda: _seen(out), timeout=15)
    [event] = _seen(out)
    assert event["Records"][0]["Sns"]["Message"] == "bucket made public"
