-- When each scheduled rule fires next (issue 14): claimed with FOR UPDATE SKIP LOCKED, so a tick fires once
-- however many nodes run the scheduler.
CREATE TABLE schedules (
    rule_arn TEXT PRIMARY KEY,
    next_fire DOUBLE PRECISION NOT NULL
);

CREATE INDEX schedules_next ON schedules (next_fire, rule_arn);
