"""Validate a trail in a bucket folder, an S3 bucket or a bucket of trailbridge's own store as `aws cloudtrail
validate-logs` does, plus the checks the AWS CLI skips:

- every digest's signature (by its key's fingerprint), that it sits where it says it was written, that the
  previous digest it names exists with the hash and signature it records, and that every log file it lists
  exists with the hash it records;
- every log file in the bucket that no valid digest lists, though it was delivered inside the time the
  digests cover (a forged, renamed or copied file), is INVALID (see `coverage`);
- given what the trail's server says about its newest digest (GetTrailStatus's `LatestDigestDeliveryTime`),
  a bucket whose newest digest of that trail is older is INVALID: its tail was cut off.

Nothing in the bucket is trusted to be well formed: a file that is not gzip, not JSON, not a JSON object or
misses a field is an INVALID line, never an exception. The report uses the AWS CLI's words.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from trailbridge.storage.ports import Objects
from trailbridge.trail.coverage import DigestName, Window, parse_digest_name, parse_time, uncovered
from trailbridge.trail.digests import string_to_sign


class StoreError(Exception):
    """The bucket could not be read (not a missing object: access denied, an unreachable endpoint)."""


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    digests: list[bool] = field(default_factory=list)
    logs: list[bool] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, kind: str, uri: str, problem: str | None) -> None:
        self.lines.append(f"{kind}\t{uri}\t{'valid' if problem is None else 'INVALID: ' + problem}")
        (self.digests if kind == "Digest file" else self.logs).append(problem is None)

    @property
    def valid(self) -> bool:
        return bool(self.digests) and all(self.digests) and all(self.logs)

    def summary(self) -> list[str]:
        def count(kind: str, results: list[bool]) -> str:
            good = sum(results)
            text = f"{good}/{len(results)} {kind} files valid"
            bad = len(results) - good
            return text + (f", {bad}/{len(results)} {kind} files INVALID" if bad else "")

        return [count("digest", self.digests), count("log", self.logs)]


@dataclass(frozen=True)
class TrailStatus:
    """What the trail's server says: the trail (None: the only trail whose digests are in the bucket) and
    when it last delivered a digest (GetTrailStatus's LatestDigestDeliveryTime)."""

    latest_digest: float
    account: str | None = None
    name: str | None = None
    home_region: str | None = None
    prefix: str | None = None

    def owns(self, digest: DigestName) -> bool:
        return (
            (self.account is None or digest.account == self.account)
            and (self.name is None or digest.trail == self.name)
            and (self.home_region is None or digest.home_region == self.home_region)
            and (self.prefix is None or digest.prefix == self.prefix.strip("/"))
        )


class Store(Protocol):
    """Where a trail's objects are: a bucket folder, an S3 bucket, or a bucket in trailbridge's store."""

    def names(self) -> list[str]: ...

    def raw(self, key: str) -> bytes | None:
        """The object's bytes as stored; None when it is missing (StoreError when it cannot be read)."""

    def signature(self, key: str) -> str | None:
        """The object's x-amz-meta-signature."""


class FolderStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def names(self) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*.json.gz") if p.is_file())

    def raw(self, key: str) -> bytes | None:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {key}: {exc.strerror}") from None

    def signature(self, key: str) -> str | None:
        try:
            value = orjson.loads((self.root / (key + ".s3meta.json")).read_bytes())["x-amz-meta-signature"]
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
            return None
        return value if isinstance(value, str) else None


class S3Store:
    def __init__(self, client: Any, bucket: str) -> None:
        self.client, self.bucket = client, bucket

    def names(self) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def _get(self, key: str) -> Any:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise

    def raw(self, key: str) -> bytes | None:
        answer = self._get(key)
        return bytes(answer["Body"].read()) if answer is not None else None

    def signature(self, key: str) -> str | None:
        answer = self._get(key)
        value = answer.get("Metadata", {}).get("signature") if answer is not None else None
        return value if isinstance(value, str) else None


class ObjectsStore:
    """A bucket of trailbridge's own S3, read through its store (the data directory's or the database's)."""

    def __init__(self, objects: Objects, bucket: str, page: int = 1000) -> None:
        self.objects, self.bucket, self._page = objects, bucket, page

    def names(self) -> list[str]:
        names: list[str] = []
        while found := self.objects.scan(self.bucket, "", names[-1] if names else "", self._page):
            names += [item.key for item in found]
        return names

    def raw(self, key: str) -> bytes | None:
        return self.objects.read(self.bucket, key)

    def signature(self, key: str) -> str | None:
        item = self.objects.head(self.bucket, key)
        value = (item.headers.get("Metadata") or {}).get("signature") if item is not None else None
        return value if isinstance(value, str) else None


def _inflate(data: bytes) -> bytes | None:
    """The uncompressed content, None when it is not a whole gzip stream (truncated, corrupt)."""
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error):  # gzip.BadGzipFile is an OSError
        return None


