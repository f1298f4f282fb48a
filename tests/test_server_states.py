"""Step Functions through `trailbridge serve` and boto3: state machines, executions stepped durably by the
driver, their history, callbacks by task token, child executions, status-change events on the default bus,
CloudTrail records, authorization across accounts, and a Wait that survives killing the server."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import wait_for
from tests.support.server import Server
from tests.test_server_events import queue_for, receive_all

ROLE = "arn:aws:iam::{account}:role/states"
PASS_CHOICE = {
    "StartAt": "First",
    "States": {
        "First": {"Type": "Pass", "Result": {"n": 2}, "ResultPath": "$.given", "Next": "Pick"},
        "Pick": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.given.n", "NumericGreaterThan": 1, "Next": "Big"}],
            "Default": "Small",
        },
        "Big": {"Type": "Pass", "Parameters": {"size": "big", "a.$": "$.a"}, "End": True},
        "Small": {"Type": "Fail", "Error": "TooSmall", "Cause": "n <= 1"},
    },
}
WAITS_FOR_TOKEN = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
            "Parameters": {"StateMachineArn.$": "$.approver", "Input": {"token.$": "$$.Task.Token"}},
            "End": True,
        }
    },
}
IDLE = {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 600, "End": True}}}


def sfn_of(server: Server, account: str) -> Any:
    return server.client("stepfunctions", account)


def machine(sfn: Any, account: str, name: str, definition: dict[str, Any], **more: Any) -> str:
    made = sfn.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE.format(account=account), **more
    )
    return str(made["stateMachineArn"])


def finished(sfn: Any, arn: str, timeout: float = 10.0) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def done() -> bool:
        found.update(sfn.describe_execution(executionArn=arn))
        return bool(found["status"] != "RUNNING")

    wait_for(done, timeout)
    return found


def history_types(sfn: Any, arn: str) -> list[str]:
    return [event["type"] for event in sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]]


def code_of(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]


def test_state_machines_are_created_once_described_updated_listed_and_deleted(server: Server, account: str) -> None:
    sfn = sfn_of(server, account)
    arn = machine(sfn, account, "flow", PASS_CHOICE)
    assert arn == f"arn:aws:states:us-east-1:{account}:stateMachine:flow"
    assert machine(sfn, account, "flow", PASS_CHOICE) == arn  # the same again: the same machine
    with pytest.raises(ClientError) as taken:
        machine(sfn, account, "flow", IDLE)
    assert code_of(taken) == ("StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'")
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert (described["name"], described["status"], described["type"]) == ("flow", "ACTIVE", "STANDARD")
    assert json.loads(described["definition"]) == PASS_CHOICE
    assert described["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(IDLE))
    assert updated["revisionId"] != described["revisionId"]
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == IDLE
    machine(sfn, account, "other", IDLE, type="EXPRESS")
    first = sfn.list_state_machines(maxResults=1)
    assert [m["name"] for m in first["stateMachines"]] == ["flow"]
    rest = sfn.list_state_machines(maxResults=1, nextToken=first["nextToken"])
    assert [(m["name"], m["type"]) for m in rest["stateMachines"]] == [("other", "EXPRESS")]
    assert "nextToken" not in rest
    sfn.delete_state_machine(stateMachineArn=arn)
    sfn.delete_state_machine(stateMachineArn=arn)  # already gone: no error, as in AWS
    with pytest.raises(ClientError) as gone:
        sfn.describe_state_machine(stateMachineArn=arn)
    assert code_of(gone) == ("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")


def test_bad_definitions_names_and_arns_are_refused_as_aws_refuses_them(server: Server, account: str) -> None:
    sfn = sfn_of(server, account)
    broken = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}
    with pytest.raises(ClientError) as invalid:
        machine(sfn, account, "broken", broken)
    assert code_of(invalid) == (
        "InvalidDefinition",
        "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: Nowhere at /States/A/Next'",
    )
    checked = sfn.validate_state_machine_definition(definition=json.dumps(broken))
    assert checked["result"] == "FAIL"
    assert [(d["code"], d["location"]) for d in checked["diagnostics"]] == [
        ("MISSING_TRANSITION_TARGET", "/States/A/Next")
    ]
    assert sfn.validate_state_machine_definition(definition=json.dumps(IDLE))["result"] == "OK"
    with pytest.raises(ClientError) as name:
        machine(sfn, account, "a b", IDLE)
    assert code_of(name) == ("InvalidName", "Invalid Name: 'a b'")
    with pytest.raises(ClientError) as arn:
        sfn.describe_state_machine(stateMachineArn="arn:aws:sns:us-east-1:123456789012:topic")
    assert code_of(arn)[0] == "InvalidArn"
    with pytest.raises(ClientError) as kind:
        sfn.describe_execution(executionArn=f"arn:aws:states:us-east-1:{account}:stateMachine:x")
    assert code_of(kind) == ("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: stateMachine'")


def test_an_execution_runs_to_its_end_with_its_history(server: Server, account: str) -> None:
    sfn = sfn_of(server, account)
    arn = machine(sfn, account, "flow", PASS_CHOICE)
    started = sfn.start_execution(stateMachineArn=arn, name="run-1", input='{"a": 7}')
    execution = started["executionArn"]
    assert execution == f"arn:aws:states:us-east-1:{account}:execution:flow:run-1"
    done = finished(sfn, execution)
    assert (done["status"], json.loads(done["output"]), done["input"]) == (
        "SUCCEEDED",
        {"size": "big", "a": 7},
        '{"a": 7}',
    )
    assert done["stopDate"] >= done["startDate"]
    assert history_types(sfn, execution) == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ChoiceStateEntered",
        "ChoiceStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    page = sfn.get_execution_history(executionArn=execution, maxResults=3, reverseOrder=True)
    assert [e["id"] for e in page["events"]] == [8, 7, 6]
    rest = sfn.get_execution_history(executionArn=execution, reverseOrder=True, nextToken=page["nextToken"])
    assert [e["id"] for e in rest["events"]] == [5, 4, 3, 2, 1]
    assert "nextToken" not in rest
    bare = sfn.get_execution_history(executionArn=execution, includeExecutionData=False)["events"]
    assert "input" not in bare[0]["executionStartedEventDetails"]
    assert bare[0]["executionStartedEventDetails"]["roleArn"] == ROLE.format(account=account)
    failing = sfn.start_execution(stateMachineArn=arn, input='{"a": 1}')["executionArn"]
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(IDLE))
    # the execution started before the update runs (and describes) the definition it started with
    assert json.loads(sfn.describe_state_machine_for_execution(executionArn=failing)["definition"]) == PASS_CHOICE
    assert finished(sfn, failing)["status"] == "SUCCEEDED"


def test_a_fail_state_fails_the_execution(server: Server, account: str) -> None:
    sfn = sfn_of(server, account)
    small = json.loads(json.dumps(PASS_CHOICE))
    small["States"]["First"]["Result"] = {"n": 0}
    arn = machine(sfn, account, "small", small)
    done = finished(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])
    assert (done["status"], done["error"], done["cause"]) == ("FAILED", "TooSmall", "n <= 1")
    assert "output" not in done


def test_execution_names_are_idempotent_as_aws_makes_them(server: Server, account: str) -> None:
    sfn = sfn_of(server, account)
    arn = machine(sfn, account, "idle", IDLE)
    first = sfn.start_execution(stateMachineArn=arn, name="once", input='{"k": 1}')
    again = sfn.start_execution(stateMachineArn=arn, name="once", input='{"k": 1}')
    # running, same input: the same execution
    assert (again["executionArn"], again["startDate"]) == (first["executionArn"], first["startDate"])
    with pytest.raises(ClientError) as other_input:
        sfn.start_execution(stateMachineArn=arn, name="once", input='{"k": 2}')
    assert code_of(other_input) == ("ExecutionAlreadyExists", f"Execution Already Exists: '{first['executionArn']}'")
    stopped = sfn.stop_execution(executionArn=first["executionArn"], error="Why", cause="testing")
    done = sfn.describe_execution(executionArn=first["executionArn"])
    assert (done["status"], done["error"], done["cause"], done["stopDate"]) == (
        "ABORTED",
        "Why",
        "testing",
        stopped["stopDate"],
    )
    assert history_types(sfn, first["executionArn"])[-1] == "ExecutionAborted"
    with pytest.raises(ClientError) as closed:  # not running any more: the name is taken
        sfn.start_execution(stateMachineArn=arn, name="once", input='{"k": 1}')
    assert code_of(closed)[0] == "ExecutionAlreadyExists"
    with pytest.raises(ClientError) as bad_input:
        sfn.start_execution(stateMachineArn=arn, input="{not json")
    assert code_of(bad_input)[0] == "InvalidExecutionInput"


def test_executions_are_listed_newest_first_by_status_and_in_pages(server: Server, account: str) -> None:
    sfn = sfn_of(server, account)
    arn = machine(sfn, account, "idle", IDLE)
    for n in range(3):
        sfn.start_execution(stateMachineArn=arn, name=f"e{n}")
    sfn.stop_execution(executionArn=arn.replace(":stateMachine:", ":execution:") + ":e1")
    listed = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert [e["name"] for e in listed] == ["e2", "e1", "e0"]
    assert [e["name"] for e in sfn.list_executions(stateMachineArn=arn, statusFilter="ABORTED")["executions"]] == ["e1"]
    page = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING", maxResults=1)
    assert [e["name"] for e in page["executions"]] == ["e2"]
    rest = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING", nextToken=page["nextToken"])
    assert [e["name"] for e in rest["executions"]] == ["e0"]
    with pytest.raises(ClientError) as token:
        sfn.list_executions(stateMachineArn=arn, nextToken="garbage!")
    assert code_of(token)[0] == "InvalidToken"


def _child_token(sfn: Any, approver: str) -> str:
    found: list[str] = []

    def started() -> bool:
        for listed in sfn.list_executions(stateMachineArn=approver)["executions"]:
            found.append(json.loads(sfn.describe_execution(executionArn=listed["executionArn"])["input"])["token"])
        return bool(found)

    wait_for(started)
    return found[0]


def test_a_task_waits_for_its_token_and_is_answered_by_send_task(server: Server, account: str) -> None:
    sfn = sfn_of(server, account)
    approver = machine(sfn, account, "approver", IDLE)
    asks = machine(sfn, account, "asks", WAITS_FOR_TOKEN)
    execution = sfn.start_execution(stateMachineArn=asks, input=json.dumps({"approver": approver}))["executionArn"]
    token = _child_token(sfn, approver)
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    sfn.send_task_heartbeat(taskToken=token)
    sfn.send_task_success(taskToken=token, output='{"approved": true}')
    done = finished(sfn, execution)
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"approved": True})
    assert history_types(sfn, execution)[-3:] == ["TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]
    with pytest.raises(ClientError) as again:
        sfn.send_task_success(taskToken=token, output="{}")
    assert code_of(again) == ("TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'")
    with pytest.raises(ClientError) as invalid:
        sfn.send_task_failure(taskToken="not-a-token")
    assert code_of(invalid) == ("InvalidToken", "Invalid Token: 'Invalid token'")


def test_send_task_failure_fails_the_task(server: Server, account: str) -> None:
    sfn = sfn_of(server, account)
    approver = machine(sfn, account, "approver", IDLE)
    asks = machine(sfn, account, "asks", WAITS_FOR_TOKEN)
    execution = sfn.start_execution(stateMachineArn=asks, input=json.dumps({"approver": approver}))["executionArn"]
    token = _child_token(sfn, approver)
    with pytest.raises(ClientError) as output:
        sfn.send_task_success(taskToken=token, output="{oops")
    assert code_of(output)[0] == "InvalidOutput"
    sfn.send_task_failure(taskToken=token, error="Rejected", cause="no")
    done = finished(sfn, execution)
    assert (done["status"], done["error"], done["cause"]) == ("FAILED", "Rejected", "no")


def test_a_sync_child_execution_answers_its_parent(server: Server, account: str) -> None:
    sfn = sfn_of(server, account)
    child = machine(sfn, account, "child", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    parent = {
        "StartAt": "Run",
        "States": {
            "Run": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": child, "Input": {"from.$": "$.from"}},
                "OutputPath": "$.Output",
                "End": True,
            }
        },
    }
    arn = machine(sfn, account, "parent", parent)
    done = finished(sfn, sfn.start_execution(stateMachineArn=arn, input='{"from": "parent"}')["executionArn"])
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"from": "parent"})


def test_another_accounts_state_machine_is_refused(server: Server, account: str) -> None:
    sfn = sfn_of(server, account)
    arn = machine(sfn, account, "mine", IDLE)
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    stranger = sfn_of(server, "999999999999")
    calls: list[Callable[[], Any]] = [
        lambda: stranger.describe_state_machine(stateMachineArn=arn),
        lambda: stranger.start_execution(stateMachineArn=arn),
        lambda: stranger.describe_execution(executionArn=execution),
        lambda: stranger.stop_execution(executionArn=execution),
    ]
    for call in calls:
        with pytest.raises(ClientError) as refused:
            call()
        assert code_of(refused)[0] == "AccessDeniedException"
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"


def test_tags_are_set_listed_and_removed(server: Server, account: str) -> None:
    sfn = sfn_of(server, account)
    arn = machine(sfn, account, "tagged", IDLE, tags=[{"key": "team", "value": "sec"}])
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "prod"}])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "team", "value": "sec"},
        {"key": "env", "value": "prod"},
    ]
    sfn.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": "prod"}]
    with pytest.raises(ClientError) as missing:
        sfn.list_tags_for_resource(resourceArn=arn + "x")
    assert code_of(missing)[0] == "ResourceNotFound"
    for refused_call in (
        lambda: sfn.tag_resource(resourceArn=arn, tags=[{"value": "no key"}]),
        lambda: sfn.create_activity(name="keyless", tags=[{"key": "k"}, {}]),
        lambda: machine(sfn, account, "keyless", IDLE, tags=[{}]),
    ):
        with pytest.raises(ClientError) as keyless:
            refused_call()
        assert code_of(keyless)[0] == "ValidationException"
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": "prod"}]
    with pytest.raises(ClientError) as too_many:
        sfn.tag_resource(resourceArn=arn, tags=[{"key": f"k{i}", "value": ""} for i in range(50)])
    assert code_of(too_many)[0] == "TooManyTags"


def test_status_changes_go_to_the_default_bus_and_calls_to_cloudtrail(server: Server, account: str) -> None:
    sfn = sfn_of(server, account)
    events = server.client("events", account)
    sqs, url, queue = queue_for(server, account)
    events.put_rule(Name="sfn", EventPattern=json.dumps({"source": ["aws.states"]}))
    events.put_targets(Rule="sfn", Targets=[{"Id": "q", "Arn": queue}])
    arn = machine(sfn, account, "flow", PASS_CHOICE)
    execution = sfn.start_execution(stateMachineArn=arn, name="seen", input='{"a": 1}')["executionArn"]
    got = receive_all(sqs, url, 2)
    assert {e["detail-type"] for e in got} == {"Step Functions Execution Status Change"}
    by_status = {e["detail"]["status"]: e for e in got}
    assert set(by_status) == {"RUNNING", "SUCCEEDED"}
    done = by_status["SUCCEEDED"]
    assert (done["source"], done["account"], done["resources"]) == ("aws.states", account, [execution])
    assert (done["detail"]["executionArn"], done["detail"]["stateMachineArn"], done["detail"]["name"]) == (
        execution,
        arn,
        "seen",
    )
    assert json.loads(done["detail"]["output"]) == {"size": "big", "a": 1}
    assert (
        done["detail"]["stopDate"] >= done["detail"]["startDate"] and by_status["RUNNING"]["detail"]["stopDate"] is None
    )
    cloudtrail = server.client("cloudtrail", account)
    records: list[dict[str, Any]] = []
    by_name = [{"AttributeKey": "EventName", "AttributeValue": "StartExecution"}]

    def recorded() -> bool:
        records.extend(cloudtrail.lookup_events(LookupAttributes=by_name)["Events"])
        return bool(records)

    wait_for(recorded)
    assert json.loads(records[0]["CloudTrailEvent"])["eventSource"] == "states.amazonaws.com"


def test_a_wait_survives_killing_the_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Server("--data", str(data))
    sfn = first.client("stepfunctions")
    waits = {
        "StartAt": "Hold",
        "States": {"Hold": {"Type": "Wait", "Seconds": 3, "Next": "Done"}, "Done": {"Type": "Succeed"}},
    }
    arn = machine(sfn, "123456789012", "waits", waits)
    execution = sfn.start_execution(stateMachineArn=arn, input='{"kept": true}')["executionArn"]
    wait_for(lambda: "WaitStateEntered" in history_types(sfn, execution))
    first.process.send_signal(signal.SIGKILL)  # in the middle of the Wait
    first.process.wait()
    first.stop()
    restarted = datetime.now(UTC)
    second = Server("--data", str(data), port=first.port)
    try:
        sfn = second.client("stepfunctions")
        done = finished(sfn, execution, timeout=15)
        assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"kept": True})
        events = sfn.get_execution_history(executionArn=execution)["events"]
        # no node ran between the kill and the restart: the second server ended the Wait
        assert next(e["timestamp"] for e in events if e["type"] == "WaitStateExited") >= restarted
        assert history_types(sfn, execution) == [
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded",
        ]
    finally:
        second.stop()


def test_a_task_waiting_for_its_token_times_out_at_its_heartbeat(server: Server, account: str) -> None:
    sfn = sfn_of(server, account)
    approver = machine(sfn, account, "approver", IDLE)
    beating = json.loads(json.dumps(WAITS_FOR_TOKEN))
    beating["States"]["Ask"]["HeartbeatSeconds"] = 1
    asks = machine(sfn, account, "asks", beating)
    execution = sfn.start_execution(stateMachineArn=asks, input=json.dumps({"approver": approver}))["executionArn"]
    token = _child_token(sfn, approver)
    done = finished(sfn, execution, timeout=10)
    assert (done["status"], done["error"]) == ("FAILED", "States.Timeout")
    assert history_types(sfn, execution)[-2:] == ["TaskTimedOut", "ExecutionFailed"]
    with pytest.raises(ClientError) as late:
        sfn.send_task_success(taskToken=token, output="{}")
    assert code_of(late)[0] == "TaskTimedOut"


def test_the_approval_pattern_through_a_queue_and_send_task_success(server: Server, account: str) -> None:
    """A task's token goes out in a message (sqs:sendMessage.waitForTaskToken, trailbridge's integration); the
    execution waits until the message's reader answers with SendTaskSuccess."""
    sfn = sfn_of(server, account)
    sqs, url, _ = queue_for(server, account, "approvals")
    definition = {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": url, "MessageBody": {"token.$": "$$.Task.Token", "user.$": "$.user"}},
                "End": True,
            }
        },
    }
    arn = machine(sfn, account, "approval", definition)
    execution = sfn.start_execution(stateMachineArn=arn, input='{"user": "bob"}')["executionArn"]
    [message] = receive_all(sqs, url, 1)
    assert message["user"] == "bob"
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=message["token"], output='{"approved": "bob"}')
    done = finished(sfn, execution)
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"approved": "bob"})


def test_map_and_parallel_states_run_through_the_driver(server: Server, account: str) -> None:
    sfn = sfn_of(server, account)
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 2,
                "ItemProcessor": {
                    "StartAt": "Double",
                    "States": {"Double": {"Type": "Pass", "Parameters": {"v.$": "States.MathAdd($, $)"}, "End": True}},
                },
                "ResultPath": "$.doubled",
                "Next": "Both",
            },
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "L", "States": {"L": {"Type": "Pass", "Result": "left", "End": True}}},
                    {"StartAt": "R", "States": {"R": {"Type": "Wait", "Seconds": 1, "End": True}}},
                ],
                "ResultSelector": {"left.$": "$[0]", "doubled.$": "$[1].doubled"},
                "End": True,
            },
        },
    }
    arn = machine(sfn, account, "fan", definition)
    done = finished(sfn, sfn.start_execution(stateMachineArn=arn, input='{"items": [1, 2, 3]}')["executionArn"])
    assert (done["status"], json.loads(done["output"])) == (
        "SUCCEEDED",
        {"left": "left", "doubled": [{"v": 2}, {"v": 4}, {"v": 6}]},
    )
