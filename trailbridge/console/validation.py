"""Validate now: a trail's bucket checked by the log-file validator (`trail.validate.validate_bucket`, what
`trailbridge trail validate` and `aws cloudtrail validate-logs` check), every read an API call made as the
signed-in key: DescribeTrails and GetTrailStatus for the trail (its bucket, and its newest digest, so that a cut
tail is INVALID), ListPublicKeys for the digests' regions, ListObjectsV2, GetObject and HeadObject for the
bucket. A key that may not read the bucket gets the API's refusal as the answer, never a report.

`Call` makes one call (service, operation, parameters, region) and answers its parsed output or raises
CallFailed; the console gives one that goes through the server's own API (`app.Console.validate`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from trailbridge.trail.coverage import parse_digest_name
from trailbridge.trail.validate import StoreError, TrailStatus, validate_bucket

_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class CallFailed(Exception):
    """An API call's error: its code, message and status."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


Call = Callable[[str, str, Mapping[str, Any], str], dict[str, Any]]


class _Refused(StoreError):
    """A bucket read the API refused (the validator's StoreError, with the call's error)."""

    def __init__(self, operation: str, bucket: str, failed: CallFailed) -> None:
        super().__init__(f"{operation} on {bucket}: {failed.code}: {failed.message}")
        self.failed = failed


class ApiStore:
    """A bucket read through the API (the validator's `Store`)."""

    def __init__(self, call: Call, bucket: str, region: str) -> None:
        self.call, self.bucket, self.region = call, bucket, region

    def names(self) -> list[str]:
        names: list[str] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"Bucket": self.bucket} | ({"ContinuationToken": token} if token else {})
            answer = self._s3("ListObjectsV2", params)
            names += [item["Key"] for item in answer.get("Contents", [])]
            token = answer.get("NextContinuationToken")
            if not token:
                return names

    def raw(self, key: str) -> bytes | None:
        answer = self._object("GetObject", key)
        return bytes(answer["Body"]) if answer is not None else None

    def signature(self, key: str) -> str | None:
        answer = self._object("HeadObject", key)
        value = (answer.get("Metadata") or {}).get("signature") if answer is not None else None
        return value if isinstance(value, str) else None

    def _object(self, operation: str, key: str) -> dict[str, Any] | None:
        try:
            return self._s3(operation, {"Bucket": self.bucket, "Key": key})
        except _Refused as exc:
            if exc.failed.code in _MISSING:
                return None
            raise

    def _s3(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return self.call("s3", operation, params, self.region)
        except CallFailed as exc:
            raise _Refused(operation, self.bucket, exc) from None


def validated(call: Call, trail_arn: str, region: str) -> dict[str, Any]:
    """The validator's report on the bucket of the trail `trail_arn` names (as its lines, summary and notes)."""
    trails = call("cloudtrail", "DescribeTrails", {"trailNameList": [trail_arn]}, region).get("trailList", [])
    if not trails:
        raise CallFailed("TrailNotFoundException", f"Unknown trail: {trail_arn}.", 400)
    doc = trails[0]
    home = str(doc.get("HomeRegion") or region)
    store = ApiStore(call, str(doc["S3BucketName"]), home)
    try:
        names = store.names()
        regions = {d.home_region for name in names if (d := parse_digest_name(name)) is not None}
        keys: dict[str, bytes] = {}
        for where in sorted(regions):
            period = {"StartTime": datetime(2000, 1, 1, tzinfo=UTC), "EndTime": datetime.now(UTC)}
            listed = call("cloudtrail", "ListPublicKeys", period, where).get("PublicKeyList", [])
            keys |= {key["Fingerprint"]: bytes(key["Value"]) for key in listed}
        status = call("cloudtrail", "GetTrailStatus", {"Name": doc["TrailARN"]}, home)
        statuses, notes = [], []
        latest = status.get("LatestDigestDeliveryTime")
        account = str(doc["TrailARN"]).split(":")[4]
        if isinstance(latest, datetime):
            prefix = str(doc.get("S3KeyPrefix") or "")
            statuses.append(TrailStatus(latest.timestamp(), account, str(doc["Name"]), home, prefix))
        elif doc.get("LogFileValidationEnabled"):
            notes.append(
                "The trail has delivered no digest yet: whether its newest digests were deleted is not checked."
            )
        report = validate_bucket(store, str(doc["S3BucketName"]), keys, statuses)
    except _Refused as exc:
        raise CallFailed(exc.failed.code, str(exc), exc.failed.status) from None
    return {
        "TrailARN": doc["TrailARN"],
        "Bucket": doc["S3BucketName"],
        "Valid": report.valid,
        "Lines": [line.split("\t") for line in report.lines],
        "Summary": report.summary(),
        "Notes": notes + report.notes + ([] if report.digests else ["No digest files found."]),
    }
