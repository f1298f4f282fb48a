"""Step Functions activities and StartSyncExecution through `trailbridge serve`: an activity's task is taken by
GetActivityTask and answered by its token; an EXPRESS execution is answered when it is over."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.server import Server
from tests.test_server_events import queue_for, receive_all
from tests.test_server_states import IDLE, PASS_CHOICE, code_of, finished, machine, sfn_of


def test_activities_are_created_once_described_listed_and_deleted(server: Server, account: str) -> None:
    sfn = sfn_of(server, account)
    made = sfn.create_activity(name="review")
    arn = made["activityArn"]
    assert arn == f"arn:aws:states:us-east-1:{account}:activity:review"
    assert sfn.create_activity(name="review")["activityArn"] == arn
    sfn.create_activity(name="second")
    assert sfn.describe_activity(activityArn=arn)["name"] == "review"
    first = sfn.list_activities(maxResults=1)
    assert [a["name"] for a in first["activities"]] == ["review"]
    assert [a["name"] for a in sfn.list_activities(nextToken=first["nextToken"])["activities"]] == ["second"]
    sfn.delete_activity(activityArn=arn)
    with pytest.raises(ClientError) as gone:
        sfn.describe_activity(activityArn=arn)
    assert code_of(gone) == ("ActivityDoesNotExist", f"Activity Does Not Exist: '{arn}'")


def test_an_activity_task_is_taken_by_a_worker_and_answered(server: Server, account: str) -> None:
    sfn = sfn_of(server, account)
    activity = sfn.create_activity(name="approve")["activityArn"]
    definition = {
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": activity, "Parameters": {"who.$": "$.who"}, "End": True}},
    }
    arn = machine(sfn, account, "uses-activity", definition)
    execution = sfn.start_execution(stateMachineArn=arn, input='{"who": "ann"}')["executionArn"]
    task = sfn.get_activity_task(activityArn=activity, workerName="w1")
    assert json.loads(task["input"]) == {"who": "ann"}
    sfn.send_task_heartbeat(taskToken=task["taskToken"])
    sfn.send_task_success(taskToken=task["taskToken"], output='{"ok": "ann"}')
    done = finished(sfn, execution)
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"ok": "ann"})
    events = sfn.get_execution_history(executionArn=execution)["events"]
    assert [e["type"] for e in events if e["type"].startswith("Task")][:2] == ["TaskStateEntered", "TaskScheduled"]


def test_start_sync_execution_answers_an_express_execution_when_it_is_over(server: Server, account: str) -> None:
    # StartSyncExecution's endpoint is `sync-` + the host: a local endpoint needs the prefix left off
    sfn = server.client("stepfunctions", account, inject_host_prefix=False)
    express = machine(sfn, account, "quick", PASS_CHOICE, type="EXPRESS")
    done = sfn.start_sync_execution(stateMachineArn=express, name="now", input='{"a": 3}')
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"size": "big", "a": 3})
    assert done["executionArn"].startswith(f"arn:aws:states:us-east-1:{account}:express:quick:now:")
    assert done["billingDetails"]["billedDurationInMilliseconds"] >= 100
    standard = machine(sfn, account, "slow", IDLE)
    with pytest.raises(ClientError) as refused:
        sfn.start_sync_execution(stateMachineArn=standard)
    assert code_of(refused)[0] == "StateMachineTypeNotSupported"


def _test(sfn: Any, account: str, state: dict[str, Any], given: Any) -> dict[str, Any]:
    answer: dict[str, Any] = sfn.test_state(
        definition=json.dumps(state), roleArn=f"arn:aws:iam::{account}:role/states", input=json.dumps(given)
    )
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


def test_test_state_runs_one_state_on_its_own(server: Server, account: str) -> None:
    sfn = server.client("stepfunctions", account, inject_host_prefix=False)  # TestState's host is sync-...
    passes = {"Type": "Pass", "Parameters": {"b.$": "$.a"}, "Next": "Later"}
    assert _test(sfn, account, passes, {"a": 1}) == {"status": "SUCCEEDED", "nextState": "Later", "output": '{"b":1}'}
    choice = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.a", "NumericGreaterThan": 5, "Next": "Big"}],
        "Default": "Small",
    }
    assert _test(sfn, account, choice, {"a": 9})["nextState"] == "Big"
    assert _test(sfn, account, {"Type": "Wait", "Seconds": 3600, "Next": "After"}, {})["nextState"] == "After"
    fails = {"Type": "Fail", "Error": "Bad", "Cause": "why"}
    assert _test(sfn, account, fails, {}) == {"status": "FAILED", "error": "Bad", "cause": "why"}
    task = {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution", "Parameters": {}, "End": True}
    caught = task | {"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}]}
    answer = _test(sfn, account, caught, {})
    assert (answer["status"], answer["nextState"], answer["error"]) == ("CAUGHT_ERROR", "Handle", "States.TaskFailed")
    retried = task | {"Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 5}]}
    assert _test(sfn, account, retried, {})["status"] == "RETRIABLE"
    with pytest.raises(ClientError) as invalid:
        _test(sfn, account, {"Type": "Nope"}, {})
    assert code_of(invalid)[0] == "InvalidDefinition"


def test_express_executions_send_no_status_change_events(server: Server, account: str) -> None:
    sfn = server.client("stepfunctions", account, inject_host_prefix=False)
    events = server.client("events", account)
    sqs, url, queue = queue_for(server, account)
    events.put_rule(Name="sfn", EventPattern=json.dumps({"source": ["aws.states"]}))
    events.put_targets(Rule="sfn", Targets=[{"Id": "q", "Arn": queue}])
    express = machine(sfn, account, "quick", PASS_CHOICE, type="EXPRESS")
    assert sfn.start_sync_execution(stateMachineArn=express, input='{"a": 1}')["status"] == "SUCCEEDED"
    standard = machine(sfn, account, "standard", PASS_CHOICE)
    execution = sfn.start_execution(stateMachineArn=standard, input='{"a": 1}')["executionArn"]
    got = receive_all(sqs, url, 2)  # the express execution's would have come first
    assert [e["detail"]["executionArn"] for e in got] == [execution, execution]


def test_an_express_machines_executions_are_express_ones(server: Server, account: str) -> None:
    sfn = sfn_of(server, account)
    express = machine(sfn, account, "quick", PASS_CHOICE, type="EXPRESS")
    started = sfn.start_execution(stateMachineArn=express, name="async")["executionArn"]
    assert started.startswith(f"arn:aws:states:us-east-1:{account}:express:quick:async:")
    with pytest.raises(ClientError) as listed:
        sfn.list_executions(stateMachineArn=express)
    assert code_of(listed)[0] == "StateMachineTypeNotSupported"
    with pytest.raises(ClientError) as described:
        sfn.describe_execution(executionArn=started)
    assert code_of(described) == ("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: express'")
