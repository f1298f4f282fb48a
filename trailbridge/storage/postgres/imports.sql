-- The import ledger's queries (imports.py is their only caller).

-- name: known
SELECT key FROM trail_imports WHERE key = ANY(%(keys)s);

-- name: add
-- A key another transaction is adding waits for it: it is not added twice.
INSERT INTO trail_imports (key, name, records, imported) VALUES (%(key)s, %(name)s, %(records)s, %(imported)s)
ON CONFLICT (key) DO NOTHING;
