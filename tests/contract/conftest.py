"""The backends every contract test runs over: `memory`, `sqlite` and `postgres` (a fourth is one more entry
here and in `trailbridge.storage.backends`). The PostgreSQL ones get a database of their own
(`tests/support/postgres.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from trailbridge.settings import Settings
from trailbridge.storage.backends import Ports, open_ports

BACKENDS = ["memory", "sqlite", "postgres"]
DURABLE = ["sqlite", "postgres"]  # the backends whose data outlives the store object


@dataclass
class Backend:
    """One backend's ports, opened as the engine opens them; `backend.deliveries` is `ports.deliveries`."""

    name: str
    where: Any  # the SQLite data directory or the PostgreSQL URL (None for memory)
    ports: Ports | None = None

    def open(self) -> Backend:
        """Open the backend on `where` (again, after `close`: the same data)."""
        settings = Settings(database=self.where) if self.name == "postgres" else Settings()
        self.ports = open_ports(settings, self.where if self.name == "sqlite" else None)
        return self

    def __getattr__(self, port: str) -> Any:
        if self.ports is None:
            raise AttributeError(port)
        return getattr(self.ports, port)

    def close(self) -> None:
        if self.ports is not None:
            self.ports.store.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    name = request.param
    where = request.getfixturevalue("postgres_url") if name == "postgres" else tmp_path if name == "sqlite" else None
    opened = Backend(name, where).open()
    yield opened
    opened.close()
