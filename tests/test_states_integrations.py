"""Task resources as Step Functions calls them (`services/states/integrations.py`): functions (their ARN and
`lambda:invoke`), `sns:publish`, `sqs:sendMessage`, `.waitForTaskToken`, as the execution's role's account,
with AWS's output shapes and error names; a function's answer comes later, by its token."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.support.http import Endpoint
from tests.support.sns import Sns
from tests.test_lambda_service import OWNER, Lambda, create, zipped
from trailbridge.runtime import Trailbridge
from trailbridge.services.base import Engine
from trailbridge.services.cloudtrail import CloudTrailService
from trailbridge.services.destinations import DestinationsService
from trailbridge.services.events import EventsService
from trailbridge.services.operations import handlers
from trailbridge.services.states.integrations import Integrations, tasks_for
from trailbridge.states import Execution
from trailbridge.states.tasks import TaskFailed, TaskPending, TaskRequest, TaskSucceeded

REGION = "us-east-1"
EXECUTION = f"arn:aws:states:{REGION}:{OWNER}:execution:machine:run-1"
ROLE = f"arn:aws:iam::{OWNER}:role/workflow"
OTHER = "999999999999"
APP = """
def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"echo": event, "name": context.function_name}
"""


class Answers:
    """The seam of `answer_task`: what the integrations answered, by token."""

    def __init__(self) -> None:
        self.given: dict[str, TaskSucceeded | TaskFailed] = {}
        self.refusals = 0  # answers refused before the task is recorded as waiting

    def __call__(self, engine: Engine, token: str, outcome: TaskSucceeded | TaskFailed) -> bool:
        if self.refusals:
            self.refusals -= 1
            return False
        self.given[token] = outcome
        return True


@pytest.fixture(name="tb")
def tb_fixture() -> Iterator[Trailbridge]:
    with Trailbridge() as instance:
        yield instance


@pytest.fixture(name="answers")
def answers_fixture() -> Answers:
    return Answers()


@pytest.fixture(name="tasks")
def tasks_fixture(tb: Trailbridge, answers: Answers) -> Integrations:
    return Integrations(tb.engine, EXECUTION, ROLE, answer=answers, background=lambda work: work())


@pytest.fixture(name="aws")
def aws_fixture(tb: Trailbridge) -> Sns:
    return Sns(tb.engine, OWNER)


def request(resource: str, parameters: Any, token: str = "token-1") -> TaskRequest:
    return TaskRequest(resource, parameters, token, "Call", None, None)


def test_send_message_answers_sqs_shape_and_sends_json_values_as_text(tasks: Integrations, aws: Sns) -> None:
    url, _ = aws.queue("inbox")
    body = {"order": 7, "items": ["a"]}
    outcome = tasks.invoke(request("arn:aws:states:::sqs:sendMessage", {"QueueUrl": url, "MessageBody": body}))
    assert isinstance(outcome, TaskSucceeded)
    text = json.dumps(body, separators=(",", ":"))
    assert outcome.output["MD5OfMessageBody"] == hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
    [message] = aws.received(url)
    assert (message["MessageId"], json.loads(message["Body"])) == (outcome.output["MessageId"], body)
    metadata = outcome.output["SdkHttpMetadata"]
    assert metadata["HttpStatusCode"] == 200
    assert metadata["HttpHeaders"]["x-amzn-RequestId"] == outcome.output["SdkResponseMetadata"]["RequestId"]
    assert metadata["AllHttpHeaders"]["Date"] == [metadata["HttpHeaders"]["Date"]]


def test_publish_reaches_the_topics_subscribers(tasks: Integrations, aws: Sns) -> None:
    topic = aws.topic("decisions")
    url, queue = aws.queue("decided")
    aws.subscribe(topic, queue, RawMessageDelivery="true")
    outcome = tasks.invoke(request("arn:aws:states:::sns:publish", {"TopicArn": topic, "Message": "approve?"}))
    assert isinstance(outcome, TaskSucceeded)
    assert set(outcome.output) == {"MessageId", "SdkHttpMetadata", "SdkResponseMetadata"}
    assert [m["Body"] for m in aws.received(url)] == ["approve?"]


def test_wait_for_task_token_sends_the_token_and_waits(tasks: Integrations, aws: Sns) -> None:
    url, _ = aws.queue("approvals")
    params = {"QueueUrl": url, "MessageBody": {"token": "tok-42", "user": "bob"}}
    outcome = tasks.invoke(request("arn:aws:states:::sqs:sendMessage.waitForTaskToken", params, "tok-42"))
    assert isinstance(outcome, TaskPending) and outcome.submitted is not None  # the call's answer: TaskSubmitted
    assert [json.loads(m["Body"])["token"] for m in aws.received(url)] == ["tok-42"]


def test_service_errors_are_named_as_step_functions_names_them(tasks: Integrations, aws: Sns, tb: Trailbridge) -> None:
    missing = tasks.invoke(
        request("arn:aws:states:::sqs:sendMessage", {"QueueUrl": f"{aws.sqs.url('nope')}", "MessageBody": "x"})
    )
    assert isinstance(missing, TaskFailed)
    assert missing.error == "SQS.QueueDoesNotExistException"
    assert missing.cause is not None and "Status Code: 400; Error Code: QueueDoesNotExist" in missing.cause
    foreign = Sns(tb.engine, OTHER).topic("theirs")  # its default policy lets only its own account publish
    refused = tasks.invoke(request("arn:aws:states:::sns:publish", {"TopicArn": foreign, "Message": "hi"}))
    assert isinstance(refused, TaskFailed)
    assert refused.error == "SNS.AuthorizationErrorException"
    invalid = tasks.invoke(request("arn:aws:states:::sns:publish", {"TopicArn": foreign}))
    assert isinstance(invalid, TaskFailed) and invalid.error is not None and invalid.error.startswith("SNS.")


def test_a_resource_trailbridge_cannot_call_fails_the_task(tasks: Integrations) -> None:
    for resource in ("arn:aws:states:::glue:startJobRun.sync", "arn:aws:ecs:us-east-1:1:task/x"):
        outcome = tasks.invoke(request(resource, {}))
        assert isinstance(outcome, TaskFailed)
        assert (outcome.error, resource in (outcome.cause or "")) == ("States.TaskFailed", True)
    outcome = tasks.invoke(request("arn:aws:states:::sqs:sendMessage", ["not", "an", "object"]))
    assert isinstance(outcome, TaskFailed) and outcome.error == "States.TaskFailed"


@pytest.fixture(name="echo")
def echo_fixture(tb: Trailbridge) -> str:
    return str(create(Lambda(tb.engine), "echo", Code={"ZipFile": zipped({"app.py": APP})})["FunctionArn"])


def test_a_function_arn_runs_later_and_answers_its_result(
    tb: Trailbridge, answers: Answers, echo: str, aws: Sns
) -> None:
    later: list[Callable[[], None]] = []
    tasks = Integrations(tb.engine, EXECUTION, ROLE, answer=answers, background=later.append)
    assert tasks.invoke(request(echo, {"k": 1}, "t-ok")) == TaskPending()
    assert tasks.invoke(request(echo, {"fail": True}, "t-fail")) == TaskPending()
    assert answers.given == {}  # nothing ran on the driver's thread
    answers.refusals = 2  # the driver has not recorded the first task yet: the answer is given again
    for work in later:
        work()
    assert answers.given["t-ok"] == TaskSucceeded({"echo": {"k": 1}, "name": "echo"})
    failed = answers.given["t-fail"]
    assert isinstance(failed, TaskFailed) and failed.error == "ValueError"
    assert json.loads(failed.cause or "")["errorMessage"] == "asked to fail"


def test_lambda_invoke_answers_the_invoke_shape_with_the_payload_parsed(
    tasks: Integrations, answers: Answers, echo: str
) -> None:
    params = {"FunctionName": "echo", "Payload": {"n": 2}}
    assert tasks.invoke(request("arn:aws:states:::lambda:invoke", params, "t-1")) == TaskPending()
    answer = answers.given["t-1"]
    assert isinstance(answer, TaskSucceeded)
    shown = {k: v for k, v in answer.output.items() if not k.startswith("Sdk")}
    assert shown == {"ExecutedVersion": "$LATEST", "Payload": {"echo": {"n": 2}, "name": "echo"}, "StatusCode": 200}
    missing = {"FunctionName": "absent", "Payload": {}}
    assert tasks.invoke(request("arn:aws:states:::lambda:invoke", missing, "t-2")) == TaskPending()
    failed = answers.given["t-2"]
    assert isinstance(failed, TaskFailed) and failed.error == "Lambda.ResourceNotFoundException"
    assert "Service: AWSLambda; Status Code: 404" in (failed.cause or "")


def test_lambda_invoke_wait_for_task_token_leaves_the_answer_to_the_callback(
    tasks: Integrations, answers: Answers, echo: str
) -> None:
    resource = "arn:aws:states:::lambda:invoke.waitForTaskToken"
    ran = tasks.invoke(request(resource, {"FunctionName": echo, "Payload": {"token": "w-1"}}, "w-1"))
    assert (ran, answers.given) == (TaskPending(), {})  # the function ran; its token's callback answers
    failing = tasks.invoke(request(resource, {"FunctionName": echo, "Payload": {"fail": True}}, "w-2"))
    assert failing == TaskPending()
    failed = answers.given["w-2"]  # a function that fails answers the task itself
    assert isinstance(failed, TaskFailed) and failed.error == "ValueError"


def test_an_execution_runs_a_publish_and_a_function_through_the_invoker(
    tb: Trailbridge, answers: Answers, echo: str, aws: Sns
) -> None:
    url, queue = aws.queue("audit")
    topic = aws.topic("audit")
    aws.subscribe(topic, queue, RawMessageDelivery="true")
    definition = {
        "StartAt": "Notify",
        "States": {
            "Notify": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": topic, "Message.$": "$.user"},
                "ResultPath": "$.published",
                "Next": "Echo",
            },
            "Echo": {"Type": "Task", "Resource": echo, "Parameters": {"who.$": "$.user"}, "End": True},
        },
    }
    now = datetime(2026, 1, 1, tzinfo=UTC)
    execution = Execution.start(
        definition, {"user": "bob"}, execution_arn=EXECUTION, state_machine_arn="sm", role_arn=ROLE, now=now
    )
    later: list[Callable[[], None]] = []
    tasks = Integrations(tb.engine, EXECUTION, ROLE, answer=answers, background=later.append)
    types: list[str] = []
    for _ in range(50):
        step = execution.step(now, tasks)
        types += [event["type"] for event in step.events]
        if step.finished:
            break
        if step.pending_task:
            for work in later:
                work()
            later.clear()
            for token, outcome in answers.given.items():
                assert execution.send_task_result(token, outcome)
            answers.given.clear()
    assert (execution.status, execution.output) == ("SUCCEEDED", {"echo": {"who": "bob"}, "name": "echo"})
    assert types.count("TaskSucceeded") == 2 and types[-1] == "ExecutionSucceeded"
    assert [m["Body"] for m in aws.received(url)] == ["bob"]


def test_tasks_for_is_the_invoker_of_the_roles_account(tb: Trailbridge) -> None:
    invoker = tasks_for(tb.engine, EXECUTION, f"arn:aws:iam::{OTHER}:role/elsewhere")
    assert isinstance(invoker, Integrations)
    assert (invoker.account, invoker.region) == (OTHER, REGION)


def test_put_events_adds_the_executions_arns_and_fails_on_a_failed_entry(tasks: Integrations, aws: Sns) -> None:
    url, queue = aws.queue("events")
    rules = EventsService(aws.engine, OWNER, REGION)
    rules.put_rule(Name="mine", EventPattern=json.dumps({"source": ["my.app"]}))
    rules.put_targets(Rule="mine", Targets=[{"Id": "q", "Arn": queue}])
    entry = {"Source": "my.app", "DetailType": "Order", "Detail": {"id": 7}, "Resources": ["arn:aws:s3:::b"]}
    outcome = tasks.invoke(request("arn:aws:states:::events:putEvents", {"Entries": [entry]}))
    assert isinstance(outcome, TaskSucceeded)
    assert outcome.output["FailedEntryCount"] == 0 and set(outcome.output["Entries"][0]) == {"EventId"}
    delivered: list[dict[str, Any]] = []

    def arrived() -> bool:
        delivered.extend(aws.received(url))
        return bool(delivered)

    wait_for(arrived)
    event = json.loads(delivered[0]["Body"])
    machine = f"arn:aws:states:{REGION}:{OWNER}:stateMachine:machine"
    assert (event["detail"], event["resources"]) == ({"id": 7}, ["arn:aws:s3:::b", EXECUTION, machine])
    bad = {"Source": "my.app", "DetailType": "Order", "Detail": "{not json"}
    failed = tasks.invoke(request("arn:aws:states:::events:putEvents", {"Entries": [bad]}))
    assert isinstance(failed, TaskFailed) and failed.error == "EventBridge.FailedEntry"
    assert json.loads(failed.cause or "")["FailedEntryCount"] == 1


def sdk(tasks: Integrations, action: str, parameters: Any) -> TaskSucceeded | TaskFailed:
    outcome = tasks.invoke(request(f"arn:aws:states:::aws-sdk:{action}", parameters))
    assert isinstance(outcome, TaskSucceeded | TaskFailed)
    return outcome


def records(tb: Trailbridge) -> list[dict[str, Any]]:
    tb.recorder.flush()
    events = CloudTrailService(tb.engine, OWNER, REGION).lookup_events(MaxResults=50)["Events"]
    return [json.loads(event["CloudTrailEvent"]) for event in reversed(events)]


def test_aws_sdk_reaches_moto_and_own_services_with_sdk_error_names(tasks: Integrations, tb: Trailbridge) -> None:
    created = sdk(tasks, "iam:createUser", {"UserName": "bob", "Tags": [{"Key": "team", "Value": "a"}]})
    assert isinstance(created, TaskSucceeded)
    user = created.output["User"]
    assert (user["UserName"], user["Arn"]) == ("bob", f"arn:aws:iam::{OWNER}:user/bob")
    assert user["CreateDate"].endswith("Z")  # a timestamp, as JSON text
    assert sdk(tasks, "iam:tagUser", {"UserName": "bob", "Tags": [{"Key": "ok", "Value": "1"}]}) == TaskSucceeded({})
    missing = sdk(tasks, "iam:deleteUser", {"UserName": "nobody"})
    assert isinstance(missing, TaskFailed) and missing.error == "Iam.NoSuchEntityException"
    assert "(Service: Iam, Status Code: 404, Request ID: " in (missing.cause or "")
    queue = sdk(tasks, "sqs:createQueue", {"QueueName": "made"})  # trailbridge's own SQS
    assert queue == TaskSucceeded({"QueueUrl": aws_url(tb, "made")})
    refused = sdk(tasks, "s3:putBucketPolicy", {"Bucket": "absent-bucket", "Policy": "{}"})
    assert isinstance(refused, TaskFailed) and refused.error == "S3.NoSuchBucketException"
    invalid = sdk(tasks, "iam:createUser", {"UserName": 7})
    assert isinstance(invalid, TaskFailed) and invalid.error is not None and invalid.error.startswith("Iam.")
    for unknown in ("iam:noSuchAction", "nosuchservice:doIt"):
        outcome = sdk(tasks, unknown, {})
        assert isinstance(outcome, TaskFailed) and outcome.error == "States.TaskFailed"


def aws_url(tb: Trailbridge, name: str) -> str:
    return f"{tb.engine.settings.endpoint_url}/{OWNER}/{name}"


def test_every_call_is_a_cloudtrail_record_of_the_roles_session(tasks: Integrations, tb: Trailbridge) -> None:
    sdk(tasks, "iam:createUser", {"UserName": "carol"})
    sdk(tasks, "iam:deleteUser", {"UserName": "nobody"})
    sdk(tasks, "sqs:createQueue", {"QueueName": "recorded"})
    found = {(r["eventSource"], r["eventName"]): r for r in records(tb)}
    create_user = found[("iam.amazonaws.com", "CreateUser")]
    identity = create_user["userIdentity"]
    assert identity["type"] == "AssumedRole" and identity["invokedBy"] == "states.amazonaws.com"
    assert identity["arn"].startswith(f"arn:aws:sts::{OWNER}:assumed-role/workflow/")
    assert identity["sessionContext"]["sessionIssuer"]["arn"] == ROLE
    assert (create_user["sourceIPAddress"], create_user["userAgent"]) == ("states.amazonaws.com",) * 2
    assert create_user["requestParameters"] == {"userName": "carol"}
    assert found[("iam.amazonaws.com", "DeleteUser")]["errorCode"] == "NoSuchEntityException"
    queue = found[("sqs.amazonaws.com", "CreateQueue")]
    assert queue["userIdentity"] == identity and queue["responseElements"]["queueUrl"] == aws_url(tb, "recorded")


@pytest.fixture(name="endpoint")
def endpoint_fixture() -> Iterator[Endpoint]:
    served = Endpoint()
    yield served
    served.close()


def connection(tb: Trailbridge, name: str, auth: str, params: dict[str, Any], **extra: Any) -> str:
    api = DestinationsService(tb.engine, OWNER, REGION)
    created = api.create_connection(Name=name, AuthorizationType=auth, AuthParameters={**params, **extra})
    return str(created["ConnectionArn"])


API_KEY = {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k3y-value"}}


def test_http_invoke_goes_through_the_connection_and_answers_the_response(
    tb: Trailbridge, tasks: Integrations, answers: Answers, endpoint: Endpoint
) -> None:
    invocation = {"InvocationHttpParameters": {"HeaderParameters": [{"Key": "X-Team", "Value": "conn"}]}}
    arn = connection(tb, "api", "API_KEY", API_KEY, **invocation)
    params = {
        "ApiEndpoint": f"{endpoint.url}/ok/orders",
        "Method": "POST",
        "Authentication": {"ConnectionArn": arn},
        "Headers": {"X-Team": "task", "X-Task": "1"},
        "QueryParameters": {"page": "2"},
        "RequestBody": {"order": 7},
    }
    assert tasks.invoke(request("arn:aws:states:::http:invoke", params, "h-1")) == TaskPending()
    answer = answers.given["h-1"]
    assert isinstance(answer, TaskSucceeded)
    assert (answer.output["StatusCode"], answer.output["StatusText"], answer.output["ResponseBody"]) == (200, "OK", {})
    assert answer.output["Headers"]["Content-Type"] == ["application/json"]
    [sent] = endpoint.received("/ok/orders")
    assert (sent["method"], sent["path"], json.loads(sent["body"])) == ("POST", "/ok/orders?page=2", {"order": 7})
    headers = sent["headers"]
    assert (headers["x-api-key"], headers["X-Team"], headers["X-Task"]) == ("k3y-value", "conn", "1")
    assert headers["User-Agent"] == f"Amazon|StepFunctions|HttpInvoke|{REGION}"


def test_http_invoke_errors_name_the_status_or_the_socket(
    tb: Trailbridge, tasks: Integrations, answers: Answers, endpoint: Endpoint
) -> None:
    arn = connection(tb, "api", "API_KEY", API_KEY)
    bad = {"ApiEndpoint": f"{endpoint.url}/bad", "Method": "GET", "Authentication": {"ConnectionArn": arn}}
    tasks.invoke(request("arn:aws:states:::http:invoke", bad, "h-400"))
    failed = answers.given["h-400"]
    assert isinstance(failed, TaskFailed) and failed.error == "States.Http.StatusCode.400"
    assert json.loads(failed.cause or "")["StatusCode"] == 400
    closed = {**bad, "ApiEndpoint": "http://127.0.0.1:9/nothing"}
    tasks.invoke(request("arn:aws:states:::http:invoke", closed, "h-socket"))
    socket = answers.given["h-socket"]
    assert isinstance(socket, TaskFailed) and socket.error == "States.Http.Socket"
    foreign = arn.replace(f":{OWNER}:", f":{OTHER}:")
    missing = tasks.invoke(
        request("arn:aws:states:::http:invoke", {**bad, "Authentication": {"ConnectionArn": foreign}})
    )
    assert isinstance(missing, TaskFailed) and missing.error == "States.TaskFailed"
    assert tasks.invoke(request("arn:aws:states:::http:invoke", {"Method": "GET"})) == TaskFailed(
        "States.TaskFailed",
        "The HTTP task's parameters are invalid: ApiEndpoint, Method and Authentication.ConnectionArn are required.",
    )


def test_http_invoke_url_encodes_the_body_when_asked(
    tb: Trailbridge, tasks: Integrations, answers: Answers, endpoint: Endpoint
) -> None:
    arn = connection(tb, "basic", "BASIC", {"BasicAuthParameters": {"Username": "u", "Password": "p4ss"}})
    params = {
        "ApiEndpoint": f"{endpoint.url}/ok/form",
        "Method": "PUT",
        "ConnectionArn": arn,
        "RequestBody": {"name": "a b", "tags": ["x", "y"]},
        "Transform": {"RequestBodyEncoding": "URL_ENCODED", "RequestEncodingOptions": {"ArrayFormat": "BRACKETS"}},
    }
    tasks.invoke(request("arn:aws:states:::http:invoke.waitForTaskToken", params, "h-form"))
    assert answers.given == {}  # sent; the callback answers
    [sent] = endpoint.received("/ok/form")
    assert sent["body"] == "name=a+b&tags%5B%5D=x&tags%5B%5D=y"
    assert sent["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent["headers"]["Authorization"].startswith("Basic ")


def test_the_driver_runs_a_function_and_a_publish_through_tasks_for(tb: Trailbridge, echo: str, aws: Sns) -> None:
    url, queue = aws.queue("driven")
    topic = aws.topic("driven")
    aws.subscribe(topic, queue)  # the SNS envelope: its MessageId is the publish's
    definition = {
        "StartAt": "Echo",
        "States": {
            "Echo": {"Type": "Task", "Resource": echo, "ResultPath": "$.echoed", "Next": "Notify"},
            "Notify": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": topic, "Message.$": "$.echoed.echo.user"},
                "ResultSelector": {"id.$": "$.MessageId"},
                "End": True,
            },
        },
    }
    sfn = functools.partial(stepfunctions_call, tb)
    machine = sfn("CreateStateMachine", name="driven", definition=json.dumps(definition), roleArn=ROLE)
    started = sfn("StartExecution", stateMachineArn=machine["stateMachineArn"], input='{"user": "bob"}')
    arn = started["executionArn"]
    wait_for(lambda: sfn("DescribeExecution", executionArn=arn)["status"] != "RUNNING", timeout=15)
    described = sfn("DescribeExecution", executionArn=arn)
    assert described["status"] == "SUCCEEDED", described
    [message] = [json.loads(m["Body"]) for m in aws.received(url)]
    assert (message["Message"], json.loads(described["output"])) == ("bob", {"id": message["MessageId"]})
    history = [e["type"] for e in sfn("GetExecutionHistory", executionArn=arn)["events"]]
    assert history.count("TaskScheduled") == history.count("TaskStarted") == history.count("TaskSucceeded") == 2
    assert history[-1] == "ExecutionSucceeded"


def stepfunctions_call(tb: Trailbridge, operation: str, **params: Any) -> dict[str, Any]:
    return handlers("stepfunctions")[operation].bind(tb.engine, OWNER, REGION)(**params)


def test_aws_sdk_parameters_and_answers_are_pascal_case_whatever_the_apis_names(tasks: Integrations, echo: str) -> None:
    created = sdk(tasks, "cloudwatchlogs:createLogGroup", {"LogGroupName": "/app/audit", "Tags": {"team": "a"}})
    assert created == TaskSucceeded({})  # CloudWatch Logs names it logGroupName
    described = sdk(tasks, "cloudwatchlogs:describeLogGroups", {"LogGroupNamePrefix": "/app/"})
    assert isinstance(described, TaskSucceeded)
    [group] = described.output["LogGroups"]
    assert group["LogGroupName"] == "/app/audit" and "logGroupName" not in group
    variables = {"Environment": {"Variables": {"lower_key": "v"}}}
    updated = sdk(tasks, "lambda:updateFunctionConfiguration", {"FunctionName": echo, **variables})
    assert isinstance(updated, TaskSucceeded)  # a map's keys are data: kept as they are, both ways
    assert updated.output["Environment"] == {"Variables": {"lower_key": "v"}}
    machine = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    made = sdk(tasks, "sfn:createStateMachine", {"Name": "m", "Definition": json.dumps(machine), "RoleArn": ROLE})
    assert isinstance(made, TaskSucceeded) and made.output["StateMachineArn"].endswith(":stateMachine:m")
    unknown = sdk(tasks, "sfn:describeStateMachine", {"StateMachineArn": made.output["StateMachineArn"] + "x"})
    assert isinstance(unknown, TaskFailed) and unknown.error == "Sfn.StateMachineDoesNotExistException"


@pytest.mark.parametrize(
    ("array_format", "encoded"),
    [
        ("INDICES", "tags%5B0%5D=x&tags%5B1%5D=y&n=1"),
        ("REPEAT", "tags=x&tags=y&n=1"),
        ("COMMAS", "tags=x%2Cy&n=1"),
    ],
)
def test_http_invoke_encodes_arrays_as_the_array_format_says(
    tb: Trailbridge, tasks: Integrations, endpoint: Endpoint, array_format: str, encoded: str
) -> None:
    arn = connection(tb, f"form-{array_format.lower()}", "API_KEY", API_KEY)
    params = {
        "ApiEndpoint": f"{endpoint.url}/ok/{array_format}",
        "Method": "POST",
        "Authentication": {"ConnectionArn": arn},
        "RequestBody": {"tags": ["x", "y"], "n": 1},
        "Transform": {"RequestBodyEncoding": "URL_ENCODED", "RequestEncodingOptions": {"ArrayFormat": array_format}},
    }
    tasks.invoke(request("arn:aws:states:::http:invoke", params, f"h-{array_format}"))
    assert [sent["body"] for sent in endpoint.received(f"/ok/{array_format}")] == [encoded]
