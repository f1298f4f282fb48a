"""Log file integrity validation: hourly digest files, chained and signed as CloudTrail signs them.

For a trail with `LogFileValidationEnabled`, every `digest_seconds` per region (and once more when the trail
stops logging), a digest lists the log files delivered since the previous digest (their SHA-256 over the
uncompressed content) and names the previous digest, its hash and its signature. It is written, gzipped,
to `[PREFIX/]AWSLogs/ACCOUNT/CloudTrail-Digest/REGION/Y/M/D/ACCOUNT_CloudTrail-Digest_REGION_TRAIL_HOME_
YYYYMMDDTHHMMSSZ.json.gz`, even when no log file was delivered. The signature is SHA256withRSA over

    digestEndTime \\n bucket/key \\n sha256(uncompressed digest) \\n previousDigestSignature (or "null")

kept as the object's `x-amz-meta-signature` (its user metadata `signature`). Signing keys
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
from trailbridge.secrets import SecretBox
from trailbridge.storage.ports import Digest, Keys, Resources, SigningKey, Trails
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
    def __init__(self, keys: Keys, secrets: SecretBox, clock: Clock) -> None:
        self.keys, self.secrets, self.clock = keys, secrets, clock

    def current(self, region: str) -> tuple[str, rsa.RSAPrivateKey]:
        """The region's signing key, a new one when the last has expired (of nodes making one at once, the one
        stored first)."""
        now = self.clock.now()
        key = self.keys.current(region)
        if key is None or key.valid_to <= now:
            key = self.keys.add_if_absent(self._new(region, now), now)
        pem = self.secrets.open(key.sealed)["pem"].encode()
        private = serialization.load_pem_private_key(pem, password=None)
        assert isinstance(private, rsa.RSAPrivateKey)
        return key.fingerprint, private

    def _new(self, region: str, now: float) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
        fingerprint = hashlib.md5(der, usedforsecurity=False).hexdigest()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return SigningKey(fingerprint, region, self.secrets.seal({"pem": pem}), der, now, now + KEY_LIFETIME)

    def public_keys(self, region: str, start: float, end: float) -> list[tuple[str, bytes, float, float]]:
        """(fingerprint, DER, valid from, valid to) of the keys valid at some time in [start, end]."""
        return [(k.fingerprint, k.public_der, k.valid_from, k.valid_to) for k in self.keys.between(region, start, end)]


class DigestWriter:
    def __init__(
        self, trails: Trails, resources: Resources, buckets: Buckets, keys: SigningKeys, clock: Clock, period: float
    ) -> None:
        self.trails, self.resources, self.buckets, self.keys, self.clock = trails, resources, buckets, keys, clock
        self.period = period
        self.failures = Failures()

    def latest(self, trail: dict[str, Any]) -> float | None:
        """When the trail last wrote a digest, in any of its regions (GetTrailStatus's LatestDigestDeliveryTime):
        the end of its newest digest's window."""
        arn = trail["TrailARN"]
        ends = [last.end for region in self._regions(trail) if (last := self.trails.last_digest(arn, region))]
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
        return self.trails.regions(trail["TrailARN"]) | {trail["HomeRegion"]}

    def _write_if_due(self, trail: dict[str, Any], region: str) -> int:
        """Write the (trail, region)'s digest if it is due, holding its claim: the digest before it is read
        inside the claim, so that a chain another node extended (or left, failing) goes on from its stored end.
        A (trail, region) another holds is passed over."""
        with self.trails.claim(trail["TrailARN"], region) as held:
            if not held:
                return 0
            last = self.trails.last_digest(trail["TrailARN"], region)
            start = last.end if last else float(trail["StartLoggingTime"])
            now = self.clock.now()
            if trail.get("IsLogging"):
                due = now - start >= self.period
            else:  # the final digest, once, after StopLogging
                due = start < float(trail.get("StopLoggingTime") or 0.0)
            if not due:
                return 0
            self._write(trail, region, start, now, last)
            return 1

    def _write(self, trail: dict[str, Any], region: str, start: float, end: float, last: Digest | None) -> None:
        account = trail["TrailARN"].split(":")[4]
        bucket, key = trail["S3BucketName"], digest_key(trail, account, region, end)
        fingerprint, private_key = self.keys.current(region)
        files = self.trails.files_between(trail["TrailARN"], region, start, end)
        digest: dict[str, Any] = {
            "awsAccountId": account,
            "digestStartTime": iso8601(start),
            "digestEndTime": iso8601(end),
            "digestS3Bucket": bucket,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": fingerprint,
            "digestSignatureAlgorithm": ALGORITHM,
            "newestEventTime": iso8601(max(f.newest for f in files)) if files else None,
            "oldestEventTime": iso8601(min(f.oldest for f in files)) if files else None,
            "previousDigestS3Bucket": last.bucket if last else None,
            "previousDigestS3Object": last.key if last else None,
            "previousDigestHashValue": last.sha256 if last else None,
            "previousDigestHashAlgorithm": "SHA-256" if last else None,
            "previousDigestSignature": last.signature if last else None,
            "logFiles": [
                {
                    "s3Bucket": f.bucket,
                    "s3Object": f.key,
                    "hashValue": f.sha256,
                    "hashAlgorithm": "SHA-256",
                    "newestEventTime": iso8601(f.newest),
                    "oldestEventTime": iso8601(f.oldest),
                }
                for f in files
            ],
        }
        body = orjson.dumps(digest)
        signature = private_key.sign(string_to_sign(digest, body), padding.PKCS1v15(), hashes.SHA256()).hex()
        metadata = {"x-amz-meta-signature": signature, "x-amz-meta-signature-algorithm": ALGORITHM}
        self.buckets.put(bucket, key, gzip.compress(body), metadata)
        written = Digest(bucket, key, end, hashlib.sha256(body).hexdigest(), signature)
        self.trails.add_digest(trail["TrailARN"], region, written)
