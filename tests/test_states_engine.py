"""The interpreter as the service drives it: one transition a step, JSON state between steps, waits
as instants, tasks through the invoker, Retry and Catch, and definitions refused as AWS refuses them."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.test_states_corpus import CASES
from trailbridge.states import (
    Execution,
    InvalidDefinition,
    ScriptedInvoker,
    TaskFailed,
    TaskPending,
    TaskRequest,
    TaskSucceeded,
    validate,
)
from trailbridge.states.definition import parse
from trailbridge.states.tasks import NoTasks

NOW = datetime(2025, 1, 1, tzinfo=UTC)
ARN = "arn:aws:states:us-east-1:111111111111:execution:machine:run-1"


def start(definition: dict[str, Any], value: Any = None) -> Execution:
    return Execution.start(
        definition,
        {} if value is None else value,
        execution_arn=ARN,
        state_machine_arn="arn:aws:states:us-east-1:111111111111:stateMachine:machine",
        role_arn="arn:aws:iam::111111111111:role/r",
        now=NOW,
    )


def drive(execution: Execution, invoker: Any = None, now: datetime = NOW) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for _ in range(1000):
        step = execution.step(now, invoker or NoTasks())
        events += step.events
        if step.finished or step.pending_task:
            return events
        if step.wait_until:
            now = datetime.fromisoformat(step.wait_until.replace("Z", "+00:00"))
    raise AssertionError("did not finish")


WAIT_THEN_PASS = {
    "StartAt": "W",
    "States": {
        "W": {"Type": "Wait", "Seconds": 3600, "Next": "P"},
        "P": {"Type": "Pass", "Result": {"ok": True}, "ResultPath": "$.r", "End": True},
    },
}


def test_a_wait_is_an_instant_and_the_state_resumes_from_json() -> None:
    execution = start(WAIT_THEN_PASS, {"x": 1})
    assert [e["type"] for e in execution.step(NOW, NoTasks()).events] == ["ExecutionStarted"]
    assert [e["type"] for e in execution.step(NOW, NoTasks()).events] == ["WaitStateEntered"]
    step = execution.step(NOW, NoTasks())
    assert step.events == [] and step.wait_until == "2025-01-01T01:00:00.000Z"
    resumed = Execution(execution.definition, json.loads(json.dumps(execution.snapshot())))
    events = drive(resumed, now=NOW + timedelta(hours=1))
    assert [e["type"] for e in events] == [
        "WaitStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert resumed.status == "SUCCEEDED"
    assert resumed.output == {"x": 1, "r": {"ok": True}}
    assert [e["id"] for e in events] == [3, 4, 5, 6] and events[0]["previousEventId"] == 2


def test_history_details_are_awss() -> None:
    execution = start({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, {"a": 1})
    events = drive(execution)
    assert events[0]["executionStartedEventDetails"]["input"] == '{"a":1}'
    assert events[1]["stateEnteredEventDetails"] == {
        "name": "P",
        "input": '{"a":1}',
        "inputDetails": {"truncated": False},
    }
    assert events[2]["stateExitedEventDetails"]["output"] == '{"a":1}'
    assert events[3]["executionSucceededEventDetails"] == {"output": '{"a":1}', "outputDetails": {"truncated": False}}


TASK = {
    "StartAt": "T",
    "States": {
        "T": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"Payload.$": "$"},
            "ResultSelector": {"value.$": "$.Payload"},
            "ResultPath": "$.result",
            "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
            "End": True,
        },
        "Caught": {"Type": "Pass", "End": True},
    },
}


def test_a_task_asks_the_invoker_and_its_result_flows_through_the_paths() -> None:
    invoker = ScriptedInvoker({"arn:aws:states:::lambda:invoke": lambda r: TaskSucceeded(r.parameters)})
    execution = start(TASK, {"n": 1})
    events = drive(execution, invoker)
    assert [e["type"] for e in events] == [
        "ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded",
        "TaskStateExited", "ExecutionSucceeded",
    ]  # fmt: skip
    assert events[2]["taskScheduledEventDetails"]["resourceType"] == "lambda"
    assert execution.output == {"n": 1, "result": {"value": {"n": 1}}}


def test_retry_waits_with_backoff_then_catch_takes_the_error() -> None:
    invoker = ScriptedInvoker({"arn:aws:states:::lambda:invoke": lambda r: TaskFailed("Flaky", "again")})
    execution = start(TASK, {"n": 1})
    events = drive(execution, invoker)
    assert [e["type"] for e in events].count("TaskFailed") == 3
    assert len(invoker.calls) == 3
    assert execution.output == {"n": 1, "error": {"Error": "Flaky", "Cause": "again"}}


def test_wait_for_task_token_pauses_until_the_answer() -> None:
    invoker = ScriptedInvoker({"arn:aws:states:::lambda:invoke": lambda r: TaskPending()})
    execution = start(TASK, {"n": 1})
    drive(execution, invoker)
    token = invoker.calls[0].token
    assert execution.status == "RUNNING"
    assert execution.send_task_result(token, TaskSucceeded({"Payload": 7}))
    assert not execution.send_task_result("no-such-token", TaskSucceeded(1))
    resumed = Execution(execution.definition, json.loads(json.dumps(execution.snapshot())))
    drive(resumed, invoker)
    assert resumed.output == {"n": 1, "result": {"value": 7}}


def test_stop_aborts() -> None:
    execution = start(WAIT_THEN_PASS)
    while execution.step(NOW, NoTasks()).wait_until is None:
        pass
    assert [e["type"] for e in execution.stop(NOW, "Stopped", "by hand")] == ["ExecutionAborted"]
    assert execution.status == "ABORTED"


def test_map_items_and_parallel_branches_give_results_in_order() -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.xs",
                "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
                "Next": "P",
            },
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "a", "End": True}}},
                    {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 1, "End": True}}},
                ],
                "End": True,
            },
        },
    }
    execution = start(definition, {"xs": ["x", "y"]})
    drive(execution)
    assert execution.output == ["a", [{"v": "x", "i": 0}, {"v": "y", "i": 1}]]


def test_jsonata_state_with_variables() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"total": "{% $sum($states.input.xs) %}"}, "Next": "B"},
            "B": {"Type": "Pass", "Output": {"total": "{% $total %}", "u": "{% $uuid() %}"}, "End": True},
        },
    }
    execution = start(definition, {"xs": [1, 2, 3]})
    drive(execution)
    assert execution.output["total"] == 6
    again = start(definition, {"xs": [1, 2, 3]})
    drive(again)
    assert again.output["u"] == execution.output["u"]  # derived from the execution: the same under replay


def test_importing_jsonata_leaves_the_recursion_limit_alone() -> None:
    # jsonata-python raises it to 10,000 at import; code that relies on RecursionError would overflow the
    # C stack instead (a DynamoDB item nested 500 deep in one test run).
    assert sys.getrecursionlimit() == 1000


@pytest.mark.parametrize(
    "expression",
    [
        "( $f := function($n) { $f($n + 1) }; $f(0) )",  # unbounded recursion: the stack bound
        "( $f := function($n) { $n < 0 ? 0 : $f($n) + 0 }; $f(1) )",
    ],
)
def test_a_runaway_jsonata_expression_fails_the_state(expression: str) -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Output": "{% " + expression + " %}", "End": True}},
    }
    execution = start(definition)
    drive(execution)
    assert (execution.status, execution.error) == ("FAILED", "States.QueryEvaluationError")


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nope"}}},
            "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: Nope at /States/A/Next'",
        ),
        (
            {"StartAt": "Z", "States": {"A": {"Type": "Pass", "End": True}}},
            "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: Z at /StartAt'",
        ),
        (
            {"StartAt": "A", "States": {"A": {"Type": "Bogus", "End": True}}},
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Value is not a valid state type at /States/A/Type'",
        ),
    ],
)
def test_invalid_definitions(definition: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidDefinition) as caught:
        validate(definition)
    assert caught.value.message == message


def test_invalid_json() -> None:
    with pytest.raises(InvalidDefinition, match="INVALID_JSON_DESCRIPTION"):
        parse("{")


def test_the_corpus_definitions_are_valid() -> None:
    for case in CASES:
        validate(case["definition"])


def test_request_fields() -> None:
    invoker = ScriptedInvoker({"arn:aws:states:::lambda:invoke": lambda r: TaskSucceeded({})})
    drive(start(TASK), invoker)
    seen: list[TaskRequest] = invoker.calls
    assert seen[0].state_name == "T" and seen[0].parameters == {"Payload": {}}


def test_a_task_waiting_for_its_token_times_out_and_the_heartbeat_keeps_it_alive() -> None:
    definition = json.loads(json.dumps(TASK))
    definition["States"]["T"].update(TimeoutSeconds=100, HeartbeatSeconds=10)
    invoker = ScriptedInvoker({"arn:aws:states:::lambda:invoke": lambda r: TaskPending()})
    execution = start(definition, {"n": 1})
    drive(execution, invoker)
    assert execution.step(NOW, invoker).wait_until == "2025-01-01T00:00:10.000Z"
    assert execution.send_task_heartbeat(invoker.calls[0].token, NOW + timedelta(seconds=5))
    assert execution.step(NOW + timedelta(seconds=12), invoker).wait_until == "2025-01-01T00:00:15.000Z"
    events = drive(execution, invoker, NOW + timedelta(seconds=15))
    assert [e["type"] for e in events][:2] == ["TaskTimedOut", "TaskStateExited"]
    assert events[0]["taskTimedOutEventDetails"]["error"] == "States.Timeout"  # as AWS recorded a missed heartbeat
    assert execution.output == {"n": 1, "error": {"Error": "States.Timeout", "Cause": ""}}


def test_an_activitys_missed_heartbeat_is_a_heartbeat_timeout() -> None:
    activity = "arn:aws:states:us-east-1:111111111111:activity:work"
    definition = json.loads(json.dumps(TASK))
    definition["States"]["T"].update(Resource=activity, HeartbeatSeconds=10)
    invoker = ScriptedInvoker({activity: lambda r: TaskPending()})
    execution = start(definition, {"n": 1})
    drive(execution, invoker)
    drive(execution, invoker, NOW + timedelta(seconds=10))
    assert execution.output == {"n": 1, "error": {"Error": "States.HeartbeatTimeout", "Cause": ""}}


def test_a_tasks_timeout_error_output_has_an_empty_cause() -> None:
    definition = json.loads(json.dumps(TASK))
    definition["States"]["T"].update(TimeoutSeconds=5)
    invoker = ScriptedInvoker({"arn:aws:states:::lambda:invoke": lambda r: TaskPending()})
    execution = start(definition, {"n": 1})
    drive(execution, invoker)
    events = drive(execution, invoker, NOW + timedelta(seconds=5))
    assert [e["type"] for e in events][:2] == ["TaskTimedOut", "TaskStateExited"]
    assert execution.output == {"n": 1, "error": {"Error": "States.Timeout", "Cause": ""}}
    del definition["States"]["T"]["Catch"]  # uncaught, the execution's failure has no cause (as AWS recorded it)
    uncaught = start(definition, {"n": 1})
    drive(uncaught, invoker)
    events = drive(uncaught, invoker, NOW + timedelta(seconds=5))
    assert events[-1]["type"] == "ExecutionFailed" and "cause" not in events[-1]["executionFailedEventDetails"]
    assert (uncaught.status, uncaught.error, uncaught.cause) == ("FAILED", "States.Timeout", None)


def test_a_call_made_for_a_callback_task_is_a_task_submitted_event() -> None:
    sent = TaskSucceeded({"MessageId": "m-1"})
    invoker = ScriptedInvoker({"arn:aws:states:::lambda:invoke": lambda r: TaskPending(sent)})
    events = drive(start(TASK, {"n": 1}), invoker)
    assert [e["type"] for e in events][-2:] == ["TaskStarted", "TaskSubmitted"]
    details = events[-1]["taskSubmittedEventDetails"]
    assert (details["resourceType"], details["resource"]) == ("lambda", "invoke")
    assert json.loads(details["output"]) == {"MessageId": "m-1"}


def test_a_task_that_waits_before_any_call_writes_no_task_submitted_event() -> None:
    invoker = ScriptedInvoker({"arn:aws:states:::lambda:invoke": lambda r: TaskPending()})
    events = drive(start(TASK, {"n": 1}), invoker)
    assert [e["type"] for e in events][-1] == "TaskStarted"


def test_a_catchers_jsonata_assign_sees_the_error_output() -> None:
    catcher = {"ErrorEquals": ["States.ALL"], "Assign": {"seen": "{% $states.errorOutput %}"}, "Next": "H"}
    task = {"Type": "Task", "Resource": "arn:x", "Next": "H", "Catch": [catcher]}
    after = {"Type": "Pass", "Output": "{% $seen %}", "End": True}
    definition = {"QueryLanguage": "JSONata", "StartAt": "T", "States": {"T": task, "H": after}}
    invoker = ScriptedInvoker({"arn:x": lambda r: TaskFailed("Boom", "why")})
    execution = start(definition)
    drive(execution, invoker)
    assert (execution.status, execution.output) == ("SUCCEEDED", {"Error": "Boom", "Cause": "why"})


def test_the_execution_times_out() -> None:
    execution = start({**WAIT_THEN_PASS, "TimeoutSeconds": 60})
    events = drive(execution)
    assert [e["type"] for e in events][-2:] == ["WaitStateEntered", "ExecutionTimedOut"]
    assert execution.status == "TIMED_OUT"


def test_an_output_over_256_kib_is_data_limit_exceeded() -> None:
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "x" * 262_144, "End": True}}}
    execution = start(definition)
    drive(execution)
    assert (execution.status, execution.error) == ("FAILED", "States.DataLimitExceeded")


def test_the_task_token_reaches_the_parameters() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
                "Parameters": {"Message": {"token.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }
    invoker = ScriptedInvoker({"arn:aws:states:::sns:publish.waitForTaskToken": lambda r: TaskPending()})
    execution = start(definition)
    events = drive(execution, invoker)
    request = invoker.calls[0]
    assert request.parameters == {"Message": {"token": request.token}}
    assert events[2]["taskScheduledEventDetails"]["resource"] == "publish.waitForTaskToken"
    assert execution.send_task_result(request.token, TaskFailed("Rejected", "no"))
    drive(execution, invoker)
    assert (execution.status, execution.error, execution.cause) == ("FAILED", "Rejected", "no")


def test_a_caught_error_goes_to_the_catchers_next_from_a_state_that_ends() -> None:
    task = {"Type": "Task", "Resource": "arn:x", "End": True, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}]}
    execution = start({"StartAt": "T", "States": {"T": task, "H": {"Type": "Pass", "Result": "handled", "End": True}}})
    types = [event["type"] for event in drive(execution)]
    assert (execution.status, execution.output) == ("SUCCEEDED", "handled")
    assert types[-3:] == ["PassStateEntered", "PassStateExited", "ExecutionSucceeded"]
