-- The log events' queries (logs.py is their only caller).

-- name: log_put
INSERT INTO log_events (group_arn, stream, timestamp, message, ingested) VALUES (?, ?, ?, ?, ?);

-- name: log_get
SELECT stream, timestamp, message, ingested FROM log_events WHERE group_arn = ? ORDER BY seq LIMIT ?;

-- name: log_purge
DELETE FROM log_events WHERE group_arn = ?;