def _verify(public_der: bytes, signature: str, message: bytes) -> bool:
    try:
        key = serialization.load_der_public_key(public_der)
    except ValueError:
        return False
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(bytes.fromhex(signature), message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass
class _Digest:
    key: str
    name: DigestName | None
    body: bytes | None = None
    content: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None


_TEXT_FIELDS = ("digestStartTime", "digestEndTime", "digestS3Bucket", "digestS3Object", "digestPublicKeyFingerprint")
_PREVIOUS_FIELDS = ("previousDigestS3Object", "previousDigestHashValue", "previousDigestSignature")
_LOG_FIELDS = ("s3Bucket", "s3Object", "hashValue")


def _shape_problem(body: bytes | None) -> tuple[dict[str, Any], str | None]:
    """The digest as a dict, or why it cannot be one."""
    if body is None:
        return {}, "not a readable gzip file"
    try:
        content = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}, "not valid JSON"
    if not isinstance(content, dict):
        return {}, "not a JSON object"
    for name in _TEXT_FIELDS:
        if not isinstance(content.get(name), str):
            return {}, f"{name} is missing or not a string"
    for name in _PREVIOUS_FIELDS:
        if content.get(name) is not None and not isinstance(content[name], str):
            return {}, f"{name} is not a string"
    for name in ("digestStartTime", "digestEndTime"):
        if parse_time(content[name]) is None:
            return {}, f"{name} is not a time"
    logs = content.get("logFiles", [])
    if not isinstance(logs, list) or not all(
        isinstance(log, dict) and all(isinstance(log.get(name), str) for name in _LOG_FIELDS) for log in logs
    ):
        return {}, "logFiles is not a list of log files"
    return content, None


def validate_bucket(
    store: Store, bucket: str, public_keys: Mapping[str, bytes], statuses: Iterable[TrailStatus] = ()
) -> Report:
    """Check every digest in the store (a bucket named `bucket` in the digests), newest first, the log
    files they list, the log files no digest lists, and each trail's newest digest against `statuses`."""
    report = Report()
    names = store.names()
    keys = sorted((k for k in names if "CloudTrail-Digest_" in k), key=lambda k: k.rsplit("/", 1)[-1])
    digests = [_Digest(key, parse_digest_name(key)) for key in keys]
    listed: set[str] = set()
    windows: list[Window] = []
    for digest in reversed(digests):
        raw = store.raw(digest.key)
        digest.body = _inflate(raw) if raw is not None else None
        digest.content, digest.problem = _shape_problem(digest.body)
        if digest.problem is None:
            digest.problem = _digest_problem(store, bucket, digest.key, digest.body or b"", digest.content, public_keys)
        report.add("Digest file", f"s3://{bucket}/{digest.key}", digest.problem)
        if digest.problem is not None:
            continue
        if digest.name is not None:
            windows.append(_window(digest.name, digest.content))
        for log in digest.content.get("logFiles", []):
            listed.add(log["s3Object"])
            report.add("Log file", f"s3://{log['s3Bucket']}/{log['s3Object']}", _log_problem(store, bucket, log))
    late = 0
    for key, inside in uncovered((k for k in names if k not in listed), windows):
        if inside:
            report.add("Log file", f"s3://{bucket}/{key}", "not listed in any valid digest")
        else:
            late += 1
    if late:
        report.notes.append(
            f"{late} log file(s) not covered by any digest: delivered before the first digest's or after the "
            "newest digest's time (not checked)"
        )
    for status in statuses:
        _check_tail(report, bucket, status, [d for d in digests if d.name is not None and status.owns(d.name)])
    return report


