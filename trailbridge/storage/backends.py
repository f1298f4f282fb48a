"""Open a backend and its ports from what the settings name: the composition root's one way in.

`database` empty: the embedded SQLite file in the data directory (no data directory: the memory backend,
gone when closed). `postgresql://USER@HOST:PORT/DB` (or `postgres://`): the PostgreSQL backend, which any
number of nodes may share.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from trailbridge.errors import InvalidInputError
from trailbridge.settings import Settings
from trailbridge.storage import memory, sqlite
from trailbridge.storage.ports import (
    Deliveries,
    Executions,
    Forwarding,
    Imports,
    Keys,
    Logs,
    Messages,
    Objects,
    Records,
    Resources,
    Schedules,
    Store,
    Trails,
)


@dataclass(frozen=True)
class Ports:
    """One backend's store and every port over it."""

    store: Store
    resources: Resources
    deliveries: Deliveries
    schedules: Schedules
    messages: Messages
    logs: Logs
    records: Records  # CloudTrail records and the LookupEvents index
    trails: Trails  # trails' pending records, log files and digests (one object: its claims are the process's)
    keys: Keys  # the trails' signing keys
    forwarding: Forwarding  # CloudTrail records waiting to be put on their buses
    imports: Imports  # the log-file import ledger
    objects: Objects  # S3's buckets, objects (their bytes in the store) and multipart uploads
    executions: Executions  # Step Functions executions, their history and task tokens


def open_ports(settings: Settings, data_dir: Path | None) -> Ports:
    """The backend `settings.database` names (a PostgreSQL URL), else SQLite in `data_dir`, else memory."""
    if settings.database:
        return _postgres(settings.database)
    if data_dir is None:
        return _memory()
    return _sqlite(sqlite.SqliteStore(data_dir / "trailbridge.sqlite3", settings.sqlite_synchronous))


def _memory() -> Ports:
    store = memory.MemoryStore()
    return Ports(
        store,
        memory.MemoryResources(store),
        memory.MemoryDeliveries(store),
        memory.MemorySchedules(store),
        memory.MemoryMessages(store),
        memory.MemoryLogs(store),
        memory.MemoryRecords(store),
        memory.MemoryTrails(store),
        memory.MemoryKeys(store),
        memory.MemoryForwarding(store),
        memory.MemoryImports(store),
        memory.MemoryObjects(store),
        memory.MemoryExecutions(store),
    )


def _sqlite(store: sqlite.SqliteStore) -> Ports:
    return Ports(
        store,
        sqlite.SqliteResources(store),
        sqlite.SqliteDeliveries(store),
        sqlite.SqliteSchedules(store),
        sqlite.SqliteMessages(store),
        sqlite.SqliteLogs(store),
        sqlite.SqliteRecords(store),
        sqlite.SqliteTrails(store),
        sqlite.SqliteKeys(store),
        sqlite.SqliteForwarding(store),
        sqlite.SqliteImports(store),
        sqlite.SqliteObjects(store),
        sqlite.SqliteExecutions(store),
    )


def _postgres(url: str) -> Ports:
    try:
        from trailbridge.storage import postgres  # noqa: PLC0415 (psycopg is an optional dependency)
    except ImportError as exc:
        raise InvalidInputError(
            f"the PostgreSQL backend needs psycopg ({exc}): pip install 'trailbridge[postgres]'"
        ) from None
    store = postgres.PostgresStore(url)
    return Ports(
        store,
        postgres.PostgresResources(store),
        postgres.PostgresDeliveries(store),
        postgres.PostgresSchedules(store),
        postgres.PostgresMessages(store),
        postgres.PostgresLogs(store),
        postgres.PostgresRecords(store),
        postgres.PostgresTrails(store),
        postgres.PostgresKeys(store),
        postgres.PostgresForwarding(store),
        postgres.PostgresImports(store),
        postgres.PostgresObjects(store),
        postgres.PostgresExecutions(store),
    )
