"""The SQLite backend: the embedded default, one file in the data directory (or `:memory:`)."""

from trailbridge.storage.sqlite.deliveries import SqliteDeliveries
from trailbridge.storage.sqlite.logs import SqliteLogs
from trailbridge.storage.sqlite.messages import SqliteMessages
from trailbridge.storage.sqlite.resources import SqliteResources
from trailbridge.storage.sqlite.schedules import SqliteSchedules
from trailbridge.storage.sqlite.store import SCHEMA_VERSION, SqliteStore, tighten

__all__ = [
    "SCHEMA_VERSION",
    "SqliteDeliveries",
    "SqliteLogs",
    "SqliteMessages",
    "SqliteResources",
    "SqliteSchedules",
    "SqliteStore",
    "tighten",
]
