"""The resource documents port (`storage.ports.Resources`), the same over every backend."""

from __future__ import annotations

import threading

import pytest

from tests.contract.conftest import DURABLE, Backend
from trailbridge.storage.ports import Scope

BUS = Scope("bus", "111111111111", "us-east-1")
BUS_ARN = "arn:aws:events:us-east-1:111111111111:event-bus/"
RULES = Scope("rule", "111111111111", "us-east-1", "arn:aws:events:us-east-1:111111111111:event-bus/default")


def _rule(name: str, **more: object) -> tuple[str, dict[str, object]]:
    arn = f"arn:aws:events:us-east-1:111111111111:rule/{name}"
    return arn, {"Name": name, "Arn": arn, **more}


def test_a_document_is_put_read_replaced_and_deleted(backend: Backend) -> None:
    resources = backend.resources
    arn, doc = _rule("r1", State="ENABLED", Nested={"list": [1, 2.5, "ü", None, True]})
    assert resources.get(arn) is None and resources.by_name(RULES, "r1") is None and resources.scope_of(arn) is None
    resources.put(RULES, "r1", arn, doc)
    assert resources.get(arn) == doc
    assert resources.by_name(RULES, "r1") == doc
    assert resources.scope_of(arn) == (RULES, "r1")
    got = resources.get(arn)
    got["State"] = "changed by the caller"
    assert resources.get(arn) == doc  # a caller's copy is its own
    resources.put(RULES, "r1", arn, {**doc, "State": "DISABLED"})
    assert resources.get(arn) == {**doc, "State": "DISABLED"}
    assert resources.count(RULES) == 1
    resources.delete(arn)
    resources.delete(arn)  # gone already: nothing happens
    assert resources.get(arn) is None and resources.by_name(RULES, "r1") is None and resources.count(RULES) == 0


def test_names_are_scoped_by_kind_account_region_and_parent(backend: Backend) -> None:
    resources = backend.resources
    other_bus = Scope("rule", "111111111111", "us-east-1", "arn:aws:events:us-east-1:111111111111:event-bus/b")
    elsewhere = [RULES, other_bus, Scope("rule", "222222222222", "us-east-1", RULES.parent), Scope("queue", *RULES[1:])]
    for i, scope in enumerate(elsewhere):
        resources.put(scope, "same", f"arn:{i}", {"i": i})
    for i, scope in enumerate(elsewhere):
        assert resources.by_name(scope, "same") == {"i": i}
        assert resources.count(scope) == 1
    assert sorted(doc["i"] for doc in resources.all_of_kind("rule")) == [0, 1, 2]
    assert resources.all_of_kind("trail") == []


def test_scan_pages_by_code_point_with_an_exact_prefix(backend: Backend) -> None:
    resources = backend.resources
    names = ["b", "B", "a_1", "a%2", "ab", "a", "Ä", "é", "z", "aB"]
    for name in names:
        resources.put(BUS, name, f"arn:bus/{name}", {"Name": name})

    def listed(prefix: str = "", after: str = "") -> list[str]:
        return [str(doc["Name"]) for doc in resources.scan(BUS, prefix, after)]

    assert listed() == sorted(names)  # code point order: upper case before lower, accents after z
    assert listed("a") == ["a", "a%2", "aB", "a_1", "ab"]  # case-sensitive; % and _ are plain characters
    assert listed("a_") == ["a_1"] and listed("a%") == ["a%2"]
    assert listed("A") == [] and listed("nothing") == []
    assert listed(after="aB") == ["aB", "a_1", "ab", "b", "z", "Ä", "é"]
    assert listed("a", after="a_") == ["a_1", "ab"]


def test_the_configuration_version_counts_changes(backend: Backend) -> None:
    resources = backend.resources
    start = resources.version()
    arn, doc = _rule("r")
    resources.put(RULES, "r", arn, doc)
    after_put = resources.version()
    assert after_put > start
    resources.put(RULES, "r", arn, {**doc, "Status": "ingesting"}, config=False)  # no bearing on routing
    assert resources.version() == after_put
    resources.delete(arn)
    assert resources.version() > after_put


def test_a_failed_transaction_leaves_documents_and_version_as_they_were(backend: Backend) -> None:
    resources = backend.resources
    arn, doc = _rule("kept")
    resources.put(RULES, "kept", arn, doc)
    version = resources.version()
    with pytest.raises(RuntimeError), backend.store.transaction():
        resources.put(RULES, "kept", arn, {**doc, "State": "DISABLED"})
        new_arn, new_doc = _rule("new")
        resources.put(RULES, "new", new_arn, new_doc)
        resources.delete(arn)
        raise RuntimeError("the change fails half way")
    assert resources.get(arn) == doc and resources.by_name(RULES, "new") is None
    assert resources.version() == version and resources.count(RULES) == 1


def test_combined_work_commits_and_a_failure_is_the_callers(backend: Backend) -> None:
    resources = backend.resources
    arn, doc = _rule("c")
    assert backend.store.combined(lambda: resources.put(RULES, "c", arn, doc) or "done") == "done"
    assert resources.get(arn) == doc

    def fails() -> None:
        resources.delete(arn)
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        backend.store.combined(fails)
    assert resources.get(arn) == doc


@pytest.mark.parametrize("backend", DURABLE, indirect=True)
def test_documents_outlive_the_store(backend: Backend) -> None:
    arn, doc = _rule("durable")
    backend.resources.put(RULES, "durable", arn, doc)
    version = backend.resources.version()
    backend.close()
    reopened = backend.open()
    assert reopened.resources.get(arn) == doc and reopened.resources.version() == version


def test_a_locked_version_holds_off_another_nodes_change_until_the_transaction_ends(postgres_url: str) -> None:
    one, other = Backend("postgres", postgres_url).open(), Backend("postgres", postgres_url).open()
    try:
        changed = threading.Event()

        def change() -> None:
            other.resources.put(BUS, "late", BUS_ARN + "late", {"Name": "late"})
            changed.set()

        with one.store.transaction():
            before = one.resources.version(lock=True)
            writer = threading.Thread(target=change)
            writer.start()
            assert not changed.wait(0.5)  # waits for this transaction
            one.resources.put(BUS, "mine", BUS_ARN + "mine", {"Name": "mine"})
            assert one.resources.version() == before + 1  # nobody else's change in between
        writer.join(5)
        assert changed.is_set()
        assert one.resources.version() == before + 2
    finally:
        one.close()
        other.close()
