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

import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from typing import TypeVar

import psycopg
from psycopg import Connection
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool, PoolTimeout

from trailbridge.errors import InvalidInputError, StoreUnavailableError

T = TypeVar("T")

_MIGRATION_LOCK = 0x747261696C62  # "trailb": the advisory lock key that serializes migrations across processes
_CONNECT_TIMEOUT = 10  # seconds
_LISTEN_TIMEOUT = 0.5  # how often the listener looks whether the store is closing
log = logging.getLogger("trailbridge.storage")


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
        try:  # the pool would retry in the background for 30 s: say at once why the database is out of reach
            psycopg.connect(url, connect_timeout=_CONNECT_TIMEOUT).close()
        except psycopg.Error as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise StoreUnavailableError(f"cannot connect to PostgreSQL: {reason}") from None
        self._pool: ConnectionPool[Connection[TupleRow]] = ConnectionPool(
            url, min_size=1, max_size=max_connections, open=True, name="trailbridge"
        )
        self._bound = _Bound()
        self._lock = threading.RLock()
        self._sql = queries("store.sql")
        self._node = uuid.uuid4().hex  # tells this process's announcements from the others'
        self._listener = _Listener(url, self._node, self._sql["listen"])
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

    # The server is unreachable or went away, the pool has no connection to give, or a file cannot be read.
    failures: tuple[type[BaseException], ...] = (psycopg.OperationalError, PoolTimeout, OSError)
    shared = True  # any number of nodes may serve one database

    def announce(self, topic: str) -> None:
        """NOTIFY the other nodes (at the commit of the thread's transaction, or now outside one)."""
        with self.connection() as conn:
            conn.execute(self._sql["announce"], {"payload": f"{self._node} {topic}"})

    def on_announce(self, topic: str, listener: Callable[[], None]) -> None:
        self._listener.add(topic, listener)

    def close(self) -> None:
        self._listener.close()
        self._pool.close()

    def _migrate(self) -> None:
        """Apply the migrations the database has not had, in order, in one transaction; refuse a newer schema."""
        known = migrations()
        with self.connection() as conn:
            conn.execute(self._sql["migration_lock"], {"key": _MIGRATION_LOCK})
            conn.execute(self._sql["migrations_table"])
            done = {row[0] for row in conn.execute(self._sql["migrations_done"])}
            if done and max(done) > max(known):
                raise InvalidInputError(
                    f"the database's schema is at migration {max(done)}, newer than this trailbridge knows "
                    f"({max(known)}): run a trailbridge at least as new as the one that migrated it"
                )
            for version, (name, script) in known.items():
                if version not in done:
                    conn.execute(script)
                    conn.execute(self._sql["migration_record"], {"version": version, "name": name})


class _Listener:
    """A session of its own that LISTENs for the other nodes' announcements, in a thread started with the first
    listener, and calls each topic's listeners. After a lost connection it connects again and calls every
    listener once, since announcements made meanwhile are gone."""

    def __init__(self, url: str, node: str, listen: str) -> None:
        self._url, self._node, self._listen = url, node, listen
        self._listeners: dict[str, list[Callable[[], None]]] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, topic: str, listener: Callable[[], None]) -> None:
        """Add a listener; once this returns (or after 5 s without a database), announcements reach it."""
        with self._lock:
            self._listeners.setdefault(topic, []).append(listener)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="trailbridge-listen", daemon=True)
                self._thread.start()
        self._listening.wait(5)

    def close(self) -> None:
        self._closing.set()
        if self._thread is not None:
            self._thread.join(_LISTEN_TIMEOUT * 4)

    def _run(self) -> None:
        while not self._closing.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(self._listen)
                    if self._listening.is_set():  # a connection again: what was announced meanwhile is lost
                        self._call(None)
                    self._listening.set()
                    while not self._closing.is_set():
                        for note in conn.notifies(timeout=_LISTEN_TIMEOUT):
                            node, _, topic = note.payload.partition(" ")
                            if node != self._node:
                                self._call(topic)
            except psycopg.Error as exc:
                log.warning("listening for other nodes' announcements failed (%s); trying again", exc)
                self._closing.wait(1)

    def _call(self, topic: str | None) -> None:
        """Call the listeners of `topic` (None: of every topic)."""
        with self._lock:
            called = [one for name, ones in self._listeners.items() if topic in (None, name) for one in ones]
        for listener in called:
            try:
                listener()
            except Exception:  # one listener's failure must not stop the others, nor the listening
                log.exception("a listener of %r failed", topic)
