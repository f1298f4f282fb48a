-- A delivery's lease names its owner and when it expires (issue 14): a dispatcher that dies leaves leases the
-- others take over once they expire, instead of a flag only a restart clears.
DROP INDEX deliveries_due;
ALTER TABLE deliveries ADD COLUMN lease_owner TEXT;
ALTER TABLE deliveries ADD COLUMN lease_until REAL;
ALTER TABLE deliveries DROP COLUMN leased;
CREATE INDEX deliveries_due ON deliveries (lease_owner, due);
CREATE INDEX deliveries_lease ON deliveries (lease_until) WHERE lease_owner IS NOT NULL;
