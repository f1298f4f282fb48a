"""The schedules port (`storage.ports.Schedules`), the same over every backend."""

from __future__ import annotations

import threading

import pytest

from tests.contract.conftest import Backend
from trailbridge.storage.ports import Due


def test_schedules_are_set_replaced_and_deleted(backend: Backend) -> None:
    schedules = backend.schedules
    assert schedules.next_fire() is None
    schedules.set("arn:rule/a", 300.0)
    schedules.set("arn:rule/b", 200.0)
    schedules.set("arn:rule/a", 100.0)  # replaced
    assert schedules.next_fire() == 100.0
    schedules.delete("arn:rule/a")
    schedules.delete("arn:rule/none")
    assert schedules.next_fire() == 200.0


def test_claim_due_gives_what_is_due_earliest_first(backend: Backend) -> None:
    schedules = backend.schedules
    for arn, due in (("arn:rule/late", 150.0), ("arn:rule/b", 100.0), ("arn:rule/a", 100.0), ("arn:rule/x", 900.0)):
        schedules.set(arn, due)
    with backend.store.transaction():
        due = schedules.claim_due(150.0)
        assert due == [Due("arn:rule/a", 100.0), Due("arn:rule/b", 100.0), Due("arn:rule/late", 150.0)]
        for each in due:
            schedules.set(each.rule_arn, 1000.0)
    assert schedules.claim_due(999.0) == [Due("arn:rule/x", 900.0)]


def test_a_failed_transaction_keeps_the_schedules(backend: Backend) -> None:
    backend.schedules.set("arn:rule/a", 100.0)
    with pytest.raises(RuntimeError), backend.store.transaction():
        backend.schedules.set("arn:rule/a", 500.0)
        backend.schedules.delete("arn:rule/a")
        backend.schedules.set("arn:rule/b", 50.0)
        raise RuntimeError("rolled back")
    assert backend.schedules.claim_due(1000.0) == [Due("arn:rule/a", 100.0)]


def test_a_tick_is_claimed_once_however_many_claim_it(backend: Backend) -> None:
    """Claimers that each fire what they claim and set its next time: every tick fires once."""
    for n in range(20):
        backend.schedules.set(f"arn:rule/{n}", 100.0)
    fired: list[str] = []
    start = threading.Barrier(4)

    def claimer() -> None:
        start.wait()
        for _ in range(5):
            with backend.store.transaction():
                for due in backend.schedules.claim_due(100.0):
                    fired.append(due.rule_arn)
                    backend.schedules.set(due.rule_arn, 200.0)

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(fired) == sorted(f"arn:rule/{n}" for n in range(20))
