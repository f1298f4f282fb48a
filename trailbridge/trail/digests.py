"""Log file integrity validation: hourly digest files, chained and signed as CloudTrail signs them.

For a trail with `LogFileValidationEnabled`, every `digest_seconds` per region (and once more when the trail
stops logging), a digest lists the log files delivered since the previous digest (their SHA-256 over the
uncompressed content) and names the previous digest, its hash and its signature. It is written, gzipped,
to `[PREFIX/]AWSLogs/ACCOUNT/CloudTrail-Digest/REGION/Y/M/D/ACCOUNT_CloudTrail-Digest_REGION_TRAIL_HOME_
YYYYMMDDTHHMMSSZ.json.gz`, even when no log file was delivered. The signature is SHA256withRSA over

    digestEndTime \\n bucket/key \\n sha256(uncompressed digest) \\n previousDigestSignature (or "null")

kept as the object's `x-amz-meta-signature` (in a folder bucket: the sidecar `KEY.s3meta.json`). Signing keys
are RSA-2048, one per region, rotated every `KEY_LIFETIME`; the private keys are sealed with the data
directory's secret key. `public_keys` answers ListPublicKeys (DER PKCS#1, MD5 fingerprint).
"""

from __future__ import annotations

import gzip
import hashlib
import time
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from trailbridge.clock import Clock, iso8601
from trailbridge.delivery.secrets import SecretBox
from trailbridge.storage.ports import Resources
from trailbridge.storage.sqlite import SqliteStore
from trailbridge.trail.buckets import Buckets, Failures

KEY_LIFETIME = 30 * 86_400.0
ALGORITHM = "SHA256withRSA"


def string_to_sign(digest: dict[str, Any], uncompressed: bytes) -> bytes:
    previous = digest["previousDigestSignature"] or "null"
    text = f"{digest['digestEndTime']}\n{digest['digestS3Bucket']}/{digest['digestS3Object']}\n"
    return (text + f"{hashlib.sha256(uncompressed).hexdigest()}\n{previous}").encode()


def digest_key(trail: dict[str, Any], account: str, region: str, end: float) -> str:
    stamp = time.gmtime(end)
    name = f"{account}_CloudTrail-Digest_{region}_{trail['Name']}_{trail['HomeRegion']}_"
    path = f"AWSLogs/{account}/CloudTrail-Digest/{region}/{time.strftime('%Y/%m/%d', stamp)}/{name}"
    path += time.strftime("%Y%m%dT%H%M%SZ", stamp) + ".json.gz"
    prefix = trail.get("S3KeyPrefix")
    return f"{prefix.strip('/')}/{path}" if prefix else path


def _validating(trail: dict[str, Any]) -> bool:
    """Whether the trail writes digests: log file validation is on, and it has logged."""
    return bool(trail.get("LogFileValidationEnabled")) and trail.get("StartLoggingTime") is not None


