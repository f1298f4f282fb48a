"""The SQLite backend: the embedded default, one file in the data directory (or `:memory:`)."""

from trailbridge.storage.sqlite.deliveries import SqliteDeliveries
from trailbridge.storage.sqlite.executions import SqliteExecutions
from trailbridge.storage.sqlite.forwarding import SqliteForwarding
from trailbridge.storage.sqlite.imports import SqliteImports
from trailbridge.storage.sqlite.keys import SqliteKeys
from trailbridge.storage.sqlite.logs import SqliteLogs
from trailbridge.storage.sqlite.messages import SqliteMessages
from trailbridge.storage.sqlite.objects import SqliteObjects
from trailbridge.storage.sqlite.records import SqliteRecords
from trailbridge.storage.sqlite.resources import SqliteResources
from trailbridge.storage.sqlite.schedules import SqliteSchedules
from trailbridge.storage.sqlite.store import SCHEMA_VERSION, SqliteStore
from trailbridge.storage.sqlite.trails import SqliteTrails

__all__ = [
    "SCHEMA_VERSION",
    "SqliteDeliveries",
    "SqliteExecutions",
    "SqliteForwarding",
    "SqliteImports",
    "SqliteKeys",
    "SqliteLogs",
    "SqliteMessages",
    "SqliteObjects",
    "SqliteRecords",
    "SqliteResources",
    "SqliteSchedules",
    "SqliteStore",
    "SqliteTrails",
]
