"""The PostgreSQL backend: the scale-out store, one database that every node shares (psycopg 3, pooled)."""

from trailbridge.storage.postgres.deliveries import PostgresDeliveries
from trailbridge.storage.postgres.executions import PostgresExecutions
from trailbridge.storage.postgres.forwarding import PostgresForwarding
from trailbridge.storage.postgres.imports import PostgresImports
from trailbridge.storage.postgres.keys import PostgresKeys
from trailbridge.storage.postgres.logs import PostgresLogs
from trailbridge.storage.postgres.messages import PostgresMessages
from trailbridge.storage.postgres.objects import PostgresObjects
from trailbridge.storage.postgres.records import PostgresRecords
from trailbridge.storage.postgres.resources import PostgresResources
from trailbridge.storage.postgres.schedules import PostgresSchedules
from trailbridge.storage.postgres.store import PostgresStore
from trailbridge.storage.postgres.trails import PostgresTrails

__all__ = [
    "PostgresDeliveries",
    "PostgresExecutions",
    "PostgresForwarding",
    "PostgresImports",
    "PostgresKeys",
    "PostgresLogs",
    "PostgresMessages",
    "PostgresObjects",
    "PostgresRecords",
    "PostgresResources",
    "PostgresSchedules",
    "PostgresStore",
    "PostgresTrails",
]
