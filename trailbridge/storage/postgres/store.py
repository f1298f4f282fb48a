"""The scale-out store: one PostgreSQL database shared by every node, reached through a connection pool.

A write transaction is bound to the thread that opened it, so the ports called inside it (from any adapter)
run on its connection and commit or roll back together; outside one, each adapter call is a short
transaction of its own on a pooled connection. Within one process, write transactions take turns under one
lock (`locked()`), as they do on SQLite, so what the engine caches in the process (the routing table) changes
in step with them; across processes, the database's own locks order them. The schema is the sum of the
numbered migrations in `migrations/`: opening a store applies those the database has not had, under an
advisory lock so that nodes starting together apply each once.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from typing import TypeVar

from psycopg import Connection
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from trailbridge.errors import InvalidInputError

T = TypeVar("T")

_MIGRATION_LOCK = 0x747261696C62  # "trailb": the advisory lock key that serializes migrations across processes

# The migrations' own bookkeeping, run before any migration exists to hold it.
_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT, applied TIMESTAMPTZ DEFAULT now()
)"""
_MIGRATIONS_DONE = "SELECT version FROM schema_migrations"
_MIGRATION_RECORD = "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)"


@cache
def queries(file: str) -> dict[str, str]:
    """The named queries of the .sql `file` beside this module (`-- name: x` above each)."""
    text = resources.files(__package__).joinpath(file).read_text(encoding="utf-8")
    named = re.split(r"^-- name: (\w+)\n", text, flags=re.MULTILINE)
    found: dict[str, str] = {}
    for name, sql in zip(named[1::2], named[2::2], strict=True):
        if name in found:
            raise ValueError(f"query {name} is named twice in {file}")
        found[name] = sql.strip()
    return found


@cache
def migrations() -> dict[int, tuple[str, str]]:
    """The migrations by number, in order: (name, script) from `migrations/NNNN_name.sql`."""
    folder = resources.files(__package__).joinpath("migrations")
    found = {
        int(f.name[:4]): (f.name[5:-4], f.read_text(encoding="utf-8"))
        for f in folder.iterdir()
        if re.fullmatch(r"\d{4}_\w+\.sql", f.name)
    }
    return dict(sorted(found.items()))


class _Bound(threading.local):
    """The connection of the thread's open transaction, if any."""

    conn: Connection[TupleRow] | None = None


class PostgresStore:
    """The pool, the thread's transaction, and the schema; the adapters run their queries through it."""

    def __init__(self, url: str, *, max_connections: int = 8) -> None:
        self._pool: ConnectionPool[Connection[TupleRow]] = ConnectionPool(
            url, min_size=1, max_size=max_connections, open=True, name="trailbridge"
        )
        self._bound = _Bound()
        self._lock = threading.RLock()
        try:
            self._migrate()
        except BaseException:
            self._pool.close()
            raise

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction on this thread; nested uses join the outer one. An exception rolls it back."""
        if self._bound.conn is not None:
            yield
            return
        with self._lock, self._pool.connection() as conn, conn.transaction():
            self._bound.conn = conn
            try:
                yield
            finally:
                self._bound.conn = None

    def combined(self, work: Callable[[], T]) -> T:
        """`work` in a write transaction of its own (PostgreSQL commits concurrent transactions by itself)."""
        with self.transaction():
            return work()

    def locked(self) -> threading.RLock:
        return self._lock

    @contextmanager
    def connection(self) -> Iterator[Connection[TupleRow]]:
        """The thread's transaction's connection, or a pooled one whose work commits when the block ends."""
        if self._bound.conn is not None:
            yield self._bound.conn
            return
        with self._pool.connection() as conn:  # the pool commits on a clean exit and rolls back on an error
            yield conn

    def close(self) -> None:
        self._pool.close()

    def _migrate(self) -> None:
        """Apply the migrations the database has not had, in order, in one transaction; refuse a newer schema."""
        known = migrations()
        with self.connection() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(_MIGRATIONS_TABLE)
            done = {row[0] for row in conn.execute(_MIGRATIONS_DONE)}
            if done and max(done) > max(known):
                raise InvalidInputError(
                    f"the database's schema is at migration {max(done)}, newer than this trailbridge knows "
                    f"({max(known)}): run a trailbridge at least as new as the one that migrated it"
                )
            for version, (name, script) in known.items():
                if version not in done:
                    conn.execute(script)
                    conn.execute(_MIGRATION_RECORD, (version, name))
