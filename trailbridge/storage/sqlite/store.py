"""The embedded store: one SQLite database file in WAL mode, shared by every thread of the process.

All statements run on one connection under one lock: SQLite has one writer anyway, and keeping the
connection single makes `transaction()` a plain critical section. Schema and queries live in `.sql`
files beside this module.

The database is readable by its owner only: a data directory the store creates is 0700, and the database
file is created 0600 before SQLite opens it, so its `-wal` and `-shm` files (which SQLite creates with the
database's mode) are too. Files of ours that an older trailbridge left readable by others are tightened to
0600; an existing directory is left as it is (it may be one the user gave, such as `--data .`), with a warning
when other users may write in it.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache, lru_cache
from importlib import resources
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar, cast

from trailbridge.errors import InvalidInputError
from trailbridge.filemodes import tighten

_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


@cache
def queries() -> dict[str, str]:
    """The named queries of every .sql file beside this module but schema.sql (`-- name: x` before each)."""
    found: dict[str, str] = {}
    for file in sorted(resources.files(__package__).iterdir(), key=lambda f: f.name):
        if not file.name.endswith(".sql") or file.name == "schema.sql":
            continue
        named = re.split(r"^-- name: (\w+)\n", file.read_text(encoding="utf-8"), flags=re.MULTILINE)
        for i in range(1, len(named), 2):
            if named[i] in found:
                raise ValueError(f"query {named[i]} is named twice")
            found[named[i]] = named[i + 1].strip()
    return found


_FIRST_VERSION = 6  # the oldest schema upgraded in place (migrations/0006_base.sql); older ones are refused


def migrations() -> dict[int, str]:
    """The migration scripts by the version they bring a database to (`migrations/NNNN_name.sql`)."""
    folder = resources.files(__package__).joinpath("migrations")
    found = {int(f.name[:4]): f.read_text(encoding="utf-8") for f in folder.iterdir() if f.name.endswith(".sql")}
    return dict(sorted(found.items()))


SCHEMA_VERSION = max(migrations())  # a new database is made from schema.sql at this version
log = logging.getLogger("trailbridge.storage")
_MAX_PARAMETERS = 32_766  # SQLite's default SQLITE_MAX_VARIABLE_NUMBER since 3.32
_VALUES = re.compile(r"^(.+\bVALUES) (\(\?(?:, \?)*\))(\)?);?$", re.DOTALL)


@cache
def _values_shape(sql: str) -> tuple[str, int, str]:
    """(what comes before, parameters per row, what comes after) the one `VALUES (?, ...)` row of a
    statement that ends with it (`INSERT ... VALUES (?, ?)`, or `... IN (VALUES (?, ?))`)."""
    found = _VALUES.match(sql)
    if found is None:
        raise ValueError(f"not a statement that ends with one VALUES (?, ...) row: {sql}")
    return found.group(1), found.group(2).count("?"), found.group(3)


@lru_cache(maxsize=64)
def _values_statement(sql: str, rows: int) -> str:
    head, width, tail = _values_shape(sql)
    return head + " " + ", ".join(["(" + ", ".join(["?"] * width) + ")"] * rows) + tail


T = TypeVar("T")


def _statements(script: str) -> list[str]:
    """The statements of an SQL script (comments and blank lines between them dropped)."""
    found, current = [], ""
    for line in script.splitlines(keepends=True):
        if not current and (not line.strip() or line.lstrip().startswith("--")):
            continue
        current += line
        if sqlite3.complete_statement(current):
            found.append(current.strip())
            current = ""
    if current.strip():
        found.append(current.strip())
    return found


class _Slot:
    """One thread's work waiting for a group commit."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.work = work
        self.result: Any = None
        self.error: Exception | None = None
        self.done = False


