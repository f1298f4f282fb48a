-- The digest signing keys' queries (keys.py is their only caller).

-- name: lock
-- Serializes the nodes adding a region's key until the transaction ends, so the second sees the first's key.
SELECT pg_advisory_xact_lock(hashtextextended('trail keys ' || %(region)s::text, 0));

-- name: add_if_absent
INSERT INTO trail_keys (fingerprint, region, sealed, public_der, valid_from, valid_to)
SELECT %(fingerprint)s, %(region)s, %(sealed)s, %(public_der)s, %(valid_from)s, %(valid_to)s
WHERE NOT EXISTS (SELECT 1 FROM trail_keys WHERE region = %(region)s AND valid_to > %(now)s);

-- name: current
SELECT fingerprint, region, sealed, public_der, valid_from, valid_to FROM trail_keys
WHERE region = %(region)s ORDER BY valid_from DESC LIMIT 1;

-- name: between
SELECT fingerprint, region, sealed, public_der, valid_from, valid_to FROM trail_keys
WHERE region = %(region)s AND valid_to >= %(start)s AND valid_from <= %(end)s ORDER BY valid_from;

-- name: by_fingerprint
SELECT fingerprint, region, sealed, public_der, valid_from, valid_to FROM trail_keys WHERE fingerprint = %(fingerprint)s;
