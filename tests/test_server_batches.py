"""Calls run in batches (server/batches.py) on the SQLite store's `combined_many`: each call's result or error,
its writes kept or rolled back alone, its context, and every call answered before the thread stops."""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest

from trailbridge.server.batches import Batches
from trailbridge.storage.sqlite import SqliteStore
from trailbridge.topics.batch import memoized, write_signed

_CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="-")


def _put(store: SqliteStore, n: int) -> None:
    arn = f"arn:aws:test:us-east-1:123456789012:thing/{n}"
    store.run("resource_put", (arn, "thing", "123456789012", "us-east-1", "", str(n), orjson.dumps({"n": n})))


def _kept(path: Path) -> list[int]:
    with sqlite3.connect(path) as db:
        return sorted(int(name) for (name,) in db.execute("SELECT name FROM resources WHERE kind = 'thing'"))


def _work(store: SqliteStore, n: int) -> int:
    _put(store, n)
    if n % 4 == 0:
        raise ValueError(f"work {n} failed")
    return n * 10


def test_combined_many_answers_each_work_and_rolls_back_a_failed_one_alone(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite3")
    outcomes = store.combined_many([lambda n=n: _work(store, n) for n in range(1, 9)])  # type: ignore[misc]
    assert [result for result, _ in outcomes] == [10, 20, 30, None, 50, 60, 70, None]
    assert [str(error) for _, error in outcomes if error is not None] == ["work 4 failed", "work 8 failed"]
    store.close()
    assert _kept(tmp_path / "db.sqlite3") == [1, 2, 3, 5, 6, 7]


def test_batched_calls_get_their_own_answers_in_their_own_context(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite3")
    batches = Batches(store.combined_many)

    def work(n: int) -> tuple[int, str]:
        return _work(store, n), _CALLER.get()

    async def call(n: int) -> object:
        _CALLER.set(f"caller {n}")
        try:
            return await batches.run(lambda: work(n))
        except ValueError as exc:
            return str(exc)

    async def main() -> list[object]:
        return list(await asyncio.gather(*(call(n) for n in range(1, 41))))

    answers = asyncio.run(main())
    batches.close()
    store.close()
    assert answers == [f"work {n} failed" if n % 4 == 0 else (n * 10, f"caller {n}") for n in range(1, 41)]
    assert _kept(tmp_path / "db.sqlite3") == [n for n in range(1, 41) if n % 4]


def test_a_failed_commit_fails_every_call_of_its_batch(tmp_path: Path) -> None:
    def failing(works: object) -> list[tuple[object, Exception | None]]:
        raise sqlite3.OperationalError("disk I/O error")

    batches = Batches(failing)

    async def main() -> None:
        with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
            await batches.run(lambda: 1)

    asyncio.run(main())
    batches.close()


def test_signed_writes_are_made_at_the_end_of_the_batch_and_dropped_with_a_failed_call(tmp_path: Path) -> None:
    """What a call writes once signed (`write_signed`) is written after every call of its batch ran, in the
    order it was kept and in the batch's transaction; a call that fails leaves none of it."""
    store = SqliteStore(tmp_path / "db.sqlite3")
    batches = Batches(store.combined_many)
    order: list[str] = []

    def write(signed: dict[str, Any]) -> None:
        _put(store, 100 + signed["n"])
        order.append(f"write {signed['n']}")

    def work(n: int) -> int:
        order.append(f"call {n}")
        write_signed(lambda: {"n": n}, write)
        return _work(store, n)

    async def main() -> list[object]:
        held = threading.Event()  # the thread is held in a batch of its own until the three calls wait together
        holding = asyncio.create_task(batches.run(held.wait))
        started = [asyncio.create_task(batches.run(lambda n=n: work(n))) for n in (1, 2, 4)]  # type: ignore[misc]
        await asyncio.sleep(0)  # every call handed over
        held.set()
        await holding
        return list(await asyncio.gather(*started, return_exceptions=True))

    answers = asyncio.run(main())
    batches.close()
    store.close()
    assert answers[:2] == [10, 20] and str(answers[2]) == "work 4 failed"
    assert order == ["call 1", "call 2", "call 4", "write 1", "write 2"]
    assert _kept(tmp_path / "db.sqlite3") == [1, 2, 101, 102]


def test_a_lookup_is_made_once_per_batch_and_key_and_each_time_outside_one(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite3")
    batches = Batches(store.combined_many)
    made: list[str] = []

    def make(key: str) -> str:
        made.append(key)
        return key.upper()

    def look(key: str) -> str:
        return memoized(key, lambda: make(key))

    async def main() -> list[object]:
        held = threading.Event()
        holding = asyncio.create_task(batches.run(held.wait))
        started = [asyncio.create_task(batches.run(lambda key=key: look(key))) for key in "aba"]  # type: ignore[misc]
        await asyncio.sleep(0)
        held.set()
        await holding
        return list(await asyncio.gather(*started))

    assert asyncio.run(main()) == ["A", "B", "A"]
    batches.close()
    store.close()
    assert made == ["a", "b"]
    assert [look("a"), look("a")] == ["A", "A"] and made == ["a", "b", "a", "a"]
