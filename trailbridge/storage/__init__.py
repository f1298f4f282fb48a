"""Persistence behind narrow interfaces. The embedded default is SQLite (`storage.sqlite`)."""
