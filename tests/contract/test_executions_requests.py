"""The requests callers make to Step Functions executions (`Executions.ask`: a task's answer or heartbeat, a stop),
the same over memory, SQLite and PostgreSQL: kept in order until the holder of the execution's lease applies
them (deleted with the change that applied them, and only if that change is saved), one pending per `once` key,
waking the execution (at once when nobody holds it, at its holder's release otherwise), dropped when the
execution ends, rolled back with their transaction, and still there after a restart. Also `children`: the
running executions a task token's `.sync` task waits for."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from tests.contract.conftest import DURABLE, Backend
from tests.contract.conftest import backend as backend  # noqa: PLC0414 (the fixture, over every backend)
from trailbridge.storage.ports import ExecutionChange, ExecutionRequest, StoredExecution

MACHINE = "arn:aws:states:us-east-1:111111111111:stateMachine:m"


def execution(name: str, wake_at: float | None = None, parent: str | None = None) -> StoredExecution:
    return StoredExecution(
        arn=f"arn:aws:states:us-east-1:111111111111:execution:m:{name}",
        machine_arn=MACHINE,
        revision="rev-1",
        account="111111111111",
        region="us-east-1",
        name=name,
        status="RUNNING",
        input="{}",
        started=100.0,
        snapshot="{}",
        wake_at=wake_at,
        parent=parent,
    )


def answer(arn: str, token: str, at: float, body: str = '{"output": 1}') -> ExecutionRequest:
    return ExecutionRequest(arn, "answer", at, token=token, body=body, once=token)


def ask(backend: Backend, request: ExecutionRequest, now: float) -> ExecutionRequest:
    with backend.store.transaction():
        assert backend.executions.lock(request.arn) is not None
        return backend.executions.ask(request, now)


def test_requests_are_kept_in_order_and_one_per_key(backend: Backend) -> None:
    e = execution("ordered")
    backend.executions.add(e)
    first = ask(backend, ExecutionRequest(e.arn, "heartbeat", 101.0, token="t1"), 101.0)
    second = ask(backend, answer(e.arn, "t1", 102.0), 102.0)
    again = ask(backend, answer(e.arn, "t1", 103.0, body='{"output": 2}'), 103.0)
    stop = ask(backend, ExecutionRequest(e.arn, "stop", 104.0, body="{}", once=e.arn), 104.0)
    assert first.seq < second.seq < stop.seq
    assert again == second  # the token's answer is pending: the second one is not kept
    other = execution("other")
    backend.executions.add(other)
    ask(backend, ExecutionRequest(other.arn, "heartbeat", 105.0, token="t2"), 105.0)
    assert backend.executions.requests([e.arn]) == [first, second, stop]
    assert [r.arn for r in backend.executions.requests([e.arn, other.arn])] == [e.arn] * 3 + [other.arn]
    assert backend.executions.requests(["arn:none"]) == []


def test_a_request_wakes_an_execution_nobody_holds(backend: Backend) -> None:
    waiting, later = execution("waiting"), execution("later", wake_at=500.0)
    backend.executions.add(waiting)
    backend.executions.add(later)
    assert backend.executions.claim_due("n1", 200.0, 260.0, 10) == []
    ask(backend, answer(waiting.arn, "t", 200.0), 200.0)
    ask(backend, answer(later.arn, "u", 201.0), 201.0)
    assert backend.executions.get(waiting.arn).wake_at == 200.0  # type: ignore[union-attr]
    assert [e.name for e in backend.executions.claim_due("n1", 201.0, 260.0, 10)] == ["waiting", "later"]


def test_a_request_to_a_held_execution_wakes_it_when_its_holder_lets_it_go(backend: Backend) -> None:
    e = execution("held", wake_at=100.0)
    backend.executions.add(e)
    [claimed] = backend.executions.claim_due("n1", 100.0, 160.0, 10)
    seen = backend.executions.requests([e.arn])
    ask(backend, answer(e.arn, "t", 101.0), 101.0)  # while n1 steps it
    assert backend.executions.get(e.arn) == claimed  # its holder's: untouched
    # n1 saves what it stepped (it had seen no request): waiting for a task, no wake-up of its own
    waits = ExecutionChange(e.arn, "RUNNING", '{"waits": true}', None, applied=[r.seq for r in seen], release=True)
    assert backend.executions.save("n1", [waits]) == []
    assert backend.executions.get(e.arn).wake_at == 101.0  # type: ignore[union-attr]
    [again] = backend.executions.claim_due("n2", 102.0, 160.0, 10)
    [pending] = backend.executions.requests([again.arn])
    assert (pending.kind, pending.token, pending.at) == ("answer", "t", 101.0)


def test_applied_requests_go_with_the_change_that_applied_them(backend: Backend) -> None:
    e = execution("applied", wake_at=100.0)
    backend.executions.add(e)
    one = ask(backend, answer(e.arn, "t1", 100.0), 100.0)
    two = ask(backend, ExecutionRequest(e.arn, "heartbeat", 100.5, token="t2"), 100.5)
    backend.executions.claim_due("n1", 101.0, 160.0, 10)
    # a save by one who does not hold the lease applies nothing, and deletes nothing
    stranger = ExecutionChange(e.arn, "RUNNING", "{}", None, applied=[one.seq], release=True)
    assert backend.executions.save("n2", [stranger]) == [e.arn]
    assert backend.executions.requests([e.arn]) == [one, two]
    held = ExecutionChange(e.arn, "RUNNING", '{"step": 1}', 100.0, applied=[one.seq], held=True)
    assert backend.executions.save("n1", [held]) == []
    assert backend.executions.requests([e.arn]) == [two]
    # the key of an applied answer is free again (the execution's next task may reuse nothing of it)
    assert ask(backend, answer(e.arn, "t1", 102.0), 102.0).seq > two.seq


def test_an_execution_that_ends_drops_its_requests(backend: Backend) -> None:
    e = execution("ends", wake_at=100.0)
    backend.executions.add(e)
    backend.executions.claim_due("n1", 100.0, 160.0, 10)
    ask(backend, ExecutionRequest(e.arn, "stop", 101.0, body="{}", once=e.arn), 101.0)
    done = ExecutionChange(e.arn, "SUCCEEDED", "{}", None, output="{}", stopped=101.0, release=True)
    assert backend.executions.save("n1", [done]) == []
    assert backend.executions.requests([e.arn]) == []
    assert backend.executions.get(e.arn).wake_at is None  # type: ignore[union-attr]


def test_a_request_rolls_back_with_its_transaction(backend: Backend) -> None:
    e = execution("rolled")
    backend.executions.add(e)
    with pytest.raises(RuntimeError), backend.store.transaction():
        backend.executions.lock(e.arn)
        backend.executions.ask(answer(e.arn, "t", 101.0), 101.0)
        raise RuntimeError("refused after all")
    assert backend.executions.requests([e.arn]) == []
    assert backend.executions.get(e.arn) == e
    assert ask(backend, answer(e.arn, "t", 102.0), 102.0).at == 102.0  # its key was never taken


def test_children_are_the_running_executions_of_a_parent_token(backend: Backend) -> None:
    for name, parent in (("c1", "tok-a"), ("c2", "tok-a"), ("c3", "tok-b"), ("orphan", None)):
        backend.executions.add(execution(name, wake_at=100.0, parent=parent))
    assert backend.executions.get(execution("c1").arn).parent == "tok-a"  # type: ignore[union-attr]
    assert sorted(backend.executions.children(["tok-a"])) == [execution("c1").arn, execution("c2").arn]
    assert backend.executions.children(["tok-c"]) == []
    backend.executions.claim_due("n1", 100.0, 160.0, 10)
    backend.executions.save("n1", [ExecutionChange(execution("c1").arn, "ABORTED", "{}", None, release=True)])
    assert sorted(backend.executions.children(["tok-a", "tok-b"])) == [execution("c2").arn, execution("c3").arn]


def test_a_request_racing_its_holders_release_is_never_left_asleep(backend: Backend) -> None:
    """Whatever the order of a request and the save that lets the execution go, the execution ends up due."""
    for n in range(20):
        e = execution(f"race{n}", wake_at=100.0)
        backend.executions.add(e)
        backend.executions.claim_due("n1", 100.0, 160.0, 1)
        start = threading.Barrier(2)

        def request(arn: str = e.arn, start: threading.Barrier = start) -> None:
            start.wait()
            ask(backend, answer(arn, f"t{arn}", 101.0), 101.0)

        def release(arn: str = e.arn, start: threading.Barrier = start) -> None:
            start.wait()
            backend.executions.save("n1", [ExecutionChange(arn, "RUNNING", "{}", None, release=True)])

        threads = [threading.Thread(target=request), threading.Thread(target=release)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert backend.executions.get(e.arn).wake_at == 101.0, n  # type: ignore[union-attr]
        assert [x.arn for x in backend.executions.claim_due("n2", 102.0, 160.0, 5)] == [e.arn]
        backend.executions.save("n2", [ExecutionChange(e.arn, "SUCCEEDED", "{}", None, release=True)])


@pytest.mark.parametrize("name", DURABLE)
def test_requests_outlive_the_store(name: str, request: pytest.FixtureRequest, tmp_path: object) -> None:
    """A request acknowledged (committed) and not applied when the process dies is still there, and due."""
    where = request.getfixturevalue("postgres_url") if name == "postgres" else tmp_path
    first = Backend(name, where).open()
    e = execution("kept", parent="tok-p")
    first.executions.add(e)
    kept = ask(first, answer(e.arn, "t", 101.0), 101.0)
    first.close()
    again = Backend(name, where).open()
    try:
        assert again.executions.requests([e.arn]) == [kept]
        assert again.executions.get(e.arn) == dataclasses.replace(e, wake_at=101.0)
        assert [x.arn for x in again.executions.claim_due("n1", 102.0, 160.0, 10)] == [e.arn]
    finally:
        again.close()
