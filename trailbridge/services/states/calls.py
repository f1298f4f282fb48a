"""What other parts of trailbridge call on Step Functions, and what its API calls with: starting an execution
(a rule's state-machine target, StartExecution, a `states:startExecution` task) and answering a task by its
token (an integration that answered `TaskPending()`, SendTaskSuccess/SendTaskFailure), stopping one, and its
heartbeats. Each commits before it returns and wakes the driver, which steps the execution."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from trailbridge.services.base import Engine, ServiceError
from trailbridge.services.states.common import (
    MACHINE,
    allow,
    arn_of,
    check_name,
    date,
    error,
    execution_arn,
    machine_not_found,
)
from trailbridge.services.states.runs import (
    API_WAIT_SECONDS,
    WAIT_SECONDS,
    StatusEvents,
    applied,
    definitions,
    events_of,
    leased,
    moment,
    release,
    resume,
    runnable,
)
from trailbridge.states import Execution, TaskFailed, TaskSucceeded
from trailbridge.states.tasks import NoTasks
from trailbridge.storage.ports import ExecutionChange, StoredExecution

MAX_PAYLOAD = 256 * 1024  # bytes of an execution's input, or a task's output
PARENT = "parent"  # the snapshot's key for the parent task a `.sync` child answers


def start_execution(
    engine: Engine,
    machine_arn: str,
    execution_input: str,
    *,
    name: str | None = None,
    caller: str,
    parent: dict[str, str] | None = None,
    express: bool = False,
) -> dict[str, Any]:
    """StartExecution as the account `caller`: `{"executionArn", "startDate"}`, committed. Name idempotency as
        AWS: the same name and input as a running execution's answer that execution; otherwise a name taken is
        ExecutionAlreadyExists. `parent` (a `states:startExecution.sync` task's token and kind) is answered when
        the execution is over. An EXPRESS machine's execution (`express`: StartSyncExecution's) is named
    `...:express:MACHINE:NAME:ID`, as AWS names them."""
    region, account, _ = arn_of(machine_arn, "stateMachine")
    allow(caller, "states:StartExecution", machine_arn)
    doc = engine.resources.get(machine_arn)
    if doc is None or doc.get("Kind") != MACHINE:
        raise machine_not_found(machine_arn)
    if doc.get("status") == "DELETING":
        raise error("StateMachineDeleting", f"State Machine is being deleted: '{machine_arn}'")
    if name is None:
        name = str(uuid.uuid4())
    check_name(name)
    parsed = _input(execution_input)
    arn = execution_arn(machine_arn, name)
    if express or doc["type"] == "EXPRESS":  # AWS names every EXPRESS execution so, started either way
        arn = arn.replace(":execution:", ":express:", 1) + ":" + str(uuid.uuid4())
    now = engine.clock.now()
    execution = Execution.start(
        definitions.get(engine, doc["revisionId"]),
        parsed,
        execution_arn=arn,
        state_machine_arn=machine_arn,
        role_arn=doc["roleArn"],
        now=moment(now),
    )
    first = execution.step(moment(now), NoTasks())  # ExecutionStarted: no task runs in it
    if parent is not None:
        execution.snapshot()[PARENT] = parent
    stored = StoredExecution(
        arn,
        machine_arn,
        doc["revisionId"],
        account,
        region,
        name,
        "RUNNING",
        execution_input,
        now,
        orjson.dumps(execution.snapshot()).decode(),
        now,
    )
    events = StatusEvents(engine)
    events.prepare([stored])
    with engine.store.transaction():
        added = engine.executions.add(stored, events_of(first.events))
        if added:
            events.write([stored], now)
    if not added:  # the name is taken (the same call again, or another)
        found = engine.executions.get(arn)
        if found is None:
            raise ServiceError("InternalFailure", "The execution could not be started.", 500)
        return _again(found, execution_input)
    runnable(engine)
    return {"executionArn": arn, "startDate": moment(now)}


def _input(text: str) -> Any:
    if len(text.encode()) > MAX_PAYLOAD:
        raise error("InvalidExecutionInput", "Invalid State Machine Execution Input: 'Input exceeds 262144 bytes'")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise error("InvalidExecutionInput", f"Invalid State Machine Execution Input: '{exc}'") from None


def _again(existing: StoredExecution, execution_input: str) -> dict[str, Any]:
    if existing.status == "RUNNING" and existing.input == execution_input:
        return {"executionArn": existing.arn, "startDate": moment(existing.started)}
    raise error("ExecutionAlreadyExists", f"Execution Already Exists: '{existing.arn}'")


def answer_task(engine: Engine, token: str, outcome: TaskSucceeded | TaskFailed, *, wait: float = WAIT_SECONDS) -> bool:
    """Give a waiting task its answer (what SendTaskSuccess/SendTaskFailure do, without the API's checks),
    committed; False if no task waits for the token. `wait`: how long to wait for the driver to let the
    execution go (ThrottlingException past it)."""
    act = functools.partial(_answer, token=token, outcome=outcome)
    return _with_task(engine, token, act, wake=True, wait=wait)


def heartbeat(engine: Engine, token: str, *, wait: float = WAIT_SECONDS) -> bool:
    """SendTaskHeartbeat without the API's checks: False if no task waits for the token."""
    now = moment(engine.clock.now())
    return _with_task(engine, token, functools.partial(_beat, token=token, now=now), wake=False, wait=wait)


def _answer(execution: Execution, *, token: str, outcome: TaskSucceeded | TaskFailed) -> bool:
    return execution.send_task_result(token, outcome)


def _beat(execution: Execution, *, token: str, now: datetime) -> bool:
    return execution.send_task_heartbeat(token, now)


def _with_task(engine: Engine, token: str, act: Callable[[Execution], bool], *, wake: bool, wait: float) -> bool:
    arn = engine.executions.token(token)
    if arn is None:
        return False
    held = leased(engine, arn, wait)
    if held is None:
        return False
    owner, stored = held
    if stored.status != "RUNNING":
        release(engine, owner, stored)
        return False
    execution = resume(engine, stored)
    if not act(execution):
        release(engine, owner, stored)
        return False
    now = engine.clock.now()
    wake_at = now if wake else stored.wake_at
    snapshot = orjson.dumps(execution.snapshot()).decode()
    engine.executions.save(owner, [ExecutionChange(arn, "RUNNING", snapshot, wake_at, release=True)])
    if wake:
        runnable(engine)
    return True


def stop_execution(engine: Engine, stored: StoredExecution, err: str | None, cause: str | None) -> dict[str, Any]:
    """StopExecution of an execution the caller may stop: ABORTED, committed; the stop date."""
    held = leased(engine, stored.arn, API_WAIT_SECONDS)
    if held is None:
        raise error("ExecutionDoesNotExist", f"Execution Does Not Exist: '{stored.arn}'")
    owner, current = held
    if current.status != "RUNNING":
        release(engine, owner, current)
        return {"stopDate": date(current.stopped or current.started)}
    execution = resume(engine, current)
    now = engine.clock.now()
    events = execution.stop(moment(now), err, cause)
    change = ExecutionChange(
        current.arn,
        execution.status,
        orjson.dumps(execution.snapshot()).decode(),
        None,
        events=events_of(events),
        error=err,
        cause=cause,
        stopped=now,
        release=True,
    )
    status = StatusEvents(engine)
    done = applied(current, change)
    status.prepare([done])
    with engine.store.transaction():
        engine.executions.save(owner, [change])
        status.write([done], now)
    return {"stopDate": moment(now)}
