"""Validate a trail in a bucket folder or an S3 bucket as `aws cloudtrail validate-logs` does, plus the
chain checks the AWS CLI skips: every digest's signature (by its key's fingerprint), that it sits where it
says it was written, that the previous digest it names exists with the hash and signature it records, and
that every log file it lists exists with the hash it records. The report uses the AWS CLI's words.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from trailbridge.trail.digests import string_to_sign


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    digests: list[bool] = field(default_factory=list)
    logs: list[bool] = field(default_factory=list)

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


class Store(Protocol):
    """Where a trail's objects are: a bucket folder, or an S3 bucket."""

    def names(self) -> list[str]: ...

    def read(self, key: str) -> bytes | None:
        """The object's uncompressed content; None when it is missing or not gzip."""

    def signature(self, key: str) -> str | None:
        """The object's x-amz-meta-signature."""


def _inflate(data: bytes) -> bytes | None:
    try:
        return gzip.decompress(data)
    except (EOFError, gzip.BadGzipFile):
        return None


class FolderStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def names(self) -> list[str]:
        return [str(p.relative_to(self.root)) for p in self.root.rglob("*.json.gz")]

    def read(self, key: str) -> bytes | None:
        try:
            return _inflate((self.root / key).read_bytes())
        except OSError:
            return None

    def signature(self, key: str) -> str | None:
        try:
            return str(orjson.loads((self.root / (key + ".s3meta.json")).read_bytes())["x-amz-meta-signature"])
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
            return None


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
        except ClientError:
            return None

    def read(self, key: str) -> bytes | None:
        answer = self._get(key)
        return _inflate(answer["Body"].read()) if answer is not None else None

    def signature(self, key: str) -> str | None:
        answer = self._get(key)
        return answer.get("Metadata", {}).get("signature") if answer is not None else None


def _verify(public_der: bytes, signature: str, message: bytes) -> bool:
    key = serialization.load_der_public_key(public_der)
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(bytes.fromhex(signature), message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def validate_bucket(store: Store, bucket: str, public_keys: dict[str, bytes]) -> Report:
    """Check every digest in the store (a bucket named `bucket` in the digests), newest first."""
    report = Report()
    digests = sorted((k for k in store.names() if "CloudTrail-Digest_" in k), key=lambda k: k.rsplit("/", 1)[-1])
    for key in reversed(digests):
        body = store.read(key)
        digest: dict[str, Any] = orjson.loads(body) if body is not None else {}
        problem = _digest_problem(store, bucket, key, body, digest, public_keys)
        report.add("Digest file", f"s3://{bucket}/{key}", problem)
        for log in digest.get("logFiles", []) if problem is None else []:
            content = store.read(log["s3Object"])
            log_problem = None
            if content is None:
                log_problem = "not found"
            elif hashlib.sha256(content).hexdigest() != log["hashValue"]:
                log_problem = "hash value doesn't match"
            report.add("Log file", f"s3://{log['s3Bucket']}/{log['s3Object']}", log_problem)
    return report


def _digest_problem(
    store: Store, bucket: str, key: str, body: bytes | None, digest: dict[str, Any], public_keys: dict[str, bytes]
) -> str | None:
    if body is None:
        return "not a readable gzip file"
    if digest.get("digestS3Bucket") != bucket or digest.get("digestS3Object") != key:
        return "has been moved from its original location"
    signature = store.signature(key)
    if signature is None:
        return "signature verification failed (no signature)"
    public = public_keys.get(str(digest.get("digestPublicKeyFingerprint")))
    if public is None:
        return "public key not found for fingerprint " + str(digest.get("digestPublicKeyFingerprint"))
    if not _verify(public, signature, string_to_sign(digest, body)):
        return "signature verification failed"
    previous = digest.get("previousDigestS3Object")
    if previous is None:
        return None
    previous_body = store.read(previous)
    if previous_body is None:
        return f"previous digest {previous} not found"
    if hashlib.sha256(previous_body).hexdigest() != digest.get("previousDigestHashValue"):
        return "previous digest hash value doesn't match"
    if store.signature(previous) != digest.get("previousDigestSignature"):
        return "previous digest signature doesn't match"
    return None
