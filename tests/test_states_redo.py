"""A task whose work died with the process that ran it (a function's run, an HTTP request) is started again by
the driver that next claims its execution, with the same token and input and no event written; a task whose
work still runs here, and a `.waitForTaskToken` task (answered from outside), are not."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from trailbridge.clock import ManualClock
from trailbridge.runtime import Trailbridge
from trailbridge.services.base import Engine
from trailbridge.services.states import ExecutionsService, MachinesService
from trailbridge.services.states.driver import TASK_CHECK_SECONDS, Driver
from trailbridge.services.states.integrations.background import run_later, service_answer
from trailbridge.states import TaskInvoker, TaskPending, TaskRequest, TaskSucceeded
from trailbridge.states.tasks import TaskOutcome

ACCOUNT, REGION = "123456789012", "us-east-1"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:slow"


class Work:
    """The task's resource: each call is recorded; `answers` says what each answers (TaskPending: later)."""

    def __init__(self, *answers: Callable[[TaskRequest], TaskOutcome]) -> None:
        self.answers, self.calls = list(answers), list[TaskRequest]()

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        self.calls.append(request)
        return self.answers[len(self.calls) - 1](request)

    def for_execution(self, engine: Engine, arn: str, role: str) -> TaskInvoker:
        return self


def lost(request: TaskRequest) -> TaskOutcome:
    return TaskPending()  # the work was handed to a thread of a process that then died


def ran(request: TaskRequest) -> TaskOutcome:
    return TaskSucceeded({"ran": request.parameters})


@pytest.fixture
def tb() -> Iterator[Trailbridge]:
    made = Trailbridge(None, clock=ManualClock(1_800_000_000.0))
    try:
        yield made
    finally:
        made.close()


def started(tb: Trailbridge, resource: str) -> tuple[ExecutionsService, str]:
    definition = {
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": resource, "Parameters": {"n.$": "$.n"}, "End": True}},
    }
    machines = MachinesService(tb.engine, ACCOUNT, REGION)
    made = machines.create_state_machine(
        name="calls", definition=json.dumps(definition), roleArn=f"arn:aws:iam::{ACCOUNT}:role/r"
    )
    executions = ExecutionsService(tb.engine, ACCOUNT, REGION)
    arn = executions.start_execution(stateMachineArn=made["stateMachineArn"], input='{"n": 7}')["executionArn"]
    return executions, str(arn)


def drain(driver: Driver) -> None:
    while driver.run_once():
        pass


def types(executions: ExecutionsService, arn: str) -> list[str]:
    return [e["type"] for e in executions.get_execution_history(executionArn=arn, maxResults=100)["events"]]


def later(tb: Trailbridge, seconds: float) -> None:
    clock = tb.engine.clock
    assert isinstance(clock, ManualClock)
    clock.advance(seconds)


@pytest.mark.parametrize("resource", [FUNCTION, "arn:aws:states:::lambda:invoke", "arn:aws:states:::http:invoke"])
def test_lost_work_is_started_again_once_its_execution_is_looked_at(tb: Trailbridge, resource: str) -> None:
    work = Work(lost, ran)
    driver = Driver(tb.engine, work.for_execution)
    executions, arn = started(tb, resource)
    drain(driver)
    assert len(work.calls) == 1
    later(tb, TASK_CHECK_SECONDS - 0.5)
    drain(driver)
    assert len(work.calls) == 1  # not looked at before its time
    later(tb, 0.5)
    drain(driver)
    first, again = work.calls
    assert again == first  # the same token, input and limits
    done = executions.describe_execution(executionArn=arn)
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"ran": {"n": 7}})
    assert types(executions, arn) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]


def test_a_wait_for_task_token_task_is_not_started_again(tb: Trailbridge) -> None:
    work = Work(lost, ran)
    driver = Driver(tb.engine, work.for_execution)
    executions, arn = started(tb, "arn:aws:states:::lambda:invoke.waitForTaskToken")
    drain(driver)
    later(tb, 10 * TASK_CHECK_SECONDS)
    drain(driver)
    assert len(work.calls) == 1
    assert executions.describe_execution(executionArn=arn)["status"] == "RUNNING"
    assert tb.engine.executions.next_wake() is None  # not looked at again: its answer comes from outside


def test_work_still_running_in_this_process_is_not_started_again(tb: Trailbridge) -> None:
    deferred: list[Callable[[], None]] = []

    def runs_here(request: TaskRequest) -> TaskOutcome:
        work = lambda: TaskSucceeded({"once": request.parameters})  # noqa: E731
        run_later(deferred.append, service_answer, tb.engine, request.token, work)
        return TaskPending()

    work = Work(runs_here)
    driver = Driver(tb.engine, work.for_execution)
    executions, arn = started(tb, FUNCTION)
    drain(driver)
    for _ in range(3):  # looked at every check while it runs, never started again
        later(tb, TASK_CHECK_SECONDS)
        drain(driver)
    assert len(work.calls) == 1
    assert executions.describe_execution(executionArn=arn)["status"] == "RUNNING"
    deferred.pop()()  # the work ends and answers its token
    drain(driver)
    done = executions.describe_execution(executionArn=arn)
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"once": {"n": 7}})
    assert types(executions, arn).count("TaskStarted") == 1


def test_starting_lost_work_again_that_raises_is_tried_at_the_next_look(tb: Trailbridge) -> None:
    def raises(request: TaskRequest) -> TaskOutcome:
        raise ConnectionError("the function's service is not there yet")

    work = Work(lost, raises, ran)
    driver = Driver(tb.engine, work.for_execution)
    executions, arn = started(tb, FUNCTION)
    drain(driver)
    later(tb, TASK_CHECK_SECONDS)
    drain(driver)
    assert len(work.calls) == 2
    assert executions.describe_execution(executionArn=arn)["status"] == "RUNNING"
    later(tb, TASK_CHECK_SECONDS)
    drain(driver)
    done = executions.describe_execution(executionArn=arn)
    assert (len(work.calls), done["status"]) == (3, "SUCCEEDED")
