"""Trail log files: what a logging trail admitted, written every `trail_delivery_seconds` per trail and
region as the gzip of `{"Records": [...]}`, under CloudTrail's key layout:

    [PREFIX/]AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz

A file is written before its records leave the store, so a crash in between writes them again (at least
once, never lost). Each file is noted with the SHA-256 of its uncompressed content, which the digest files
will list. A stopped or deleted trail's pending records are written at once. One writer at a time writes a
(trail, region)'s files: it claims it first, and a claim another holds (another node's) is passed over.
"""

from __future__ import annotations

import gzip
import hashlib
import secrets
import string
import time
from typing import Any

from trailbridge.clock import Clock
from trailbridge.storage.ports import LogFile, Resources, Trails
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
        self, trails: Trails, resources: Resources, buckets: Buckets, clock: Clock, delivery_seconds: float
    ) -> None:
        self.trails, self.resources, self.buckets, self.clock = trails, resources, buckets, clock
        self.delivery_seconds = delivery_seconds
        self.failures = Failures()

    def deliver_due(self, everything: bool = False) -> int:
        """Write every log file that is due (`everything`: every trail's pending records, due or not, as the
        engine stops); how many were written. A trail whose file cannot be written (its bucket gone, a key that
        would leave it) keeps its records for the next try, and is logged once (`failures`); the other trails'
        files are written all the same. A (trail, region) that another writer holds (another node) is passed
        over: that writer writes it."""
        written = 0
        for group in self.trails.groups():
            work = f"log files in {group.region}"
            try:
                written += self._deliver_if_due(group.trail_arn, group.region, everything)
            except Exception as exc:  # any failure of one trail must not stop the others
                self.failures.failed(group.trail_arn, work, exc)
            else:
                self.failures.worked(group.trail_arn, work)
        return written

    def deliver_all(self, trail: dict[str, Any]) -> int:
        """Write everything the trail holds now, in every region (before the trail is deleted)."""
        arn = trail["TrailARN"]
        regions = sorted(group.region for group in self.trails.groups() if group.trail_arn == arn)
        written = 0
        for region in regions:
            with self.trails.claim(arn, region) as held:
                written += self._deliver(arn, trail, region) if held else 0
        return written

    def last_delivery(self, trail_arn: str, region: str | None = None) -> float | None:
        """When the trail last delivered a log file (in `region`, or in any)."""
        return self.trails.last_delivery(trail_arn, region)

    def _deliver_if_due(self, trail_arn: str, region: str, everything: bool) -> int:
        with self.trails.claim(trail_arn, region) as held:
            if not held:
                return 0
            trail = self.resources.get(trail_arn)
            if trail is None or everything or self._due(trail, region):
                return self._deliver(trail_arn, trail, region)
            return 0

    def _due(self, trail: dict[str, Any], region: str) -> bool:
        last = self.last_delivery(trail["TrailARN"], region) or trail.get("StartLoggingTime") or 0.0
        return not trail.get("IsLogging") or self.clock.now() - last >= self.delivery_seconds

    def _deliver(self, trail_arn: str, trail: dict[str, Any] | None, region: str) -> int:
        """Write the (trail, region)'s pending records as one log file (call holding its claim)."""
        pending = self.trails.pending(trail_arn, region)
        if not pending:
            return 0
        seqs = [each.seq for each in pending]
        if trail is None:  # the trail was deleted: nothing to write to
            self.trails.delivered(trail_arn, region, seqs, None)
            return 0
        account = trail_arn.split(":")[4]
        now = self.clock.now()
        key = log_file_key(trail.get("S3KeyPrefix"), account, region, now)
        body = b'{"Records":[' + b",".join(each.record for each in pending) + b"]}"
        self.buckets.put(trail["S3BucketName"], key, gzip.compress(body))
        times = [each.time for each in pending]
        file = LogFile(trail["S3BucketName"], key, hashlib.sha256(body).hexdigest(), min(times), max(times), now)
        self.trails.delivered(trail_arn, region, seqs, file)
        return 1