def _window(name: DigestName, content: Mapping[str, Any]) -> Window:
    start, end = parse_time(content["digestStartTime"]), parse_time(content["digestEndTime"])
    assert start is not None and end is not None  # checked by _shape_problem
    return Window(name.prefix, name.org, name.account, name.region, start, end)


def _log_problem(store: Store, bucket: str, log: Mapping[str, str]) -> str | None:
    if log["s3Bucket"] != bucket:
        return f"listed in bucket {log['s3Bucket']}, not this one"
    raw = store.raw(log["s3Object"])
    if raw is None:
        return "not found"
    content = _inflate(raw)
    if content is None:
        return "not a readable gzip file"
    if hashlib.sha256(content).hexdigest() != log["hashValue"]:
        return "hash value doesn't match"
    return None


def _check_tail(report: Report, bucket: str, status: TrailStatus, digests: list[_Digest]) -> None:
    """The newest digest the server delivered must be here (valid or not: an invalid one is reported), and
    each region's newest must be less than a digest period older: the trail writes every region's digest
    when it is due, so a region whose next digest was due by then has lost its newest. The period is taken
    as the region's longest window (never shorter than the trail's period)."""
    latest = float(int(status.latest_digest))
    delivered = _iso(latest)
    newest: dict[str, DigestName] = {}
    longest: dict[str, float] = {}
    for digest in digests:
        name = digest.name
        assert name is not None
        if name.region not in newest or name.end > newest[name.region].end:
            newest[name.region] = name
        if digest.problem is None:
            start, end = parse_time(digest.content["digestStartTime"]), parse_time(digest.content["digestEndTime"])
            if start is not None and end is not None:
                longest[name.region] = max(longest.get(name.region, 0.0), end - start)
    last = max(newest.values(), key=lambda n: n.end, default=None)
    if last is None or last.end < latest:
        here = f"the newest here ends {_iso(last.end)}" if last is not None else "none is here"
        problem = f"not found: the server delivered a digest at {delivered}, {here}"
        report.add("Digest file", f"s3://{bucket}/{_folder(last, status)}", problem)
        return
    for region, name in sorted(newest.items()):
        period = longest.get(region)
        if period is not None and period > 0 and name.end + period <= latest:
            report.add(
                "Digest file",
                f"s3://{bucket}/{_folder(name, status)}{region}/",
                f"not found: the server delivered a digest at {delivered}, the newest of {region} here ends "
                f"{_iso(name.end)}, a digest period ({int(period)} s) or more before",
            )


def _folder(name: DigestName | None, status: TrailStatus) -> str:
    """The trail's digest folder (`[PREFIX/]AWSLogs/[ORG/]ACCOUNT/CloudTrail-Digest/`)."""
    if name is not None:
        prefix, org, account = name.prefix, name.org, name.account
    else:
        prefix, org, account = (status.prefix or "").strip("/"), "", status.account or "*"
    return f"{prefix + '/' if prefix else ''}AWSLogs/{org + '/' if org else ''}{account}/CloudTrail-Digest/"


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _digest_problem(
    store: Store, bucket: str, key: str, body: bytes, digest: dict[str, Any], public_keys: Mapping[str, bytes]
) -> str | None:
    if digest["digestS3Bucket"] != bucket or digest["digestS3Object"] != key:
        return "has been moved from its original location"
    signature = store.signature(key)
    if signature is None:
        return "signature verification failed (no signature)"
    public = public_keys.get(digest["digestPublicKeyFingerprint"])
    if public is None:
        return f"public key not found for fingerprint {digest['digestPublicKeyFingerprint']}"
    signed = string_to_sign({**digest, "previousDigestSignature": digest.get("previousDigestSignature")}, body)
    if not _verify(public, signature, signed):
        return "signature verification failed"
    previous = digest.get("previousDigestS3Object")
    if previous is None:
        return None
    previous_raw = store.raw(previous)
    previous_body = _inflate(previous_raw) if previous_raw is not None else None
    if previous_raw is None:
        return f"previous digest {previous} not found"
    if previous_body is None or hashlib.sha256(previous_body).hexdigest() != digest.get("previousDigestHashValue"):
        return "previous digest hash value doesn't match"
    if store.signature(previous) != digest.get("previousDigestSignature"):
        return "previous digest signature doesn't match"
    return None