class SigningKeys:
    def __init__(self, store: SqliteStore, secrets: SecretBox, clock: Clock) -> None:
        self.store, self.secrets, self.clock = store, secrets, clock

    def current(self, region: str) -> tuple[str, rsa.RSAPrivateKey]:
        """The region's signing key, a new one when the last has expired."""
        row = self.store.one("trail_key_current", (region,))
        if row is not None and row[2] > self.clock.now():
            pem = self.secrets.open(row[1])["pem"].encode()
            key = serialization.load_pem_private_key(pem, password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            return str(row[0]), key
        return self._rotate(region)

    def _rotate(self, region: str) -> tuple[str, rsa.RSAPrivateKey]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
        fingerprint = hashlib.md5(der, usedforsecurity=False).hexdigest()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        now = self.clock.now()
        self.store.run(
            "trail_key_add", (fingerprint, region, self.secrets.seal({"pem": pem}), der, now, now + KEY_LIFETIME)
        )
        return fingerprint, key

    def public_keys(self, region: str, start: float, end: float) -> list[tuple[str, bytes, float, float]]:
        """(fingerprint, DER, valid from, valid to) of the keys valid at some time in [start, end]."""
        return [
            (str(r[0]), bytes(r[1]), float(r[2]), float(r[3]))
            for r in self.store.all("trail_keys_between", (region, start, end))
        ]


class DigestWriter:
    def __init__(
        self, store: SqliteStore, resources: Resources, buckets: Buckets, keys: SigningKeys, clock: Clock, period: float
    ) -> None:
        self.store, self.resources, self.buckets, self.keys, self.clock = store, resources, buckets, keys, clock
        self.period = period
        self.failures = Failures()

    def latest(self, trail: dict[str, Any]) -> float | None:
        """When the trail last wrote a digest, in any of its regions (GetTrailStatus's LatestDigestDeliveryTime):
        the end of its newest digest's window."""
        arn = trail["TrailARN"]
        regions = {str(row[0]) for row in self.store.all("trail_log_regions", (arn,))} | {trail["HomeRegion"]}
        ends = [float(row[2]) for region in regions if (row := self.store.one("trail_digest_last", (arn, region)))]
        return max(ends, default=None)

    def write_due(self) -> int:
        """Write every digest that is due; how many were written. A digest that cannot be written (its bucket
        gone, a key that would leave it) is tried again next time, and logged once (`failures`); the other
        trails' and regions' digests are written all the same."""
        written = 0
        for trail in self.resources.all_of_kind("trail"):
            arn = str(trail.get("TrailARN"))
            try:
                regions = sorted(self._regions(trail)) if _validating(trail) else []
            except Exception as exc:  # any failure of one trail must not stop the others
                self.failures.failed(arn, "digests", exc)
                continue
            for region in regions:
                work = f"digests in {region}"
                try:
                    written += self._write_if_due(trail, region)
                except Exception as exc:
                    self.failures.failed(arn, work, exc)
                else:
                    self.failures.worked(arn, work)
        return written

    def write_for(self, trail: dict[str, Any]) -> int:
        """Write the trail's due digests (a stopped trail's final one); how many were written."""
        if not _validating(trail):
            return 0
        return sum(self._write_if_due(trail, region) for region in sorted(self._regions(trail)))

    def _regions(self, trail: dict[str, Any]) -> set[str]:
        regions = {str(row[0]) for row in self.store.all("trail_log_regions", (trail["TrailARN"],))}
        return regions | {trail["HomeRegion"]}

    def _write_if_due(self, trail: dict[str, Any], region: str) -> int:
        last = self.store.one("trail_digest_last", (trail["TrailARN"], region))
        start = float(last[2]) if last else float(trail["StartLoggingTime"])
        now = self.clock.now()
        if trail.get("IsLogging"):
            due = now - start >= self.period
        else:  # the final digest, once, after StopLogging
            due = start < float(trail.get("StopLoggingTime") or 0.0)
        if not due:
            return 0
        self._write(trail, region, start, now, last)
        return 1

    def _write(self, trail: dict[str, Any], region: str, start: float, end: float, last: Any) -> None:
        account = trail["TrailARN"].split(":")[4]
        bucket, key = trail["S3BucketName"], digest_key(trail, account, region, end)
        fingerprint, private_key = self.keys.current(region)
        files = self.store.all("trail_log_files_between", (trail["TrailARN"], region, start, end))
        digest: dict[str, Any] = {
            "awsAccountId": account,
            "digestStartTime": iso8601(start),
            "digestEndTime": iso8601(end),
            "digestS3Bucket": bucket,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": fingerprint,
            "digestSignatureAlgorithm": ALGORITHM,
            "newestEventTime": iso8601(max(f[4] for f in files)) if files else None,
            "oldestEventTime": iso8601(min(f[3] for f in files)) if files else None,
            "previousDigestS3Bucket": last[0] if last else None,
            "previousDigestS3Object": last[1] if last else None,
            "previousDigestHashValue": last[3] if last else None,
            "previousDigestHashAlgorithm": "SHA-256" if last else None,
            "previousDigestSignature": last[4] if last else None,
            "logFiles": [
                {
                    "s3Bucket": f[0],
                    "s3Object": f[1],
                    "hashValue": f[2],
                    "hashAlgorithm": "SHA-256",
                    "newestEventTime": iso8601(f[4]),
                    "oldestEventTime": iso8601(f[3]),
                }
                for f in files
            ],
        }
        body = orjson.dumps(digest)
        signature = private_key.sign(string_to_sign(digest, body), padding.PKCS1v15(), hashes.SHA256()).hex()
        metadata = {"x-amz-meta-signature": signature, "x-amz-meta-signature-algorithm": ALGORITHM}
        self.buckets.put(bucket, key, gzip.compress(body), metadata)
        row = (trail["TrailARN"], region, bucket, key, end, hashlib.sha256(body).hexdigest(), signature)
        self.store.run("trail_digest_add", row)
