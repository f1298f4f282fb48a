"""The SQLite backend: the embedded default, one file in the data directory (or `:memory:`)."""

from trailbridge.storage.sqlite.store import SCHEMA_VERSION, SqliteStore, tighten

__all__ = ["SCHEMA_VERSION", "SqliteStore", "tighten"]
