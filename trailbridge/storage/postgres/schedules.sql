-- The schedules' queries (schedules.py is their only caller).

-- name: schedule_due
-- Rows another node's open claim holds are passed over, not waited for: that node fires them.
SELECT rule_arn, next_fire FROM schedules WHERE next_fire <= %(now)s
ORDER BY next_fire, rule_arn
FOR UPDATE SKIP LOCKED;

-- name: schedule_next
SELECT min(next_fire) FROM schedules;

-- name: schedule_set
INSERT INTO schedules (rule_arn, next_fire) VALUES (%(rule_arn)s, %(next_fire)s)
ON CONFLICT (rule_arn) DO UPDATE SET next_fire = excluded.next_fire;

-- name: schedule_delete
DELETE FROM schedules WHERE rule_arn = %(rule_arn)s;
