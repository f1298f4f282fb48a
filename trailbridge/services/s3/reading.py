"""How S3 reads an object: byte ranges (`Range: bytes=...`) and the conditional headers (If-Match,
If-None-Match, If-Modified-Since, If-Unmodified-Since), as RFC 9110 has them and S3 answers them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from trailbridge.services.base import ServiceError
from trailbridge.services.s3.common import epoch, s3_error, unquoted
from trailbridge.storage.ports import StoredObject

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def byte_range(text: str | None, size: int) -> tuple[int, int] | None:
    """The bytes `[start, end)` a Range header asks for, or None for the whole object. S3 ignores a header it
    cannot read (another unit, several ranges, first > last) and answers the whole object; a range it reads
    that starts beyond the object, or a suffix of no bytes, is InvalidRange (416)."""
    found = _RANGE.fullmatch(text.strip()) if text else None
    if found is None or found.group(1) == found.group(2) == "":
        return None
    first, last = found.group(1), found.group(2)
    if first == "":  # bytes=-n: the last n bytes
        start, end = max(size - int(last), 0), size
        if int(last) == 0 or size == 0:
            raise _unsatisfiable(str(text), size)
        return start, end
    if last and int(last) < int(first):
        return None
    if int(first) >= size:
        raise _unsatisfiable(str(text), size)
    return int(first), min(int(last) + 1, size) if last else size


def _unsatisfiable(text: str, size: int) -> ServiceError:
    return s3_error(
        "InvalidRange", "The requested range is not satisfiable", 416, RangeRequested=text, ActualObjectSize=size
    )


def part_range(number: int, sizes: list[int] | None, size: int) -> tuple[int, int]:
    """The bytes `[start, end)` of part `number` of an object (`sizes`: its parts' sizes, kept when its
    multipart upload completed; an object written whole is its only part)."""
    sizes = sizes or [size]
    if not 1 <= number <= len(sizes):
        raise s3_error(
            "InvalidPartNumber",
            "The requested partnumber is not satisfiable",
            416,
            PartNumberRequested=number,
            ActualPartCount=len(sizes),
        )
    start = sum(sizes[: number - 1])
    return start, start + sizes[number - 1]


def content_range(start: int, end: int, size: int) -> str:
    return f"bytes {start}-{end - 1}/{size}"


def _etag_matches(header: str, etag: str) -> bool:
    return any(candidate.strip() == "*" or unquoted(candidate) == etag for candidate in header.split(","))


def check_conditions(item: StoredObject, params: Mapping[str, Any], prefix: str = "") -> None:
    """Apply the conditional headers of a read (or, with `prefix` "CopySource", of a copy's source).

    If-Match decides over If-Unmodified-Since, and If-None-Match over If-Modified-Since: a failing
    If-Match or If-Unmodified-Since is 412 PreconditionFailed; a matching If-None-Match or an object not
    modified since If-Modified-Since is 304 NotModified for a read, 412 for a copy source. Times compare to
    the second, as HTTP dates carry them."""
    get = {
        name: params.get(f"{prefix}{name}")
        for name in ("IfMatch", "IfNoneMatch", "IfModifiedSince", "IfUnmodifiedSince")
    }
    modified = int(item.modified)
    if get["IfMatch"] is not None:
        if not _etag_matches(get["IfMatch"], item.etag):
            raise _failed(prefix, "If-Match")
    elif get["IfUnmodifiedSince"] is not None and modified > epoch(get["IfUnmodifiedSince"]):
        raise _failed(prefix, "If-Unmodified-Since")
    if get["IfNoneMatch"] is not None:
        if _etag_matches(get["IfNoneMatch"], item.etag):
            raise _not_modified(prefix, "If-None-Match")
    elif get["IfModifiedSince"] is not None and modified <= epoch(get["IfModifiedSince"]):
        raise _not_modified(prefix, "If-Modified-Since")


def _failed(prefix: str, condition: str) -> ServiceError:
    name = f"x-amz-copy-source-{condition.lower()}" if prefix else condition
    return s3_error(
        "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", 412, Condition=name
    )


def _not_modified(prefix: str, condition: str) -> ServiceError:
    if prefix:
        return _failed(prefix, condition)
    return s3_error("NotModified", "Not Modified", 304)
