-- Resource documents of every kind (issue 14), as the SQLite backend keeps them: the document is the
-- AWS-shaped description as JSON; `parent` scopes a rule to its bus. Names compare by code point
-- (COLLATE "C"), as SQLite and Python compare them, so listings page alike on every backend.
CREATE TABLE resources (
    arn     TEXT PRIMARY KEY,
    kind    TEXT NOT NULL,
    account TEXT NOT NULL,
    region  TEXT NOT NULL,
    parent  TEXT NOT NULL DEFAULT '',
    name    TEXT COLLATE "C" NOT NULL,
    doc     BYTEA NOT NULL
);
CREATE UNIQUE INDEX resources_by_name ON resources (kind, account, region, parent, name);
CREATE INDEX resources_by_kind ON resources (kind);

-- Bumped on every change routing and trails depend on, so a node that caches them notices other nodes' writes.
CREATE TABLE meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO meta (key, value) VALUES ('config_version', 0);
