-- The digest signing keys' queries (keys.py is their only caller).

-- name: trail_key_add_if_absent
INSERT INTO trail_keys (fingerprint, region, sealed, public_der, valid_from, valid_to)
SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS (SELECT 1 FROM trail_keys WHERE region = ?2 AND valid_to > ?7);

-- name: trail_key_current
SELECT fingerprint, region, sealed, public_der, valid_from, valid_to FROM trail_keys
WHERE region = ? ORDER BY valid_from DESC LIMIT 1;

-- name: trail_keys_between
SELECT fingerprint, region, sealed, public_der, valid_from, valid_to FROM trail_keys
WHERE region = ? AND valid_to >= ? AND valid_from <= ? ORDER BY valid_from;

-- name: trail_key_by_fingerprint
SELECT fingerprint, region, sealed, public_der, valid_from, valid_to FROM trail_keys WHERE fingerprint = ?;
