-- The store's own statements: migration bookkeeping and announcements (`-- name: x` above each).

-- name: migration_lock
-- Serializes migrations across nodes starting together, until the transaction ends.
SELECT pg_advisory_xact_lock(%(key)s)

-- name: migrations_table
-- The migrations' own bookkeeping, made before any migration exists to hold it.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT, applied TIMESTAMPTZ DEFAULT now()
)

-- name: migrations_done
SELECT version FROM schema_migrations

-- name: migration_record
INSERT INTO schema_migrations (version, name) VALUES (%(version)s, %(name)s)

-- name: announce
-- Delivered to every session listening on the channel when the transaction commits; "<node> <topic>".
SELECT pg_notify('trailbridge', %(payload)s)

-- name: listen
LISTEN trailbridge
