"""Trail log files: what a logging trail admitted, written every `trail_delivery_seconds` per trail and
region as the gzip of `{"Records": [...]}`, under CloudTrail's key layout:

    [PREFIX/]AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz

A file is written before its records leave the pending table, so a crash in between writes them again
(at least once, never lost). Each file is noted with the SHA-256 of its uncompressed content, which the
digest files will list. A stopped or deleted trail's pending records are written at once.
"""

from __future__ import annotations

import gzip
import hashlib
import secrets
import string
import time
from typing import Any

from trailbridge.clock import Clock
from trailbridge.storage.ports import Resources
from trailbridge.storage.sqlite import SqliteStore
from trailbridge.trail.buckets import Buckets, Failures

_UNIQUE = string.ascii_letters + string.digits


def log_file_key(prefix: str | None, account: str, region: str, delivered: float) -> str:
    stamp = time.gmtime(delivered)
    day = time.strftime("%Y/%m/%d", stamp)
    name = f"{account}_CloudTrail_{region}_{time.strftime('%Y%m%dT%H%MZ', stamp)}_"
    name += "".join(secrets.choice(_UNIQUE) for _ in range(16)) + ".json.gz"
    path = f"AWSLogs/{account}/CloudTrail/{region}/{day}/{name}"
    return f"{prefix.strip('/')}/{path}" if prefix else path


class LogFileWriter:
    def __init__(
        self, store: SqliteStore, resources: Resources, buckets: Buckets, clock: Clock, delivery_seconds: float
    ) -> None:
        self.store, self.resources, self.buckets, self.clock = store, resources, buckets, clock
        self.delivery_seconds = delivery_seconds
        self.failures = Failures()

    def deliver_due(self, everything: bool = False) -> int:
        """Write every log file that is due (`everything`: every trail's pending records, due or not, as the
        engine stops); how many were written. A trail whose file cannot be written (its bucket gone, a key that
        would leave it) keeps its records for the next try, and is logged once (`failures`); the other trails'
        files are written all the same."""
        written = 0
        for trail_arn, region in self.store.all("trail_log_pending_groups"):
            work = f"log files in {region}"
            try:
                trail = self.resources.get(trail_arn)
                if trail is None or everything or self._due(trail, region):
                    written += self._deliver(trail_arn, trail, region)
            except Exception as exc:  # any failure of one trail must not stop the others
                self.failures.failed(str(trail_arn), work, exc)
            else:
                self.failures.worked(str(trail_arn), work)
        return written

    def deliver_all(self, trail: dict[str, Any]) -> int:
        """Write everything the trail holds now, in every region (before the trail is deleted)."""
        regions = {region for arn, region in self.store.all("trail_log_pending_groups") if arn == trail["TrailARN"]}
        return sum(self._deliver(trail["TrailARN"], trail, region) for region in sorted(regions))

    def last_delivery(self, trail_arn: str, region: str | None = None) -> float | None:
        """When the trail last delivered a log file (in `region`, or in any)."""
        row = self.store.one("trail_log_last_delivery", (trail_arn, region, region))
        return float(row[0]) if row and row[0] is not None else None

    def _due(self, trail: dict[str, Any], region: str) -> bool:
        last = self.last_delivery(trail["TrailARN"], region) or trail.get("StartLoggingTime") or 0.0
        return not trail.get("IsLogging") or self.clock.now() - last >= self.delivery_seconds

    def _deliver(self, trail_arn: str, trail: dict[str, Any] | None, region: str) -> int:
        rows = self.store.all("trail_log_pending_of", (trail_arn, region))
        if not rows:
            return 0
        last_seq = rows[-1][0]
        if trail is None:  # the trail was deleted: nothing to write to
            self.store.run("trail_log_pending_done", (trail_arn, region, last_seq))
            return 0
        account = trail_arn.split(":")[4]
        now = self.clock.now()
        key = log_file_key(trail.get("S3KeyPrefix"), account, region, now)
        body = b'{"Records":[' + b",".join(row[2] for row in rows) + b"]}"
        self.buckets.put(trail["S3BucketName"], key, gzip.compress(body))
        digest = hashlib.sha256(body).hexdigest()
        times = [row[1] for row in rows]
        with self.store.transaction():
            self.store.run(
                "trail_log_file_add",
                (trail_arn, region, trail["S3BucketName"], key, digest, min(times), max(times), now),
            )
            self.store.run("trail_log_pending_done", (trail_arn, region, last_seq))
        return 1
