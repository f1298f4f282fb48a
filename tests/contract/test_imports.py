"""The import ledger port (`storage.ports.Imports`), the same over every backend."""

from __future__ import annotations

import threading

import pytest

from tests.contract.conftest import DURABLE, Backend
from trailbridge.storage.ports import Import


def test_an_import_is_remembered_once(backend: Backend) -> None:
    imports = backend.imports
    assert imports.known(["a", "b"]) == set()
    assert imports.add(Import("a", "file.json.gz", 3, 100.0))
    assert not imports.add(Import("a", "again.json.gz", 5, 200.0))
    assert imports.add(Import("a:111111111111", "file.json.gz", 1, 300.0))
    assert imports.known(["a", "b", "a:111111111111"]) == {"a", "a:111111111111"}
    assert imports.known([]) == set()


def test_a_failed_transaction_remembers_nothing(backend: Backend) -> None:
    with pytest.raises(RuntimeError), backend.store.transaction():
        assert backend.imports.add(Import("a", "file", 1, 1.0))
        raise RuntimeError("rolled back")
    assert backend.imports.known(["a"]) == set()
    assert backend.imports.add(Import("a", "file", 1, 1.0))


@pytest.mark.parametrize("backend", DURABLE, indirect=True)
def test_imports_outlive_the_store(backend: Backend) -> None:
    backend.imports.add(Import("a", "file", 1, 1.0))
    backend.close()
    assert backend.open().imports.known(["a"]) == {"a"}


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_of_two_nodes_importing_a_file_at_once_one_remembers_it(backend: Backend) -> None:
    other = Backend(backend.name, backend.where).open()
    try:
        added: list[bool] = []
        start = threading.Barrier(2)

        def add(on: Backend) -> None:
            with on.store.transaction():
                start.wait()
                added.append(on.imports.add(Import("a", "file", 1, 1.0)))

        threads = [threading.Thread(target=add, args=(on,)) for on in (backend, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(added) == [False, True]
    finally:
        other.close()
