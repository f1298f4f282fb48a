"""A state machine as a rule's target: the `state-machine` kind, PutTargets requiring its RoleArn as AWS does,
one execution per event (the event after InputPath / InputTransformer as its input) named so that a retried
delivery starts no second one, and a start refused for good dead-lettered at once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.support.s3 import fails
from tests.support.server import Server
from tests.test_server_aws import logging_trail
from tests.test_server_events import queue_for, receive_all
from trailbridge.delivery.functions import Functions
from trailbridge.delivery.http import HttpInvoker
from trailbridge.delivery.invoker import Delivery, Invoker
from trailbridge.delivery.retry import DeliveryFailure
from trailbridge.delivery.state_machines import execution_name, start_execution
from trailbridge.delivery.targets import EVENTS_PRINCIPAL, target_kind
from trailbridge.runtime import Trailbridge
from trailbridge.services.events import EventsService
from trailbridge.services.lambda_functions.invoking import DeployedFunctions
from trailbridge.services.operations import handlers

ACCOUNT, REGION = "111111111111", "us-east-1"
MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:approvals"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/events-start"
RULE = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/on-create-user"
EVENT = {"id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "source": "aws.iam", "detail": {"userName": "bob"}}


class Machines:
    """The StateMachines port, recording what it is asked to start; `refuse` is the failure it answers."""

    def __init__(self) -> None:
        self.started: list[tuple[str, str, str, str]] = []
        self.refuse: DeliveryFailure | None = None

    def start(self, machine_arn: str, execution_input: str, name: str, role_arn: str) -> str:
        if self.refuse is not None:
            raise self.refuse
        self.started.append((machine_arn, execution_input, name, role_arn))
        return machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"


@pytest.fixture(name="tb")
def tb_fixture() -> Iterator[Trailbridge]:
    with Trailbridge() as instance:
        yield instance


def test_a_state_machine_arn_is_a_target_kind() -> None:
    assert target_kind(MACHINE) == "state-machine"
    assert target_kind(f"arn:aws:states:{REGION}:{ACCOUNT}:execution:approvals:run-1") is None
    assert target_kind(f"arn:aws:states:{REGION}:{ACCOUNT}:activity:approve") is None


def test_put_targets_requires_the_role_of_a_state_machine_target(tb: Trailbridge) -> None:
    events = EventsService(tb.engine, ACCOUNT, REGION)
    events.put_rule(Name="on-create-user", EventPattern=json.dumps({"source": ["aws.iam"]}))
    error = fails(events.put_targets, "ValidationException", 400, Rule="on-create-user", Targets=[
        {"Id": "sfn", "Arn": MACHINE}
    ])  # fmt: skip
    assert error.message == f"RoleArn is required for target {MACHINE}."
    events.put_targets(Rule="on-create-user", Targets=[{"Id": "sfn", "Arn": MACHINE, "RoleArn": ROLE}])
    [target] = events.list_targets_by_rule(Rule="on-create-user")["Targets"]
    assert (target["Arn"], target["RoleArn"]) == (MACHINE, ROLE)


def test_one_delivery_starts_one_execution_named_the_same_on_every_attempt() -> None:
    machines = Machines()
    spec = {"Id": "sfn", "Arn": MACHINE, "RoleArn": ROLE}
    payload = json.dumps(EVENT["detail"]).encode()
    first = start_execution(machines, MACHINE, spec, payload, EVENT, RULE)
    again = start_execution(machines, MACHINE, spec, payload, EVENT, RULE)
    assert first == again and first.endswith(execution_name(EVENT, RULE, "sfn"))
    assert machines.started[0] == (MACHINE, '{"userName": "bob"}', execution_name(EVENT, RULE, "sfn"), ROLE)
    other_target = execution_name(EVENT, RULE, "sfn-2")
    other_event = execution_name({**EVENT, "id": "another"}, RULE, "sfn")
    assert len({execution_name(EVENT, RULE, "sfn"), other_target, other_event}) == 3


def test_a_start_without_a_role_or_a_service_is_not_made() -> None:
    payload = b"{}"
    with pytest.raises(DeliveryFailure) as no_role:
        start_execution(Machines(), MACHINE, {"Id": "sfn"}, payload, EVENT, RULE)
    assert (no_role.value.code, no_role.value.retryable) == ("NO_PERMISSIONS", False)
    with pytest.raises(DeliveryFailure) as no_service:
        start_execution(None, MACHINE, {"Id": "sfn", "RoleArn": ROLE}, payload, EVENT, RULE)
    assert (no_service.value.code, no_service.value.retryable) == ("INVALID_TARGET", False)


class NoTopics:
    def publish(self, topic_arn: str, message: str) -> None:
        raise AssertionError(f"no topic is published to here ({topic_arn})")


def invoker_of(tb: Trailbridge, machines: Machines) -> Invoker:
    engine = tb.engine
    return Invoker(
        engine.resources,
        engine.router,
        Functions(),
        engine.queues,
        engine.logs,
        engine.secrets,
        HttpInvoker(1.0),
        NoTopics(),
        DeployedFunctions(engine),
        tb.clock,
        machines,
    )


def delivery(payload: bytes, spec: dict[str, Any]) -> Delivery:
    return Delivery(MACHINE, spec, payload, EVENT, {}, "request-1", RULE, None)


def test_the_invoker_starts_the_execution_with_the_rendered_event(tb: Trailbridge) -> None:
    asyncio.run(invoked(tb))


async def invoked(tb: Trailbridge) -> None:
    machines = Machines()
    invoker = invoker_of(tb, machines)
    spec = {"Id": "sfn", "Arn": MACHINE, "RoleArn": ROLE}
    assert await invoker.invoke(delivery(b'{"user": "bob"}', spec)) is False
    assert [(arn, text) for arn, text, _, _ in machines.started] == [(MACHINE, '{"user": "bob"}')]
    machines.refuse = DeliveryFailure("StateMachineDoesNotExist", "State Machine Does Not Exist", retryable=False)
    with pytest.raises(DeliveryFailure) as refused:
        await invoker.invoke(delivery(b"{}", spec))
    assert (refused.value.code, refused.value.retryable) == ("StateMachineDoesNotExist", False)
    foreign = f"arn:aws:states:{REGION}:999999999999:stateMachine:theirs"
    with pytest.raises(DeliveryFailure) as denied:  # another account's machine: no policy lets the rule
        await invoker.invoke(Delivery(foreign, {**spec, "Arn": foreign}, b"{}", EVENT, {}, "r", RULE, None))
    assert denied.value.code == "NO_PERMISSIONS"


def stepfunctions(tb: Trailbridge, operation: str, **params: Any) -> dict[str, Any]:
    return handlers("stepfunctions")[operation].bind(tb.engine, ACCOUNT, REGION)(**params)


PASS_ON = {"StartAt": "Seen", "States": {"Seen": {"Type": "Pass", "Parameters": {"seen.$": "$.user"}, "End": True}}}


def test_a_rule_starts_one_execution_per_event_with_the_transformed_event(tb: Trailbridge) -> None:
    machine = stepfunctions(
        tb, "CreateStateMachine", name="approvals", definition=json.dumps(PASS_ON), roleArn=f"{ROLE}-sfn"
    )["stateMachineArn"]
    events = EventsService(tb.engine, ACCOUNT, REGION)
    events.put_rule(Name="on-create-user", EventPattern=json.dumps({"source": ["my.iam"]}))
    transformer = {"InputPathsMap": {"u": "$.detail.userName"}, "InputTemplate": '{"user": <u>}'}
    target = {"Id": "sfn", "Arn": machine, "RoleArn": ROLE, "InputTransformer": transformer}
    events.put_targets(Rule="on-create-user", Targets=[target])
    for user in ("bob", "alice"):
        entry = {"Source": "my.iam", "DetailType": "CreateUser", "Detail": json.dumps({"userName": user})}
        assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0

    def finished() -> list[dict[str, Any]]:
        listed = stepfunctions(tb, "ListExecutions", stateMachineArn=machine)["executions"]
        return listed if len(listed) == 2 and all(e["status"] == "SUCCEEDED" for e in listed) else []

    wait_for(finished)
    outputs = sorted(
        json.loads(stepfunctions(tb, "DescribeExecution", executionArn=e["executionArn"])["output"])["seen"]
        for e in finished()
    )
    assert outputs == ["alice", "bob"]
    tb.recorder.flush()
    started = [
        json.loads(e["CloudTrailEvent"])
        for e in tb.cloudtrail(ACCOUNT, REGION).lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "StartExecution"}]
        )["Events"]
    ]
    assert len(started) == 2
    identity = started[0]["userIdentity"]
    assert (identity["invokedBy"], identity["sessionContext"]["sessionIssuer"]["arn"]) == (EVENTS_PRINCIPAL, ROLE)


def test_a_start_refused_for_good_goes_to_the_dead_letter_queue(tb: Trailbridge) -> None:
    sqs = tb.sqs(ACCOUNT, REGION)
    url = sqs.create_queue(QueueName="dead")["QueueUrl"]
    dead = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dead"
    events = EventsService(tb.engine, ACCOUNT, REGION)
    events.put_rule(Name="to-nowhere", EventPattern=json.dumps({"source": ["my.app"]}))
    target = {"Id": "sfn", "Arn": MACHINE, "RoleArn": ROLE, "DeadLetterConfig": {"Arn": dead}}
    events.put_targets(Rule="to-nowhere", Targets=[target])
    events.put_events(Entries=[{"Source": "my.app", "DetailType": "x", "Detail": "{}"}])
    received: list[dict[str, Any]] = []

    def arrived() -> bool:
        received.extend(sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"]).get("Messages", []))
        return bool(received)

    wait_for(arrived)
    attributes = {k: v["StringValue"] for k, v in received[0]["MessageAttributes"].items()}
    assert (attributes["ERROR_CODE"], attributes["TARGET_ARN"]) == ("StateMachineDoesNotExist", MACHINE)


def approval_machine(topic: str) -> dict[str, Any]:
    """The README's approval workflow: ask on a topic with the task token, wait; approved, tag the user;
    rejected (SendTaskFailure `Rejected`), delete the user."""
    user = "$.user"
    return {
        "StartAt": "AskApproval",
        "States": {
            "AskApproval": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
                "Parameters": {"TopicArn": topic, "Message": {"token.$": "$$.Task.Token", "user.$": user}},
                "ResultPath": "$.decision",
                "Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.rejection", "Next": "DeleteUser"}],
                "Next": "TagUser",
            },
            "TagUser": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:iam:tagUser",
                "Parameters": {"UserName.$": user, "Tags": [{"Key": "approved-by", "Value.$": "$.decision.by"}]},
                "End": True,
            },
            "DeleteUser": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:iam:deleteUser",
                "Parameters": {"UserName.$": user},
                "End": True,
            },
        },
    }


def test_the_approval_workflow_waits_across_a_restart(tmp_path: Path) -> None:
    account, data = "246813579024", tmp_path / "data"
    first = Server("--data", str(data))
    try:
        logging_trail(first, account)  # CloudTrail's events reach the bus while a trail logs, as on AWS
        sqs, url, queue = queue_for(first, account, "approvers")
        topic = first.client("sns", account).create_topic(Name="approvals")["TopicArn"]
        first.client("sns", account).subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=queue, Attributes={"RawMessageDelivery": "true"}
        )
        machine = first.client("stepfunctions", account).create_state_machine(
            name="approve-new-users",
            definition=json.dumps(approval_machine(topic)),
            roleArn=f"arn:aws:iam::{account}:role/approver",
        )["stateMachineArn"]
        events = first.client("events", account)
        pattern = {"source": ["aws.iam"], "detail": {"eventName": ["CreateUser"]}}
        events.put_rule(Name="new-users", EventPattern=json.dumps(pattern))
        transformer = {"InputPathsMap": {"u": "$.detail.requestParameters.userName"}, "InputTemplate": '{"user": <u>}'}
        role = f"arn:aws:iam::{account}:role/events"
        target = {"Id": "approve", "Arn": machine, "RoleArn": role, "InputTransformer": transformer}
        events.put_targets(Rule="new-users", Targets=[target])
        iam = first.client("iam", account)
        for user in ("bob", "carol"):
            iam.create_user(UserName=user)
        asked = {message["user"]: message["token"] for message in receive_all(sqs, url, 2)}
        assert set(asked) == {"bob", "carol"}
    finally:
        first.stop()
    second = Server("--data", str(data), port=first.port)
    try:
        sfn = second.client("stepfunctions", account)
        executions = sfn.list_executions(stateMachineArn=machine)["executions"]
        assert sorted(e["status"] for e in executions) == ["RUNNING", "RUNNING"]  # still waiting for the decision
        iam = second.client("iam", account)
        for user in ("bob", "carol"):  # the embedded moto's IAM is in memory: the users are made again
            iam.create_user(UserName=user)
        sfn.send_task_success(taskToken=asked["bob"], output=json.dumps({"by": "alice"}))
        sfn.send_task_failure(taskToken=asked["carol"], error="Rejected", cause="not on the team")

        def statuses() -> list[str]:
            return [sfn.describe_execution(executionArn=e["executionArn"])["status"] for e in executions]

        wait_for(lambda: "RUNNING" not in statuses(), timeout=20)
        assert statuses() == ["SUCCEEDED", "SUCCEEDED"]
        assert iam.list_user_tags(UserName="bob")["Tags"] == [{"Key": "approved-by", "Value": "alice"}]
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            iam.get_user(UserName="carol")
        records = second.client("cloudtrail", account).lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "DeleteUser"}]
        )["Events"]
        deleted = json.loads(records[0]["CloudTrailEvent"])
        assert deleted["userIdentity"]["invokedBy"] == "states.amazonaws.com"
        assert deleted["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"].endswith(":role/approver")
        assert deleted["requestParameters"] == {"userName": "carol"}
    finally:
        second.stop()
