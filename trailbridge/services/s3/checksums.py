"""S3's additional checksums (`x-amz-checksum-*`): a writer gives one (boto3 sends CRC32 with every upload,
in a header over http and in the aws-chunked trailer over https; the protocol makes either a member), or
names an algorithm for S3 to compute. S3 verifies it against the bytes received, keeps it with the object
and returns it to readers that ask (`ChecksumMode=ENABLED`) for the whole object.

CRC32, SHA-1, SHA-256, SHA-512 and MD5 are verified; the algorithms the standard library cannot compute
(CRC32C, CRC64NVME, the XXHASH family) are refused with NotImplemented rather than stored unverified.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable, Mapping
from typing import Any

from trailbridge.services.s3.common import s3_error


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