class SqliteStore:
    """Raw access to the database: named queries, run inside `transaction()` or one at a time."""

    def __init__(self, path: Path | str, synchronous: str = "NORMAL") -> None:
        if synchronous.upper() not in _SYNCHRONOUS:
            raise InvalidInputError(f"sqlite synchronous must be one of {', '.join(_SYNCHRONOUS)}, not {synchronous}")
        if str(path) != ":memory:":
            _private_database(Path(path))
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        self._lock = threading.RLock()
        self._depth = 0
        self._owner: int | None = None  # the thread in a transaction
        self._waiting: list[_Slot] = []
        self._waiting_lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
        # 64 MiB of page cache (the default is 2 MiB): the LookupEvents indexes take random inserts, and an
        # import of many log files slows down sharply once they outgrow the cache.
        self._db.execute("PRAGMA cache_size=-65536")
        self._apply_schema(path)
        self._sql = queries()
        self._max_parameters = min(_MAX_PARAMETERS, self._db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        self._checkpointer: _Checkpointer | None = None
        if str(path) != ":memory:":
            # Commits leave the log to the checkpointer; past 64 MiB of log (a checkpointer that fell behind)
            # a commit copies it back itself, as SQLite does by default past 4 MiB.
            self._db.execute("PRAGMA wal_autocheckpoint=16384")
            self._checkpointer = _Checkpointer(str(path), synchronous.upper())

    def _apply_schema(self, path: Path | str) -> None:
        """Make a new database from schema.sql, or upgrade one of an older version by the migrations it has not
        had, in one transaction; refuse one older than the base or newer than this trailbridge."""
        found = self._db.execute("PRAGMA user_version").fetchone()[0]
        used = self._db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        if not used:
            schema = resources.files(__package__).joinpath("schema.sql").read_text(encoding="utf-8")
            self._script([schema], SCHEMA_VERSION)
        elif found != SCHEMA_VERSION:
            if not _FIRST_VERSION <= found < SCHEMA_VERSION:
                raise InvalidInputError(
                    f"{path} has schema version {found}; this trailbridge upgrades versions {_FIRST_VERSION} to "
                    f"{SCHEMA_VERSION - 1} and uses {SCHEMA_VERSION}. Start with a new data directory, or use the "
                    "trailbridge that wrote it."
                )
            self._script([sql for version, sql in migrations().items() if version > found], SCHEMA_VERSION)
            log.info("upgraded %s from schema version %d to %d", path, found, SCHEMA_VERSION)

    def _script(self, scripts: list[str], version: int) -> None:
        """Run SQL scripts statement by statement in one transaction (executescript would commit first), and
        set the schema version with them."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for script in scripts:
                for statement in _statements(script):
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version={version}")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def locked(self) -> threading.RLock:
        """The connection's lock, for reads that must not interleave with a transaction."""
        return self._lock

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (what it reads may yet be rolled back); ask it holding `locked()`."""
        return self._depth > 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction; nested uses join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth, self._owner = 1, threading.get_ident()
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth, self._owner = 0, None

    def combined(self, work: Callable[[], T]) -> T:
        """Run `work` in a write transaction shared with the other threads waiting to do the same (group
        commit): whichever thread gets the connection first runs every waiting work, each in a savepoint
        (one that raises is rolled back alone), and commits once. Returns after the commit. Inside a
        transaction of this thread's, `work` joins it alone: other threads' work must not commit with it."""
        if self._owner == threading.get_ident():
            with self.transaction():
                return work()
        slot = _Slot(work)
        with self._waiting_lock:
            self._waiting.append(slot)
        with self._lock:
            if not slot.done:
                with self._waiting_lock:
                    batch, self._waiting = self._waiting, []
                self._run_batch(batch)
        if slot.error is not None:
            raise slot.error
        return cast(T, slot.result)

    def combined_many(self, works: Sequence[Callable[[], Any]]) -> list[tuple[Any, Exception | None]]:
        """Run several works of one thread as `combined` runs those of many: in one write transaction, each in a
        savepoint (one that raises is rolled back alone), with one commit, joined by the other threads' works
        waiting for a group commit. Each work's result or exception, in order, once committed."""
        slots = [_Slot(work) for work in works]
        with self._lock:
            with self._waiting_lock:
                batch, self._waiting = self._waiting, []
            self._run_batch(batch + slots)
        return [(slot.result, slot.error) for slot in slots]

    def _run_batch(self, batch: list[_Slot]) -> None:
        try:
            with self.transaction():
                for slot in batch:
                    self._db.execute("SAVEPOINT work")
                    try:
                        slot.result = slot.work()
                    except Exception as exc:
                        self._db.execute("ROLLBACK TO work")
                        slot.error = exc
                    self._db.execute("RELEASE work")
        except Exception as exc:  # the commit failed: nothing of the batch is stored
            for slot in batch:
                slot.result, slot.error = None, exc
        finally:
            for slot in batch:
                slot.done = True

    def all(self, name: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(self._sql[name], args).fetchall()

    def one(self, name: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        with self._lock:
            row: tuple[Any, ...] | None = self._db.execute(self._sql[name], args).fetchone()
            return row

    def run(self, name: str, args: Sequence[Any] = ()) -> int:
        """Execute a statement; the number of rows it changed."""
        with self._lock:
            return self._db.execute(self._sql[name], args).rowcount

    def insert(self, name: str, args: Sequence[Any] = ()) -> int:
        """Execute an INSERT; the new row's id."""
        with self._lock:
            return int(self._db.execute(self._sql[name], args).lastrowid or 0)

    def run_many(self, name: str, rows: Iterable[Sequence[Any]]) -> None:
        """Insert rows with a named `INSERT ... VALUES (?, ...)`, as few multi-row statements.

        Not `executemany`: it steps SQLite once per row and takes the GIL back after every step, so
        while another thread runs Python (an import parsing its next file, a request) each row waits
        for a GIL switch interval. In a micro-benchmark, 100,000 LookupEvents records (800,000 rows)
        took 486 s to write beside a thread busy in Python, against 3 s alone; as statements of up to
        `_MAX_PARAMETERS` parameters, bound with the GIL held and then inserted without it, 4.1 s."""
        self._many(name, rows)

    def all_many(self, name: str, rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """The rows a named `SELECT ... IN (VALUES (?, ...))` finds for all these rows of values."""
        return self._many(name, rows)

    def _many(self, name: str, rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
        sql = self._sql[name]
        width = _values_shape(sql)[1]
        per_statement = max(1, self._max_parameters // width)
        batch = rows if isinstance(rows, list) else list(rows)
        found: list[tuple[Any, ...]] = []
        with self._lock:
            for start in range(0, len(batch), per_statement):
                part = batch[start : start + per_statement]
                if any(len(row) != width for row in part):
                    raise ValueError(f"{name} takes rows of {width} values")
                found += self._db.execute(_values_statement(sql, len(part)), list(chain.from_iterable(part)))
        return found

    failures: tuple[type[BaseException], ...] = (sqlite3.OperationalError, OSError)  # locked, full, unreadable
    shared = False  # one process serves a file (the dispatcher's lock file sees to it)

    def announce(self, topic: str) -> None:
        """No other process to tell."""

    def on_announce(self, topic: str, listener: Callable[[], None]) -> None:
        """No other process announces anything."""

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        with self._lock:
            self._db.close()


def _private_database(path: Path) -> None:
    """The database's folder (0700 when the store creates it) and the database file, 0600, before SQLite opens
    it; what an older trailbridge left wider of the database, its log and shared memory is tightened."""
    folder = path.parent
    if not folder.is_dir():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    elif folder.stat().st_mode & 0o022:
        log.warning("other users may write in %s: they could replace its files (make it 0700)", folder)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
    for suffix in ("", "-wal", "-shm", "-journal"):
        if (found := Path(f"{path}{suffix}")).exists():
            tighten(found)


class _Checkpointer:
    """Copies the write-ahead log back into the database from a thread and connection of its own (SQLite's
    PASSIVE checkpoint, which never blocks writers or readers), so that commits need not. With SQLite's
    default, the commit that takes the log past 1,000 pages copies it back and syncs both files while holding
    the store's lock: in an import, about 60 ms of each file's 140 ms under the lock, and throughput rose about
    7% without it. A crash in the middle of a checkpoint loses nothing: the log stays until it is copied."""

    def __init__(self, path: str, synchronous: str, interval: float = 0.2) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute(f"PRAGMA synchronous={synchronous}")  # how a checkpoint syncs
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trailbridge-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:  # e.g. the disk is full: commits still copy the log past 64 MiB
                log.exception("checkpoint failed")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._db.close()
