-- Records on their way to their region's default bus (issue 13: a change and its record in one transaction).
CREATE TABLE trail_forward_pending (
    seq     INTEGER PRIMARY KEY,
    record  BLOB NOT NULL
);
