-- The import ledger's queries (imports.py is their only caller).

-- name: trail_import_get
SELECT key FROM trail_imports WHERE key = ?;

-- name: trail_import_add
INSERT INTO trail_imports (key, name, records, imported) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING;
