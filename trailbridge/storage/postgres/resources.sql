-- The resource documents' queries (resources.py is their only caller).

-- name: resource_get
SELECT doc FROM resources WHERE arn = %(arn)s;

-- name: resource_by_name
SELECT doc FROM resources
WHERE kind = %(kind)s AND account = %(account)s AND region = %(region)s AND parent = %(parent)s AND name = %(name)s;

-- name: resource_scope
SELECT kind, account, region, parent, name FROM resources WHERE arn = %(arn)s;

-- name: resource_put
INSERT INTO resources (arn, kind, account, region, parent, name, doc)
VALUES (%(arn)s, %(kind)s, %(account)s, %(region)s, %(parent)s, %(name)s, %(doc)s)
ON CONFLICT (arn) DO UPDATE SET doc = excluded.doc;

-- name: resource_delete
DELETE FROM resources WHERE arn = %(arn)s;

-- name: resource_list
SELECT doc FROM resources
WHERE kind = %(kind)s AND account = %(account)s AND region = %(region)s AND parent = %(parent)s
    AND name >= %(after)s AND starts_with(name, %(prefix)s)
ORDER BY name;

-- name: resource_count
SELECT count(*) FROM resources
WHERE kind = %(kind)s AND account = %(account)s AND region = %(region)s AND parent = %(parent)s;

-- name: resource_all
SELECT doc FROM resources WHERE kind = %(kind)s;

-- name: version_get
SELECT value FROM meta WHERE key = 'config_version';

-- name: version_lock
-- The row every change bumps, locked until the transaction ends: no other node changes the configuration
-- meanwhile.
SELECT value FROM meta WHERE key = 'config_version' FOR UPDATE;

-- name: version_bump
UPDATE meta SET value = value + 1 WHERE key = 'config_version';
