"""The SQLite store's group commit, schema version and migrations."""

from __future__ import annotations

import random
import sqlite3
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import wait_for
from trailbridge.domain.ids import fast_uuid4
from trailbridge.errors import InvalidInputError
from trailbridge.storage.ports import StoredEvent
from trailbridge.storage.sqlite import SCHEMA_VERSION, SqliteDeliveries, SqliteStore
from trailbridge.storage.sqlite.store import _statements, migrations


def test_group_commit_runs_every_work_once_and_isolates_failures(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite3")
    results: dict[int, object] = {}
    barrier = threading.Barrier(16)

    def work(n: int) -> int:
        store.run("message_send", (f"q{n}", str(n), "body", b"{}", 0.0, 0.0))
        if n % 5 == 0:
            raise ValueError(f"work {n} failed")
        return n * 10

    def client(n: int) -> None:
        barrier.wait()
        try:
            results[n] = store.combined(lambda: work(n))
        except ValueError as exc:
            results[n] = str(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {n: (f"work {n} failed" if n % 5 == 0 else n * 10) for n in range(16)}
    store.close()
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        kept = sorted(int(row[0]) for row in db.execute("SELECT message_id FROM queue_messages"))
    assert kept == [n for n in range(16) if n % 5]  # a failed work's writes were rolled back, alone


def test_a_database_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    SqliteStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(InvalidInputError, match="schema version 99"):
        SqliteStore(path)


def _schema_of(db: sqlite3.Connection) -> dict[str, Any]:
    """Every table's columns and every index, as SQLite reports them (not as they were written)."""
    tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    indexes = db.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' ORDER BY name").fetchall()
    return {
        "tables": {t: db.execute(f"PRAGMA table_info({t})").fetchall() for t in tables},
        "indexes": {name: (table, db.execute(f"PRAGMA index_xinfo({name})").fetchall()) for name, table in indexes},
        "partial": db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql LIKE '%WHERE%'"
        ).fetchall(),
    }


def test_the_schema_is_the_base_and_the_migrations(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "new.sqlite3").close()
    with sqlite3.connect(tmp_path / "migrated.sqlite3") as db:
        for version, sql in migrations().items():
            for statement in _statements(sql):
                db.execute(statement)
            assert version <= SCHEMA_VERSION
    with sqlite3.connect(tmp_path / "new.sqlite3") as new, sqlite3.connect(tmp_path / "migrated.sqlite3") as migrated:
        assert _schema_of(new) == _schema_of(migrated)
        assert new.execute("SELECT key, value FROM meta").fetchall() == [("config_version", 0)]
    assert list(migrations()) == list(range(6, SCHEMA_VERSION + 1))  # numbered without a gap


def test_a_database_of_version_6_is_upgraded_with_its_data(tmp_path: Path) -> None:
    """Made by the base script as trailbridge before migrations wrote it, with a rule, an event waiting
    for a delivery (leased by a dispatcher that died) and a CloudTrail record; all survive the upgrade."""
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(migrations()[6])
        db.execute("PRAGMA user_version = 6")
        rule = orjson.dumps({"Name": "r", "EventPattern": '{"source": ["s"]}'})
        db.execute("INSERT INTO resources VALUES ('arn:rule/r', 'rule', '1', 'r1', 'default', 'r', ?)", (rule,))
        db.execute("INSERT INTO events VALUES ('e1', ?, 100.0, '{}')", (b'{"id": "e1"}',))
        db.execute(
            "INSERT INTO deliveries (event_id, rule_arn, target_id, target_arn, due, attempts, leased)"
            " VALUES ('e1', 'arn:rule/r', 't', 'arn:q', 100.0, 2, 1)"
        )
        db.execute("INSERT INTO trail_records VALUES (1, '1', 'r1', 100.0, 0, 7, ?)", (b'{"eventName": "PutRule"}',))
    store = SqliteStore(path)
    assert store.one("resource_get", ("arn:rule/r",)) == (rule,)
    assert store.one("trail_record_last") == (1,)
    deliveries = SqliteDeliveries(store)
    assert deliveries.release() == 0  # the old lease flag is gone: the delivery is claimable
    (claimed,) = deliveries.claim("node", 100.0, 10, 30.0, ())
    assert (claimed.event_id, claimed.attempts) == ("e1", 2)
    assert deliveries.event("e1") == StoredEvent(b'{"id": "e1"}', 100.0, "{}")
    with store.transaction():
        store.run("trail_forward_add", (b"{}",))
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


def test_group_commit_inside_a_transaction_joins_it_alone(tmp_path: Path) -> None:
    """Work another thread waits to commit must not commit inside a transaction that may yet roll back."""
    store = SqliteStore(tmp_path / "db.sqlite3")
    inside, waiting, done = threading.Event(), threading.Event(), threading.Event()

    def other() -> None:
        inside.wait()
        waiting.set()
        store.combined(lambda: store.run("trail_forward_add", (b"other",)))
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    with pytest.raises(ValueError), store.transaction():
        inside.set()
        waiting.wait()
        wait_for(lambda: store._waiting)  # the other thread's work waits for the connection
        store.combined(lambda: store.run("trail_forward_add", (b"mine",)))
        raise ValueError("rolled back")
    thread.join(5)
    assert done.is_set()
    assert [body for _, body in store.all("trail_forward_next", (5,))] == [b"other"]


def test_run_many_inserts_in_multi_row_statements_of_bounded_size(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite3")
    rows = [(i + 1, "123456789012", "us-east-1", float(i), i % 2, i, f"record-{i}".encode()) for i in range(20_000)]
    with store.transaction():  # 7 parameters a row: more rows than one statement may bind (4,680)
        store.run_many("trail_record_add", rows)
    assert store.one("trail_record_last") == (20_000,)
    count = sqlite3.connect(tmp_path / "db.sqlite3").execute("SELECT count(*), sum(time) FROM trail_records")
    assert count.fetchone() == (20_000, sum(range(20_000)))
    store.run_many("trail_record_add", [])  # nothing to insert is fine
    with pytest.raises(ValueError, match="takes rows of 7 values"):
        store.run_many("trail_record_add", [(1, "123456789012")])
    with pytest.raises(ValueError, match="not a statement that ends with one VALUES"):
        store.run_many("trail_record_last", [()])
    assert store.one("trail_record_last") == (20_000,)  # the refused rows changed nothing


def test_all_many_selects_by_many_rows_of_values(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite3")
    terms = [("123456789012", "us-east-1", "EventName", f"Name{i}") for i in range(10_000)]
    with store.transaction():
        store.run_many("trail_term_add", terms)
        store.run_many("trail_term_add", terms[:10])  # known terms are ignored
    found = store.all_many("trail_term_ids", [*terms[::-1], ("123456789012", "us-east-1", "EventName", "nope")])
    assert sorted(tuple(row[1:]) for row in found) == sorted(terms)
    assert len({row[0] for row in found}) == 10_000


def checkpointers() -> int:
    return sum(thread.name == "trailbridge-checkpoint" for thread in threading.enumerate())


def test_the_log_is_copied_back_by_the_checkpointer_not_by_commits(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    running = checkpointers()
    store = SqliteStore(path)
    assert checkpointers() == running + 1
    before = path.stat().st_size
    with store.transaction():  # about 1 MB of log: far below the 64 MiB past which a commit copies it back
        store.run_many("message_send", [(f"q{n}", str(n), "x" * 2000, b"{}", 0.0, 0.0) for n in range(500)])
    wait_for(lambda: path.stat().st_size > before + 1_000_000)  # the rows reached the database file
    store.close()
    assert checkpointers() == running


def test_ids_do_not_repeat_when_someone_seeds_the_random_module() -> None:
    random.seed(0)
    first = fast_uuid4()
    random.seed(0)
    assert fast_uuid4() != first
