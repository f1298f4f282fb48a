-- The resource documents' queries (resources.py is their only caller).

-- name: resource_get
SELECT doc FROM resources WHERE arn = ?;

-- name: resource_by_name
SELECT doc FROM resources WHERE kind = ? AND account = ? AND region = ? AND parent = ? AND name = ?;

-- name: resource_scope
SELECT kind, account, region, parent, name FROM resources WHERE arn = ?;

-- name: resource_put
INSERT INTO resources (arn, kind, account, region, parent, name, doc) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (arn) DO UPDATE SET doc = excluded.doc;

-- name: resource_delete
DELETE FROM resources WHERE arn = ?;

-- name: resource_list
-- Names compare by code point (BINARY), and the prefix test is exact: LIKE would ignore ASCII case.
SELECT doc FROM resources
WHERE kind = ?1 AND account = ?2 AND region = ?3 AND parent = ?4 AND name >= ?5 AND substr(name, 1, length(?6)) = ?6
ORDER BY name;

-- name: resource_count
SELECT count(*) FROM resources WHERE kind = ? AND account = ? AND region = ? AND parent = ?;

-- name: resource_all
SELECT doc FROM resources WHERE kind = ?;

-- name: version_get
SELECT value FROM meta WHERE key = 'config_version';

-- name: version_bump
UPDATE meta SET value = value + 1 WHERE key = 'config_version';
