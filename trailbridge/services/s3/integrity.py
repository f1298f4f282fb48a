"""What S3 verifies of the bytes it receives: the size limit, Content-MD5 (the object's MD5 is its ETag),
and the additional checksums (`x-amz-checksum-*`).

A writer gives one additional checksum (boto3 sends CRC32 with every upload, in a header over http and in
the aws-chunked trailer over https; the protocol makes either a member), or names an algorithm for S3 to
compute. S3 verifies it against the bytes received, keeps it with the object
and returns it to readers that ask (`ChecksumMode=ENABLED`) for the whole object.

CRC32, SHA-1, SHA-256, SHA-512 and MD5 are verified; the algorithms the standard library cannot compute
(CRC32C, CRC64NVME, the XXHASH family) are refused with NotImplemented rather than stored unverified.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Callable, Mapping
from typing import Any

from trailbridge.services.base import ServiceError
from trailbridge.services.s3.common import s3_error

MAX_OBJECT_SIZE = 5 * 1024**3  # one PutObject, one part, one copy source: 5 GiB


def check_md5(data: bytes, content_md5: str | None) -> str:
    """The data's MD5 in hex, once `content_md5` (base64 of the binary MD5, when given) agrees with it."""
    digest = hashlib.md5(data, usedforsecurity=False)
    if content_md5 is None:
        return digest.hexdigest()
    try:
        given = base64.b64decode(content_md5, validate=True)
    except (binascii.Error, ValueError):
        given = b""
    if len(given) != 16:
        raise ServiceError(
            "InvalidDigest", "The Content-MD5 you specified was invalid.", 400, {"Content-MD5": content_md5}
        )
    if given != digest.digest():
        raise s3_error(
            "BadDigest",
            "The Content-MD5 you specified did not match what we received.",
            ExpectedDigest=content_md5,
            CalculatedDigest=base64.b64encode(digest.digest()).decode(),
        )
    return digest.hexdigest()


def check_size(size: int, limit: int = MAX_OBJECT_SIZE) -> None:
    if size > limit:
        raise s3_error(
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
            ProposedSize=size,
            MaxSizeAllowed=limit,
        )


def _hashed(name: str) -> Callable[[bytes], bytes]:
    return lambda data: hashlib.new(name, data, usedforsecurity=False).digest()


# member -> (the algorithm's name, how to compute it)
_VERIFIED: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "ChecksumCRC32": ("CRC32", lambda data: zlib.crc32(data).to_bytes(4, "big")),
    "ChecksumSHA1": ("SHA1", _hashed("sha1")),
    "ChecksumSHA256": ("SHA256", _hashed("sha256")),
    "ChecksumSHA512": ("SHA512", _hashed("sha512")),
    "ChecksumMD5": ("MD5", _hashed("md5")),
}
_UNVERIFIED = ("ChecksumCRC32C", "ChecksumCRC64NVME", "ChecksumXXHASH64", "ChecksumXXHASH3", "ChecksumXXHASH128")
MEMBERS = (*_VERIFIED, *_UNVERIFIED)


def checksums(data: bytes, params: Mapping[str, Any]) -> dict[str, str]:
    """The checksum a write keeps (its member and base64 value; empty when it asks for none), once verified:
    the one given, or the one its ChecksumAlgorithm names, computed here."""
    given = {name: str(params[name]) for name in MEMBERS if params.get(name)}
    if len(given) > 1:
        raise s3_error(
            "InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
        )
    algorithm = params.get("ChecksumAlgorithm")
    if not given and algorithm:
        given = {f"Checksum{algorithm}": ""}
    for name, value in given.items():
        if name not in _VERIFIED:
            header = f"x-amz-checksum-{name.removeprefix('Checksum').lower()}"
            raise s3_error("NotImplemented", f"trailbridge does not compute {header}", 501, Header=header)
        label, compute = _VERIFIED[name]
        computed = base64.b64encode(compute(data)).decode()
        if value and value != computed:
            raise s3_error("BadDigest", f"The {label} you specified did not match the calculated checksum.")
        given[name] = computed
    return given


def returned(headers: Mapping[str, Any], params: Mapping[str, Any], partial: bool) -> dict[str, Any]:
    """The stored checksum as a read answers it: only when asked for, and only for the whole object."""
    if params.get("ChecksumMode") != "ENABLED" or partial:
        return {}
    found = {name: headers[name] for name in MEMBERS if name in headers}
    return found | ({"ChecksumType": "FULL_OBJECT"} if found else {})
