-- The log events' queries (logs.py is their only caller).

-- name: log_put
INSERT INTO log_events (group_arn, stream, timestamp, message, ingested)
VALUES (%(group_arn)s, %(stream)s, %(timestamp)s, %(message)s, %(ingested)s);

-- name: log_get
SELECT stream, timestamp, message, ingested FROM log_events WHERE group_arn = %(group_arn)s ORDER BY seq
LIMIT %(limit)s;

-- name: log_purge
DELETE FROM log_events WHERE group_arn = %(group_arn)s;
