-- The schedules' queries (schedules.py is their only caller).

-- name: schedule_due
SELECT rule_arn, next_fire FROM schedules WHERE next_fire <= ? ORDER BY next_fire, rule_arn;

-- name: schedule_next
SELECT min(next_fire) FROM schedules;

-- name: schedule_set
INSERT INTO schedules (rule_arn, next_fire) VALUES (?, ?)
ON CONFLICT (rule_arn) DO UPDATE SET next_fire = excluded.next_fire;

-- name: schedule_delete
DELETE FROM schedules WHERE rule_arn = ?;
