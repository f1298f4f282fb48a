"""S3's listings: ListObjects and ListObjectsV2, and the rolled-up walk they share with ListMultipartUploads.

A listing walks keys in order after a marker. With a Delimiter, the keys that hold it after the Prefix are
rolled up into one CommonPrefix (the key up to and including the first delimiter), which counts as one
entry against MaxKeys; the walk then skips every other key of that prefix. A marker inside a prefix
already listed skips the rest of it too, so a listing continues where the previous page ended.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote_plus

from trailbridge.services.base import timestamp
from trailbridge.services.s3.common import S3Service, owner, quoted, s3_error, s3_operation

T = TypeVar("T")
C = TypeVar("C")
DEFAULT_MAX = 1000
_PAST = "\U0010ffff"  # after every key that starts with a given prefix (in UTF-8 byte order)


@dataclass
class Listed(Generic[T]):
    """One page of a rolled-up listing: its items and common prefixes, in order, and where it ended."""

    items: list[T] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    last: str = ""  # the last key or common prefix of the page


def past(prefix: str) -> str:
    """A marker after every key that starts with `prefix`."""
    return prefix + _PAST


def rolled_prefix(key: str, prefix: str, delimiter: str | None) -> str | None:
    """The CommonPrefix `key` rolls up into, or None when it is listed itself."""
    if not delimiter:
        return None
    at = key.find(delimiter, len(prefix))
    return key[: at + len(delimiter)] if at >= 0 else None


def roll_up(
    fetch: Callable[[C, int], list[T]],
    key_of: Callable[[T], str],
    cursor_of: Callable[[T], C],
    skip: Callable[[str], C],
    start: C,
    prefix: str,
    delimiter: str | None,
    limit: int,
) -> Listed[T]:
    """Up to `limit` entries (items and common prefixes) after `start`. `fetch(cursor, n)` gives up to n items
    after a cursor in order; `skip(prefix)` is the cursor after every item of a common prefix."""
    page: Listed[T] = Listed()
    cursor, count = start, 0
    while True:
        wanted = limit + 1 - count  # one entry more than the page: whether it is truncated
        batch = fetch(cursor, wanted)
        for item in batch:
            key = key_of(item)
            common = rolled_prefix(key, prefix, delimiter)
            if common is not None and page.prefixes and page.prefixes[-1] == common:
                continue  # rolled up already
            count += 1
            if count > limit:
                page.truncated = True
                return page
            if common is None:
                page.items.append(item)
            else:
                page.prefixes.append(common)
            page.last = common or key
        if len(batch) < wanted:
            return page  # the store has no more
        last_common = rolled_prefix(key_of(batch[-1]), prefix, delimiter)
        cursor = skip(last_common) if last_common is not None else cursor_of(batch[-1])


def start_after(marker: str, prefix: str, delimiter: str | None) -> str:
    """Where a listing after `marker` starts: past the whole CommonPrefix the marker falls in, if any (that
    prefix is listed at or before the marker)."""
    common = rolled_prefix(marker, prefix, delimiter) if marker.startswith(prefix) else None
    return max(marker, past(common)) if common is not None else marker


def encoder(params: Mapping[str, Any]) -> Callable[[str], str]:
    """How the listing writes keys: as they are, or URL-encoded (EncodingType=url, which boto3 always asks
    for and decodes with unquote_plus)."""
    if params.get("EncodingType") == "url":
        return lambda text: quote_plus(text, safe="/")
    return lambda text: text


def check_max(value: int | None, name: str = "maxKeys") -> int:
    if value is None:
        return DEFAULT_MAX
    if value < 0:
        raise s3_error(
            "InvalidArgument",
            f"Argument {name} must be an integer between 0 and 2147483647",
            ArgumentName=name,
            ArgumentValue=value,
        )
    return min(value, DEFAULT_MAX)


class ListingService(S3Service):
    def _walk(self, bucket: str, prefix: str, delimiter: str | None, marker: str, limit: int) -> Listed[Any]:
        return roll_up(
            lambda after, n: self.objects.scan(bucket, prefix, after, n),
            lambda item: item.key,
            lambda item: item.key,
            past,
            start_after(marker, prefix, delimiter),
            prefix,
            delimiter,
            limit,
        )

    def _contents(self, page: Listed[Any], encode: Callable[[str], str], account: str | None) -> list[dict[str, Any]]:
        return [
            {
                "Key": encode(item.key),
                "LastModified": timestamp(item.modified),
                "ETag": quoted(item.etag),
                "Size": item.size,
                "StorageClass": item.headers.get("StorageClass", "STANDARD"),
            }
            | ({"Owner": owner(account)} if account else {})
            for item in page.items
        ]

    @s3_operation("ListObjects")
    def list_objects(self, **params: Any) -> dict[str, Any]:
        """ListObjects (v1): keys after Marker; NextMarker only with a Delimiter (without one, the last key is
        the next marker); Owner always."""
        bucket = self.bucket(params["Bucket"], "s3:ListBucket")
        prefix, delimiter, marker = params.get("Prefix") or "", params.get("Delimiter"), params.get("Marker") or ""
        limit, encode = check_max(params.get("MaxKeys")), encoder(params)
        page = self._walk(bucket.name, prefix, delimiter, marker, limit)
        answer: dict[str, Any] = {
            "IsTruncated": page.truncated,
            "Marker": encode(marker),
            "Name": bucket.name,
            "Prefix": prefix,
            "MaxKeys": limit,
            "Contents": self._contents(page, encode, bucket.account),
        }
        return (
            answer
            | _rest(page, params, encode)
            | ({"NextMarker": encode(page.last)} if page.truncated and delimiter else {})
        )

    @s3_operation("ListObjectsV2")
    def list_objects_v2(self, **params: Any) -> dict[str, Any]:
        """ListObjectsV2: keys after the opaque ContinuationToken, else after StartAfter; KeyCount counts keys
        and common prefixes; Owner only with FetchOwner."""
        bucket = self.bucket(params["Bucket"], "s3:ListBucket")
        prefix, delimiter = params.get("Prefix") or "", params.get("Delimiter")
        limit, encode, token = check_max(params.get("MaxKeys")), encoder(params), params.get("ContinuationToken")
        marker = _decoded(token) if token is not None else params.get("StartAfter") or ""
        page = self._walk(bucket.name, prefix, delimiter, marker, limit)
        answer: dict[str, Any] = {
            "IsTruncated": page.truncated,
            "Name": bucket.name,
            "Prefix": encode(prefix),
            "MaxKeys": limit,
            "KeyCount": len(page.items) + len(page.prefixes),
            "Contents": self._contents(page, encode, bucket.account if params.get("FetchOwner") else None),
        }
        answer |= {"ContinuationToken": token} if token is not None else {}
        answer |= {"StartAfter": encode(params["StartAfter"])} if params.get("StartAfter") else {}
        answer |= {"NextContinuationToken": _token(page.last)} if page.truncated else {}
        return answer | _rest(page, params, encode)


def _rest(page: Listed[Any], params: Mapping[str, Any], encode: Callable[[str], str]) -> dict[str, Any]:
    """What both versions answer alike: the common prefixes, the delimiter and the encoding type."""
    answer: dict[str, Any] = {}
    if page.prefixes:
        answer["CommonPrefixes"] = [{"Prefix": encode(p)} for p in page.prefixes]
    if params.get("Delimiter"):
        answer["Delimiter"] = encode(params["Delimiter"])
    if params.get("EncodingType"):
        answer["EncodingType"] = params["EncodingType"]
    return answer


def _token(last: str) -> str:
    return base64.urlsafe_b64encode(b"1" + last.encode()).decode()


def _decoded(token: str) -> str:
    try:
        raw = base64.b64decode(token.encode(), altchars=b"-_", validate=True)
        if raw[:1] != b"1":
            raise ValueError(token)
        return raw[1:].decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise s3_error(
            "InvalidArgument", "The continuation token provided is incorrect", ArgumentName="continuation-token"
        ) from None
