"""The backends every contract test runs over: `memory`, `sqlite` and `postgres` (a fourth is one more entry).

PostgreSQL is the server at `TRAILBRIDGE_TEST_POSTGRES_URL` (default `postgresql://postgres@127.0.0.1:5432/postgres`,
trust auth): each test gets a database of its own, dropped after it. Its tests skip, with the reason, when the
server or psycopg is absent, and fail when `CI=true`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from trailbridge.storage import memory, sqlite

POSTGRES_URL = os.environ.get("TRAILBRIDGE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["memory", "sqlite", "postgres"]
DURABLE = ["sqlite", "postgres"]  # the backends whose data outlives the store object


@dataclass
class Backend:
    name: str
    where: Any  # the SQLite file or the PostgreSQL URL (None for memory)
    store: Any = None
    deliveries: Any = None
    schedules: Any = None
    resources: Any = None
    messages: Any = None
    logs: Any = None
    trails: Any = None
    keys: Any = None
    forwarding: Any = None
    imports: Any = None
    records: Any = None

    def open(self) -> Backend:
        """Open the backend's store and ports on `where` (again, after `close`: the same data)."""
        if self.name == "memory":
            self.store = memory.MemoryStore()
            ports: Any = memory
            prefix = "Memory"
        elif self.name == "sqlite":
            self.store = sqlite.SqliteStore(self.where)
            ports, prefix = sqlite, "Sqlite"
        else:
            from trailbridge.storage import postgres  # noqa: PLC0415 (psycopg is optional)

            self.store = postgres.PostgresStore(self.where)
            ports, prefix = postgres, "Postgres"
        for port in (
            "deliveries",
            "schedules",
            "resources",
            "messages",
            "logs",
            "trails",
            "keys",
            "forwarding",
            "imports",
            "records",
        ):
            setattr(self, port, getattr(ports, prefix + port.title())(self.store))
        return self

    def close(self) -> None:
        close = getattr(self.store, "close", None)
        if close is not None:
            close()


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is needed in CI: {reason}")
    pytest.skip(f"PostgreSQL not available: {reason}")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a new, empty database, dropped after the test."""
    try:
        import psycopg  # noqa: PLC0415 (optional: without it the PostgreSQL tests skip)
    except ImportError as exc:
        _unavailable(f"psycopg is not installed ({exc})")
    name = f"trailbridge_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        _unavailable(f"cannot connect to {POSTGRES_URL} ({str(exc).strip()})")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    name = request.param
    where = None if name == "memory" else tmp_path / "db.sqlite3" if name == "sqlite" else None
    if name == "postgres":
        where = request.getfixturevalue("postgres_url")
    opened = Backend(name, where).open()
    yield opened
    opened.close()
