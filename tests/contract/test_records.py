"""The LookupEvents index (`storage.ports.Records`), the same over every backend."""

from __future__ import annotations

import threading

import orjson
import pytest

from tests.contract.conftest import DURABLE, Backend
from trailbridge.storage.ports import NewRecord, StoredRecord

A, R = "111111111111", "us-east-1"
NEWEST = (float("inf"), 2**62)
LONG = "arn:aws:events:us-east-1:111111111111:rule/" + "r" * 4_000  # longer than a PostgreSQL B-tree entry holds


def new(
    event_id: str, time: float, *attributes: tuple[str, str], read_only: bool = False, account: str = A
) -> NewRecord:
    record = orjson.dumps({"eventID": event_id, "eventTime": time, "note": "ü"})
    return NewRecord(account, R, time, event_id, read_only, record, attributes)


def add(backend: Backend, records: list[NewRecord]) -> None:
    backend.records.prepare(records)()


def ids(rows: list[StoredRecord]) -> list[str]:
    return [orjson.loads(row.record)["eventID"] for row in rows]


def page(
    backend: Backend,
    by: tuple[str, str] | None = None,
    start: float = 0,
    end: float = 1e10,
    limit: int = 50,
    account: str = A,
) -> list[str]:
    """The event ids of the first page, newest first."""
    return ids(backend.records.page(account, R, start, end, NEWEST, limit, by))


def test_records_are_found_by_each_lookup_attribute(backend: Backend) -> None:
    alice = ("Username", "alice")
    add(
        backend,
        [
            new(
                "e1",
                100.0,
                ("EventName", "PutRule"),
                ("EventSource", "events.amazonaws.com"),
                alice,
                ("AccessKeyId", "AKIDALICE"),
                ("ResourceType", "AWS::Events::Rule"),
                ("ResourceName", LONG),
                ("ResourceType", "AWS::Events::Rule"),  # twice: found once
            ),
            new("e2", 200.5, ("EventName", "DeleteRule"), ("Username", "bob")),
            new("e3", 300.0, ("EventName", "ListRules"), alice, read_only=True),
        ],
    )
    add(backend, [new("other", 250.0, ("EventName", "PutRule"), alice, account="222222222222")])
    assert page(backend) == ["e3", "e2", "e1"]
    assert page(backend, ("EventName", "PutRule")) == ["e1"]
    assert page(backend, ("EventSource", "events.amazonaws.com")) == ["e1"]
    assert page(backend, alice) == ["e3", "e1"]
    assert page(backend, ("AccessKeyId", "AKIDALICE")) == ["e1"]
    assert page(backend, ("ResourceType", "AWS::Events::Rule")) == ["e1"]
    assert page(backend, ("ResourceName", LONG)) == ["e1"]
    assert page(backend, ("ResourceName", LONG[:-1])) == []
    assert page(backend, ("EventId", "e2")) == ["e2"]
    assert page(backend, ("ReadOnly", "true")) == ["e3"]
    assert page(backend, ("EventName", "PutRule"), account="222222222222") == ["other"]
    assert page(backend, start=200.5, end=300.0) == ["e3", "e2"]  # both ends included
    assert page(backend, alice, start=100.5, end=299.0) == []
    (found,) = backend.records.page(A, R, 0, 1e10, NEWEST, 1, ("EventId", "e1"))
    assert (found.time, found.record) == (100.0, new("e1", 100.0).record)
    assert backend.records.page(A, "eu-west-1", 0, 1e10, NEWEST, 50) == []


@pytest.mark.parametrize("by", [None, ("EventName", "Same")])
def test_pages_follow_the_cursor_across_equal_times(backend: Backend, by: tuple[str, str] | None) -> None:
    times = [5.0, 5.0, 3.0, 9.0, 5.0, 3.0, 5.0]
    records = [new(f"e{i}", when, ("EventName", "Same")) for i, when in enumerate(times)]
    add(backend, records[:4])
    add(backend, records[4:])
    newest_first = sorted(range(len(times)), key=lambda i: (times[i], i), reverse=True)
    found: list[StoredRecord] = []
    cursor = NEWEST
    while True:
        rows = backend.records.page(A, R, 0, 100, cursor, 2, by)
        found += rows
        if len(rows) < 2:
            break
        cursor = (rows[-1].time, rows[-1].seq)
    assert ids(found) == [f"e{i}" for i in newest_first]
    by_event = {event_id: row.seq for event_id, row in zip(ids(found), found, strict=True)}
    assert [by_event[f"e{i}"] for i in range(len(times))] == sorted(by_event.values())  # numbered as added


