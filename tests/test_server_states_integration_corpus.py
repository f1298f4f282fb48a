"""Conformance through the service: the AWS-recorded executions whose Tasks call other services
(`integration_cases`), run as StartExecution and stepped by the driver on a ManualClock, as
tests/test_server_states_corpus.py runs the pure ones. The resources a case's input names are made first
(their masked names replaced by real ones, in the input only: the definitions take them by path), functions
deployed where the recorded output shows what they returned. Status, error, cause (masked both sides), the
history's event types in order, and the output as JSON where it names no masked ARN or id, are compared;
`SdkHttpMetadata` (the HTTP exchange's headers, their lengths and masked values) is compared by its status
code only. A case trailbridge cannot run as recorded is an xfail with its reason (`NOT_RUN`)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.corpora import load_json
from tests.support.s3 import S3
from tests.test_lambda_service import Lambda, create, zipped
from tests.test_states_corpus import START, _cause_pattern, _expected, _mask
from trailbridge.clock import ManualClock
from trailbridge.runtime import Trailbridge
from trailbridge.services.states import ExecutionsService, MachinesService
from trailbridge.services.states.driver import Driver
from trailbridge.services.states.integrations import Integrations
from trailbridge.states.tasks import TaskFailed, TaskRequest, TaskSucceeded

ACCOUNT, REGION = "111111111111", "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/r"
CASES: list[dict[str, Any]] = load_json("stepfunctions", "aws-recorded.json")["integration_cases"]
_MASKED_ID = re.compile(r"<[A-Za-z_\-:0-9]+>")  # a masked ARN part, name or id: the recording's, not ours
ECHO = "def handler(event, context):\n    return event\n"
# The recorded cause's stack trace quotes the function's line: handler.py, line 2.
RAISES = 'def handler(event, context):\n    raise Exception("Some exception was raised.")\n'

# What a deployed function does, by case: inferred from the recorded output, whose Payload is the input's.
ECHOED = {
    "TestTaskServiceLambda::test_invoke",
    "TestTaskServiceLambda::test_invoke_unsupported_param",
    "TestBaseScenarios::test_lambda_service_invoke",
    *(f"TestTaskServiceLambda::test_invoke_json_values[{v}]" for v in ("HelloWorld", "0.0", "0_1")),
    *(f"TestTaskServiceLambda::test_invoke_json_values[json_value{n}]" for n in (5, 6, 7)),
}
CODE = {
    **dict.fromkeys(ECHOED, ECHO),
    **dict.fromkeys(
        (
            "TestTaskServiceLambda::test_raise_exception",
            "TestTaskServiceLambda::test_raise_exception_catch",
            "TestAssignReferenceVariables::test_assign_in_catch_state",
            "TestBaseScenarios::test_lambda_service_invoke_with_retry_extended_input",
            "TestBaseScenarios::test_retry_interval_features_max_attempts_zero",
        ),
        RAISES,
    ),
}
# Callback cases that end at their timeout: nothing answers the token, as nothing did in the recording.
UNANSWERED = {
    "TestCallback::test_sqs_wait_for_task_token_no_token_parameter",
    "TestHeartbeats::test_heartbeat_timeout",
    "TestHeartbeats::test_heartbeat_no_timeout",
}
_CALLBACK = (
    "the recording's test answered the task token from outside the execution (SendTaskSuccess/heartbeats by "
    "the test, on its own timing); the corpus keeps neither the answers nor their times"
)
_S3_DATA = "the S3 object the Map's ItemReader (or ResultWriter) reads is the test's fixture file, not in the corpus"
_LAMBDA_CODE = "the function's code is not in the corpus and the recorded output/cause does not show what it did"
NOT_RUN: dict[str, str] = {
    "TestTaskServiceLambda::test_invoke_timeout": (
        "a function that runs past TimeoutSeconds is needed (its code is not in the corpus)"
    ),
    "TestTimeouts::test_service_lambda_map_timeout": (
        "a function that runs past TimeoutSeconds is needed (its code is not in the corpus); and AWS recorded all "
        "four iterations' TaskStateEntered/TaskScheduled before any TaskStarted, where trailbridge steps each in turn"
    ),
}
NO_CALL = {  # the state fails before its function is called: no function needed
    "TestAssignReferenceVariables::test_undefined_reference[BASE_UNDEFINED_ARGUMENTS]",
}


def _reason(case: dict[str, Any]) -> str | None:
    name, kinds = case["name"], set(case["integrations"])
    text = json.dumps(case["definition"])
    if name in NOT_RUN:
        return NOT_RUN[name]
    if ".waitForTaskToken" in text and name not in UNANSWERED:
        return _CALLBACK
    if "apigateway" in kinds:
        return (
            "apigateway:invoke is not one of trailbridge's task integrations (integrations/__init__.py), and the "
            "REST API the case calls (its stage, paths and their Lambda integrations) is not in the corpus"
        )
    if "startExecution" in text:
        return "cross-account startExecution.sync through a role of a second account the corpus masks"
    if "ItemReader" in text or "ResultWriter" in text or "MaxItemsPath" in text:
        return _S3_DATA
    if "lambda" in kinds and name not in CODE.keys() | NO_CALL:
        return _LAMBDA_CODE
    return None


CHOSEN = [c for c in CASES if c["final"]["status"] in ("SUCCEEDED", "FAILED", "TIMED_OUT")]


@pytest.fixture(scope="module")
def engine() -> Iterator[tuple[Trailbridge, ManualClock, Driver]]:
    clock = ManualClock(START.timestamp())
    tb = Trailbridge(None, clock=clock)
    try:
        yield tb, clock, Driver(tb.engine)  # not started: the test steps it
    finally:
        tb.close()


def _sdk(tb: Trailbridge, action: str, parameters: dict[str, Any]) -> dict[str, Any]:
    def ignore(*_: Any) -> bool:
        return True

    tasks = Integrations(tb.engine, f"arn:aws:states:{REGION}:{ACCOUNT}:execution:setup:s", ROLE, answer=ignore)
    outcome = tasks.invoke(TaskRequest(f"arn:aws:states:::aws-sdk:{action}", parameters, "t", "Setup", None, None))
    assert isinstance(outcome, TaskSucceeded | TaskFailed)
    assert isinstance(outcome, TaskSucceeded), (action, outcome)
    return dict(outcome.output)


def _prepare(tb: Trailbridge, case: dict[str, Any], tag: str) -> tuple[Any, list[tuple[str, str]]]:
    """The case's input with its masked resource names replaced by resources made for it, and the
    replacements (real, masked), to mask the output back as recorded."""
    name, given = case["name"], json.dumps(case["input"])
    masked_back = [(json.dumps(tag), m) for m in ('"<test-table>"', '"table-name"', '"bucket-name"') if m in given]
    if "<resource:1>" in given:  # an SNS topic
        arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{tag}"
        if "error_topic_arn" not in name:  # that case publishes to a topic that does not exist
            _sdk(tb, "sns:createTopic", {"Name": tag})
        given = given.replace("arn:<partition>:sns:<region>:111111111111:<resource:1>", arn)
    if '"topic-arn"' in given:
        given = given.replace('"topic-arn"', json.dumps(_sdk(tb, "sns:createTopic", {"Name": tag})["TopicArn"]))
    for masked in ('"<test-table>"', '"table-name"'):
        if masked in given and "no_such_table" not in name and "invalid" not in name:
            _sdk(tb, "dynamodb:createTable", _table(tag))
        given = given.replace(masked, json.dumps(tag))
    if '"bucket-name"' in given:
        _sdk(tb, "s3:createBucket", {"Bucket": tag})
        if "getObject" in json.dumps(case["definition"]):  # the object the test put: the recorded Body's text
            body = case["final"]["output"]["Body"]
            S3(tb.engine, ACCOUNT).PutObject(Bucket=tag, Key=case["input"]["Key"], Body=body.encode())
        given = given.replace('"bucket-name"', json.dumps(tag))
    if '"<no_such_sqs_queue_url>"' in given:
        # the bare name of no queue; the recorded cause quotes the one the test gave
        unknown = re.search(r"request: ([\w-]+):", case["final"]["cause"])
        given = given.replace('"<no_such_sqs_queue_url>"', json.dumps(unknown.group(1) if unknown else tag))
    for masked in ('"<sqs_queue_url>"', '"sqs_queue_url"'):
        if masked in given:
            url = _sdk(tb, "sqs:createQueue", {"QueueName": tag})["QueueUrl"]
            given = given.replace(masked, json.dumps(url))
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{tag}"
    given = given.replace("arn:<partition>:lambda:<region>:111111111111:function:<lambda-function-name>", function)
    for masked in ('"<lambda_function_name>"', '"<lambda_function_1_name>"', '"lambda_function_name"', function):
        if masked in given and name in CODE:
            create(
                Lambda(tb.engine), tag, Handler="handler.handler", Code={"ZipFile": zipped({"handler.py": CODE[name]})}
            )
            given = given.replace(masked, json.dumps(tag) if masked.startswith('"') else masked)
            break
    return json.loads(given), masked_back


def _table(name: str) -> dict[str, Any]:
    return {
        "TableName": name,
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }


def _drive(clock: ManualClock, driver: Driver, arn: str, executions: ExecutionsService) -> dict[str, Any]:
    deadline = time.monotonic() + 30  # a function runs on a thread of its own: its answer comes in real time
    while time.monotonic() < deadline:
        if not driver.run_once():
            found = executions.describe_execution(executionArn=arn)
            if found["status"] != "RUNNING":
                return found
            upcoming = driver.engine.executions.next_wake()
            if upcoming is None:
                time.sleep(0.05)
            else:
                clock.advance(max(0.0, upcoming - clock.now()))
    raise AssertionError("the execution did not finish")


def _comparable(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (v.get("HttpStatusCode") if k == "SdkHttpMetadata" and isinstance(v, dict) else _comparable(v))
            for k, v in value.items()
            if k != "SdkResponseMetadata"
        }
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


@pytest.mark.parametrize("case", CHOSEN, ids=[c["name"] for c in CHOSEN])
def test_a_recorded_integration_runs_through_the_service(
    case: dict[str, Any], engine: tuple[Trailbridge, ManualClock, Driver]
) -> None:
    reason = _reason(case)
    if reason is not None:
        pytest.xfail(reason)
    tb, clock, driver = engine
    machines, executions = MachinesService(tb.engine, ACCOUNT, REGION), ExecutionsService(tb.engine, ACCOUNT, REGION)
    tag = f"integration-{CHOSEN.index(case)}"
    given, masked_back = _prepare(tb, case, tag)
    arn = machines.create_state_machine(name=tag, definition=json.dumps(case["definition"]), roleArn=ROLE)
    started = executions.start_execution(stateMachineArn=arn["stateMachineArn"], input=json.dumps(given))
    done = _drive(clock, driver, started["executionArn"], executions)
    final = case["final"]
    history = executions.get_execution_history(executionArn=started["executionArn"], maxResults=1000)["events"]
    assert (done["status"], done.get("error")) == (final["status"], final.get("error")), done
    if case["history_event_types"] is not None:
        assert [e["type"] for e in history][: len(case["history_event_types"])] == case["history_event_types"]
    if done["status"] == "FAILED" and isinstance(final.get("cause"), str) and not _MASKED_ID.search(final["cause"]):
        assert re.fullmatch(_cause_pattern(_mask(final["cause"])), _mask(done.get("cause")) or "", re.DOTALL)
    expected = _expected(final.get("output"))
    if done["status"] == "SUCCEEDED" and expected is not None and not _MASKED_ID.search(json.dumps(expected)):
        text = done["output"]
        for real, masked in masked_back:
            text = text.replace(real, masked)
        assert _comparable(_mask(json.loads(text))) == _comparable(expected)
