"""The Step Functions executions port (`storage.ports.Executions`), the same over memory, SQLite and PostgreSQL:
executions and their revisions, history paged both ways, listing, leases (claim-due, one execution, expiry,
lost leases refuse saves), task tokens, rollback, and what a reopened store still holds."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from tests.contract.conftest import DURABLE, Backend
from tests.contract.conftest import backend as backend  # noqa: PLC0414 (the fixture, over every backend)
from trailbridge.storage.ports import ExecutionChange, StoredExecution

MACHINE = "arn:aws:states:us-east-1:111111111111:stateMachine:m"


def execution(
    name: str, started: float = 100.0, wake_at: float | None = 100.0, status: str = "RUNNING"
) -> StoredExecution:
    return StoredExecution(
        arn=f"arn:aws:states:us-east-1:111111111111:execution:m:{name}",
        machine_arn=MACHINE,
        revision="rev-1",
        account="111111111111",
        region="us-east-1",
        name=name,
        status=status,
        input='{"a": 1}',
        started=started,
        snapshot='{"status": "RUNNING"}',
        wake_at=wake_at,
    )


def test_an_execution_is_added_once_with_its_first_events(backend: Backend) -> None:
    e = execution("one")
    assert backend.executions.add(e, [(1, '{"type": "ExecutionStarted"}')])
    assert not backend.executions.add(dataclasses.replace(e, input="{}"), [(1, "{}")])
    assert backend.executions.get(e.arn) == e
    assert backend.executions.get(e.arn + "x") is None
    assert backend.executions.history(e.arn, 0, 10) == [(1, '{"type": "ExecutionStarted"}')]


def test_revisions_are_kept_once(backend: Backend) -> None:
    backend.executions.put_revision("rev-1", '{"StartAt": "A"}')
    backend.executions.put_revision("rev-1", '{"StartAt": "B"}')
    assert backend.executions.revision("rev-1") == '{"StartAt": "A"}'
    assert backend.executions.revision("rev-2") is None


def test_history_pages_forward_and_in_reverse(backend: Backend) -> None:
    e = execution("h")
    backend.executions.add(e, [(1, "e1"), (2, "e2")])
    assert backend.executions.lease(e.arn, "node", 100.0, 160.0) is not None
    change = ExecutionChange(e.arn, "RUNNING", "{}", 100.0, events=[(3, "e3"), (4, "e4"), (5, "e5")])
    assert backend.executions.save("node", [change]) == []
    history = backend.executions.history
    assert history(e.arn, 0, 2) == [(1, "e1"), (2, "e2")]
    assert history(e.arn, 2, 10) == [(3, "e3"), (4, "e4"), (5, "e5")]
    assert history(e.arn, 0, 2, reverse=True) == [(5, "e5"), (4, "e4")]
    assert history(e.arn, 4, 10, reverse=True) == [(3, "e3"), (2, "e2"), (1, "e1")]
    assert history(e.arn, 5, 10) == []


def test_listing_is_newest_first_filtered_and_paged(backend: Backend) -> None:
    for n in range(5):
        backend.executions.add(execution(f"x{n}", started=100.0 + n, status="SUCCEEDED" if n % 2 else "RUNNING"))
    other = dataclasses.replace(execution("other"), arn="arn:other", machine_arn=MACHINE + "2")
    backend.executions.add(other)
    names = [e.name for e in backend.executions.listing(MACHINE, None, None, 10)]
    assert names == ["x4", "x3", "x2", "x1", "x0"]
    first = backend.executions.listing(MACHINE, None, None, 2)
    after = (first[-1].started, first[-1].arn)
    assert [e.name for e in backend.executions.listing(MACHINE, None, after, 2)] == ["x2", "x1"]
    assert [e.name for e in backend.executions.listing(MACHINE, "SUCCEEDED", None, 10)] == ["x3", "x1"]


def test_claim_due_leases_what_is_due_to_one_owner(backend: Backend) -> None:
    executions = backend.executions
    executions.add(execution("late", wake_at=300.0))
    executions.add(execution("b", wake_at=100.0))
    executions.add(execution("a", wake_at=50.0))
    executions.add(execution("waiting", wake_at=None))
    executions.add(execution("done", wake_at=10.0, status="SUCCEEDED"))
    assert executions.next_wake() == 50.0
    assert [e.name for e in executions.claim_due("n1", 200.0, 260.0, 10)] == ["a", "b"]
    assert executions.claim_due("n2", 200.0, 260.0, 10) == []  # held by n1
    assert executions.next_wake() == 300.0  # the held ones are not waited for
    assert executions.lease(execution("a").arn, "n2", 200.0, 260.0) is None
    # n1 dies: once its leases expire, n2 claims them
    assert [e.name for e in executions.claim_due("n2", 261.0, 321.0, 1)] == ["a"]
    refused = executions.save("n1", [ExecutionChange(execution("a").arn, "SUCCEEDED", "{}", None)])
    assert refused == [execution("a").arn]
    assert executions.get(execution("a").arn) == execution("a", wake_at=50.0)


def test_a_save_applies_the_change_and_releases_the_lease(backend: Backend) -> None:
    executions = backend.executions
    e = execution("s")
    executions.add(e)
    executions.claim_due("n1", 100.0, 160.0, 10)
    change = ExecutionChange(e.arn, "SUCCEEDED", '{"done": true}', None, output='{"r": 2}', stopped=101.5, release=True)
    assert executions.save("n1", [change]) == []
    saved = executions.get(e.arn)
    assert saved == dataclasses.replace(
        e, status="SUCCEEDED", snapshot='{"done": true}', wake_at=None, output='{"r": 2}', stopped=101.5
    )
    assert executions.lease(e.arn, "n2", 100.0, 160.0) is not None  # released: n2 may take it at once


def test_release_gives_up_leases(backend: Backend) -> None:
    executions = backend.executions
    for name in ("a", "b"):
        executions.add(execution(name))
    executions.lease(execution("a").arn, "n1", 100.0, 1000.0)
    executions.lease(execution("b").arn, "n2", 100.0, 1000.0)
    assert executions.release("n1") == 1
    assert [e.name for e in executions.claim_due("n3", 100.0, 1000.0, 10)] == ["a"]
    assert executions.release() == 2


def test_task_tokens_point_at_their_execution_until_it_finishes(backend: Backend) -> None:
    executions = backend.executions
    e = execution("t")
    executions.add(e)
    executions.lease(e.arn, "n1", 100.0, 160.0)
    executions.save("n1", [ExecutionChange(e.arn, "RUNNING", "{}", None, tokens=["tok-1", "tok-2"])])
    assert executions.token("tok-1") == e.arn
    assert executions.token("tok-2") == e.arn
    assert executions.token("tok-3") is None
    executions.save("n1", [ExecutionChange(e.arn, "FAILED", "{}", None, error="E")])
    assert executions.token("tok-1") is None


def test_a_failed_transaction_keeps_everything(backend: Backend) -> None:
    executions = backend.executions
    e = execution("r")
    executions.add(e, [(1, "e1")])
    executions.lease(e.arn, "n1", 100.0, 160.0)
    with pytest.raises(RuntimeError), backend.store.transaction():
        executions.save("n1", [ExecutionChange(e.arn, "SUCCEEDED", "{}", None, events=[(2, "e2")], tokens=["t"])])
        executions.add(execution("new"))
        executions.put_revision("rev-9", "{}")
        raise RuntimeError("rolled back")
    assert executions.get(e.arn) == e
    assert executions.history(e.arn, 0, 10) == [(1, "e1")]
    assert executions.get(execution("new").arn) is None
    assert executions.revision("rev-9") is None
    assert executions.token("t") is None


def test_an_execution_is_claimed_by_one_of_many_claimers(backend: Backend) -> None:
    for n in range(30):
        backend.executions.add(execution(f"c{n}"))
    claimed: list[str] = []
    start = threading.Barrier(4)

    def claimer(owner: str) -> None:
        start.wait()
        for _ in range(10):
            claimed.extend(e.arn for e in backend.executions.claim_due(owner, 100.0, 1000.0, 3))

    threads = [threading.Thread(target=claimer, args=(f"n{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(claimed) == sorted(execution(f"c{n}").arn for n in range(30))


@pytest.mark.parametrize("name", DURABLE)
def test_executions_outlive_the_store(name: str, request: pytest.FixtureRequest, tmp_path: object) -> None:
    where = request.getfixturevalue("postgres_url") if name == "postgres" else tmp_path
    first = Backend(name, where).open()
    e = execution("kept", wake_at=500.0)
    first.executions.add(e, [(1, "e1")])
    first.executions.put_revision("rev-1", "{}")
    first.close()
    again = Backend(name, where).open()
    try:
        assert again.executions.get(e.arn) == e
        assert again.executions.history(e.arn, 0, 10) == [(1, "e1")]
        assert again.executions.next_wake() == 500.0
    finally:
        again.close()


def test_a_held_step_changes_only_the_snapshot_and_adds_its_events(backend: Backend) -> None:
    executions = backend.executions
    e = execution("held", wake_at=90.0)
    executions.add(e, [(1, "e1")])
    executions.claim_due("n1", 100.0, 160.0, 10)
    held = ExecutionChange(e.arn, "RUNNING", '{"step": 2}', 90.0, events=[(2, "e2")], held=True)
    assert executions.save("n1", [held]) == []
    assert executions.get(e.arn) == dataclasses.replace(e, snapshot='{"step": 2}')
    assert executions.history(e.arn, 0, 10) == [(1, "e1"), (2, "e2")]
    assert executions.claim_due("n2", 100.0, 160.0, 10) == []  # still n1's
    assert executions.save("n2", [held]) == [e.arn]