def test_the_read_only_filter(backend: Backend) -> None:
    add(backend, [new(f"e{i}", float(i), read_only=i % 2 == 1) for i in range(6)])
    assert page(backend, ("ReadOnly", "true")) == ["e5", "e3", "e1"]
    assert page(backend, ("ReadOnly", "false")) == ["e4", "e2", "e0"]
    assert page(backend, ("ReadOnly", "false"), limit=2) == ["e4", "e2"]


def test_lookup_by_event_id(backend: Backend) -> None:
    add(backend, [new("same", 1.0), new("same", 2.0, account="222222222222"), new("else", 3.0)])
    assert page(backend, ("EventId", "same")) == ["same"]
    assert backend.records.page(A, R, 0, 10, NEWEST, 5, ("EventId", "same"))[0].time == 1.0
    assert page(backend, ("EventId", "same"), account="222222222222") == ["same"]
    assert page(backend, ("EventId", "missing")) == []
    assert page(backend, ("EventId", "same"), start=1.5) == []


def test_pruning_drops_the_records_before_a_time_and_their_index(backend: Backend) -> None:
    add(backend, [new(f"e{i}", float(i * 100), ("EventName", f"Op{i}"), ("Username", "u")) for i in range(1, 4)])
    backend.records.prune(200.0)
    assert page(backend) == ["e3", "e2"]  # a record of the time given is kept
    assert page(backend, ("EventName", "Op1")) == []
    assert page(backend, ("Username", "u")) == ["e3", "e2"]
    add(backend, [new("again", 400.0, ("EventName", "Op1"))])  # a term pruned before is found again
    assert page(backend, ("EventName", "Op1")) == ["again"]
    backend.records.prune(1e9)
    assert page(backend) == []
    assert page(backend, ("Username", "u")) == []


def test_a_failed_transaction_leaves_nothing(backend: Backend) -> None:
    add(backend, [new("kept", 1.0, ("EventName", "Kept"))])
    with pytest.raises(RuntimeError), backend.store.transaction():
        add(backend, [new("lost", 2.0, ("EventName", "Lost")), new("lost-too", 2.0, ("EventName", "Kept"))])
        backend.records.prune(10.0)
        raise RuntimeError("the change fails half way")
    assert page(backend) == ["kept"]
    assert page(backend, ("EventName", "Kept")) == ["kept"]
    assert page(backend, ("EventName", "Lost")) == []
    assert page(backend, ("EventId", "lost")) == []
    add(backend, [new("later", 3.0, ("EventName", "Lost"))])
    assert page(backend, ("EventName", "Lost")) == ["later"]


@pytest.mark.parametrize("backend", DURABLE, indirect=True)
def test_records_outlive_the_store(backend: Backend) -> None:
    add(backend, [new("durable", 1.0, ("EventName", "PutRule"))])
    first = backend.records.page(A, R, 0, 10, NEWEST, 5)
    backend.close()
    backend.open()
    assert backend.records.page(A, R, 0, 10, NEWEST, 5) == first
    assert page(backend, ("EventName", "PutRule")) == ["durable"]
    add(backend, [new("after", 2.0)])
    assert page(backend) == ["after", "durable"]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_two_nodes_writing_at_once_never_number_two_records_alike(backend: Backend) -> None:
    other = Backend(backend.name, backend.where).open()
    writers, batches, size = 4, 20, 25
    start = threading.Barrier(writers)

    def write(node: Backend, writer: int) -> None:
        start.wait()
        for batch in range(batches):
            when = float(batch)  # every writer writes at the same times: order between them is by number
            add(node, [new(f"w{writer}-{batch}-{i}", when, ("EventName", "Same")) for i in range(size)])

    try:
        threads = [threading.Thread(target=write, args=(node, n)) for n, node in enumerate([backend, other] * 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        everything = backend.records.page(A, R, 0, 1e10, NEWEST, 10_000)
        by_name = other.records.page(A, R, 0, 1e10, NEWEST, 10_000, ("EventName", "Same"))
    finally:
        other.close()
    assert len(everything) == len({row.seq for row in everything}) == writers * batches * size
    assert by_name == everything
