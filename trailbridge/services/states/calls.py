"""What other parts of trailbridge call on Step Functions, and what its API calls with: starting an execution
(a rule's state-machine target, StartExecution, a `states:startExecution` task) and answering a task by its
token (an integration that answered `TaskPending()`, SendTaskSuccess/SendTaskFailure), stopping one, and its
heartbeats. Each commits before it returns and wakes the driver, which steps the execution.

An answer, a heartbeat or a stop never waits for the driver: checked against the execution as last committed
(is it running, does a task wait for the token), it is committed as a request of the execution
(`Executions.ask`, in the caller's transaction: an API call's with its CloudTrail record) and acknowledged;
the holder of the execution's lease applies the requests in order at its next step, in the transaction that
commits that step (`driver.applied_requests`), so each is applied once, after a crash too and on any node."""

from __future__ import annotations

import dataclasses
import uuid
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
from trailbridge.services.states.runs import StatusEvents, definitions, events_of, moment, resume, runnable
from trailbridge.states import Execution, TaskFailed, TaskSucceeded
from trailbridge.states.tasks import NoTasks
from trailbridge.storage.ports import ExecutionRequest, StoredExecution

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
        parent=parent["token"] if parent is not None else None,
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


def answer_task(engine: Engine, token: str, outcome: TaskSucceeded | TaskFailed) -> bool:
    """Give a waiting task its answer (what SendTaskSuccess/SendTaskFailure do, without the API's checks):
    committed as a request its execution's driver applies; False if no task waits for the token (a second
    answer to a task whose answer is pending is refused so too)."""
    body = {"output": outcome.output} if isinstance(outcome, TaskSucceeded) else dataclasses.asdict(outcome)
    return _ask_task(engine, token, "answer", orjson.dumps(body).decode(), once=token)


def heartbeat(engine: Engine, token: str) -> bool:
    """SendTaskHeartbeat without the API's checks: False if no task waits for the token."""
    return _ask_task(engine, token, "heartbeat", None, once=None)


def outcome_of(request: ExecutionRequest) -> TaskSucceeded | TaskFailed:
    """The outcome an answer request carries."""
    body = orjson.loads(request.body or "{}")
    return TaskSucceeded(body["output"]) if "output" in body else TaskFailed(body["error"], body["cause"])


def _ask_task(engine: Engine, token: str, kind: str, body: str | None, *, once: str | None) -> bool:
    now = engine.clock.now()
    with engine.store.transaction():
        arn = engine.executions.token(token)
        current = engine.executions.lock(arn) if arn is not None else None
        if current is None or current.status != "RUNNING" or not _waits_for(engine, current, token):
            return False
        request = ExecutionRequest(current.arn, kind, now, token, body, once)
        kept = engine.executions.ask(request, now)
    runnable(engine)
    return dataclasses.replace(kept, seq=0) == request


def _waits_for(engine: Engine, stored: StoredExecution, token: str) -> bool:
    """Whether a task of the execution (as last committed) waits for an answer by the token."""
    return any(task.token == token for task in resume(engine, stored).tasks_in_flight())


def stop_execution(engine: Engine, stored: StoredExecution, err: str | None, cause: str | None) -> dict[str, Any]:
    """StopExecution of an execution the caller may stop: committed as a request its driver applies (ABORTED,
    and its `.sync` children stopped with it); the stop date (a stop already pending: its date; an execution
    over: when it ended)."""
    now = engine.clock.now()
    with engine.store.transaction():
        current = engine.executions.lock(stored.arn)
        if current is None:
            raise error("ExecutionDoesNotExist", f"Execution Does Not Exist: '{stored.arn}'")
        if current.status != "RUNNING":
            return {"stopDate": date(current.stopped or current.started)}
        kept = stop(engine, current.arn, now, err, cause)
    runnable(engine)
    return {"stopDate": moment(kept.at)}


def stop(engine: Engine, arn: str, now: float, err: str | None, cause: str | None) -> ExecutionRequest:
    """Inside a transaction that locked the running execution: its stop requested (or the one pending)."""
    body = orjson.dumps({"error": err, "cause": cause}).decode()
    return engine.executions.ask(ExecutionRequest(arn, "stop", now, body=body, once=arn), now)
