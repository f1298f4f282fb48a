"""Validate a trail in a bucket folder as `aws cloudtrail validate-logs` does, plus the chain checks the AWS
CLI skips: every digest's signature (by its key's fingerprint), that it sits where it says it was written,
that the previous digest it names exists with the hash and signature it records, and that every log file it
lists exists with the hash it records. The report uses the AWS CLI's words.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def _read(path: Path) -> bytes | None:
    try:
        return gzip.decompress(path.read_bytes())
    except (OSError, EOFError, gzip.BadGzipFile):
        return None


def _signature(path: Path) -> str | None:
    sidecar = path.with_name(path.name + ".s3meta.json")
    try:
        return str(orjson.loads(sidecar.read_bytes())["x-amz-meta-signature"])
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        return None


def _verify(public_der: bytes, signature: str, message: bytes) -> bool:
    key = serialization.load_der_public_key(public_der)
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(bytes.fromhex(signature), message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def validate_bucket(root: Path, bucket: str, public_keys: dict[str, bytes]) -> Report:
    """Check every digest in the bucket folder `root` (named `bucket` in the digests), newest first."""
    report = Report()
    paths = sorted(root.rglob("*CloudTrail-Digest_*.json.gz"), key=lambda p: p.name, reverse=True)
    for path in paths:
        key = str(path.relative_to(root))
        body = _read(path)
        digest: dict[str, Any] = orjson.loads(body) if body is not None else {}
        problem = _digest_problem(root, bucket, key, body, digest, public_keys)
        report.add("Digest file", f"s3://{bucket}/{key}", problem)
        for log in digest.get("logFiles", []) if problem is None else []:
            content = _read(root / log["s3Object"])
            log_problem = None
            if content is None:
                log_problem = "not found"
            elif hashlib.sha256(content).hexdigest() != log["hashValue"]:
                log_problem = "hash value doesn't match"
            report.add("Log file", f"s3://{log['s3Bucket']}/{log['s3Object']}", log_problem)
    return report


def _digest_problem(
    root: Path, bucket: str, key: str, body: bytes | None, digest: dict[str, Any], public_keys: dict[str, bytes]
) -> str | None:
    if body is None:
        return "not a readable gzip file"
    if digest.get("digestS3Bucket") != bucket or digest.get("digestS3Object") != key:
        return "has been moved from its original location"
    signature = _signature(root / key)
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
    previous_body = _read(root / previous)
    if previous_body is None:
        return f"previous digest {previous} not found"
    if hashlib.sha256(previous_body).hexdigest() != digest.get("previousDigestHashValue"):
        return "previous digest hash value doesn't match"
    if _signature(root / previous) != digest.get("previousDigestSignature"):
        return "previous digest signature doesn't match"
    return None
