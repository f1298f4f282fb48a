"""S3's multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy, ListParts,
CompleteMultipartUpload, AbortMultipartUpload, ListMultipartUploads.

An upload takes parts numbered 1 to 10,000, each with the MD5 of its bytes as ETag. Completing it names the
parts to keep, in ascending order, with their ETags; every part but the last must hold at least 5 MiB. The
object's ETag is the MD5 of the parts' binary MD5s put end to end, then `-` and the number of parts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from typing import Any
from urllib.parse import quote

from trailbridge.services.base import timestamp
from trailbridge.services.s3.common import (
    S3Service,
    owner,
    quoted,
    s3_error,
    s3_operation,
    unquoted,
)
from trailbridge.services.s3.integrity import check_md5, check_size, checksums
from trailbridge.services.s3.listing import check_max, encoder, past, roll_up, start_after
from trailbridge.services.s3.objects import PART_SIZES, check_key, copy_source, object_headers
from trailbridge.storage.ports import Bucket, Part, StoredObject, Upload

MIN_PART_SIZE = 5 * 1024**2
MAX_PARTS = 10_000
MAX_MULTIPART_OBJECT = 5 * 1024**4
_COPY_RANGE = re.compile(r"bytes=(\d+)-(\d+)")
_ENCRYPTION = ("ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled")
_MALFORMED = "The XML you provided was not well-formed or did not validate against our published schema"
_INVALID_PART = (
    "One or more of the specified parts could not be found.  The part may not have been uploaded, or the "
    "specified entity tag may not match the part's entity tag."
)


def multipart_etag(part_etags: Sequence[str]) -> str:
    """A completed upload's ETag (without quotes) from its parts' MD5s in hex."""
    joined = b"".join(bytes.fromhex(etag) for etag in part_etags)
    return f"{hashlib.md5(joined, usedforsecurity=False).hexdigest()}-{len(part_etags)}"


def _encryption_of(headers: Mapping[str, Any]) -> dict[str, Any]:
    return {name: headers[name] for name in _ENCRYPTION if name in headers}


class MultipartService(S3Service):
    def _upload(self, params: Mapping[str, Any], action: str) -> tuple[Bucket, Upload]:
        """The upload a request names, once the caller may do `action` on its key; NoSuchUpload when there is
        none of that id for that bucket and key."""
        bucket = self.bucket(params["Bucket"], action, params["Key"])
        upload = self.objects.upload(params["UploadId"])
        if upload is None or (upload.bucket, upload.key) != (bucket.name, params["Key"]):
            raise s3_error(
                "NoSuchUpload",
                "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
                "aborted or completed.",
                404,
                UploadId=params["UploadId"],
            )
        return bucket, upload

    @s3_operation("CreateMultipartUpload")
    def create_multipart_upload(self, **params: Any) -> dict[str, Any]:
        name, key = params["Bucket"], params["Key"]
        bucket = self.bucket(name, "s3:PutObject", key)
        check_key(key)
        headers = object_headers(bucket, params)
        upload = Upload(self.engine.new_id(), name, key, self.engine.clock.now(), headers)
        self.objects.start_upload(upload)
        return {"Bucket": name, "Key": key, "UploadId": upload.upload_id} | _encryption_of(headers)

    @s3_operation("UploadPart")
    def upload_part(self, **params: Any) -> dict[str, Any]:
        _, upload = self._upload(params, "s3:PutObject")
        number = _part_number(params["PartNumber"])
        body = params.get("Body") or b""
        data = body.encode() if isinstance(body, str) else bytes(body)
        check_size(max(len(data), params.get("ContentLength") or 0))
        etag = check_md5(data, params.get("ContentMD5"))
        sums = checksums(data, params)
        self.objects.put_part(upload.upload_id, Part(number, len(data), etag, self.engine.clock.now()), data)
        return {"ETag": quoted(etag)} | _encryption_of(upload.headers) | sums

    @s3_operation("UploadPartCopy")
    def upload_part_copy(self, **params: Any) -> dict[str, Any]:
        """A part copied from an object (s3:GetObject on it), whole or the CopySourceRange `bytes=first-last`."""
        _, upload = self._upload(params, "s3:PutObject")
        number = _part_number(params["PartNumber"])
        source_name, source_key, version = copy_source(params["CopySource"])
        source = self.stored(self.bucket(source_name, "s3:GetObject", source_key), source_key, version)
        start, end = _copy_range(params.get("CopySourceRange"), source.size)
        data = self.objects.read(source.bucket, source.key, start, end)
        if data is None:
            raise s3_error("NoSuchKey", "The specified key does not exist.", 404, Key=source_key)
        check_size(len(data))
        now = self.engine.clock.now()
        etag = check_md5(data, None)
        self.objects.put_part(upload.upload_id, Part(number, len(data), etag, now), data)
        return {"CopyPartResult": {"ETag": quoted(etag), "LastModified": timestamp(now)}} | _encryption_of(
            upload.headers
        )

    @s3_operation("ListParts")
    def list_parts(self, **params: Any) -> dict[str, Any]:
        bucket, upload = self._upload(params, "s3:ListMultipartUploadParts")
        marker, limit = params.get("PartNumberMarker") or 0, check_max(params.get("MaxParts"), "max-parts")
        after = [part for part in self.objects.parts(upload.upload_id) if part.number > marker]
        page = after[:limit]
        answer: dict[str, Any] = {
            "Bucket": bucket.name,
            "Key": upload.key,
            "UploadId": upload.upload_id,
            "PartNumberMarker": marker,
            "MaxParts": limit,
            "IsTruncated": len(after) > limit,
            "Parts": [
                {"PartNumber": p.number, "LastModified": timestamp(p.modified), "ETag": quoted(p.etag), "Size": p.size}
                for p in page
            ],
            "Initiator": owner(self.account),
            "Owner": owner(bucket.account),
            "StorageClass": upload.headers.get("StorageClass", "STANDARD"),
        }
        return answer | ({"NextPartNumberMarker": page[-1].number} if page else {})

    @s3_operation("CompleteMultipartUpload")
    def complete_multipart_upload(self, **params: Any) -> dict[str, Any]:
        bucket, upload = self._upload(params, "s3:PutObject")
        chosen = self._chosen_parts(upload.upload_id, (params.get("MultipartUpload") or {}).get("Parts") or [])
        size = sum(part.size for part in chosen)
        check_size(size, MAX_MULTIPART_OBJECT)
        etag = multipart_etag([part.etag for part in chosen])
        headers = upload.headers | {PART_SIZES: [part.size for part in chosen]}
        target = StoredObject(bucket.name, upload.key, size, etag, self.engine.clock.now(), headers)
        self.objects.complete(upload.upload_id, [part.number for part in chosen], target)
        return {
            "Location": f"{self.engine.settings.endpoint_url}/{bucket.name}/{quote(upload.key)}",
            "Bucket": bucket.name,
            "Key": upload.key,
            "ETag": quoted(etag),
        } | _encryption_of(upload.headers)

    def _chosen_parts(self, upload_id: str, listed: Sequence[Mapping[str, Any]]) -> list[Part]:
        """The stored parts a completion names: in ascending order (InvalidPartOrder), each uploaded with the
        ETag given (InvalidPart), each but the last of 5 MiB at least (EntityTooSmall)."""
        if not listed:
            raise s3_error("MalformedXML", _MALFORMED)
        numbers = [entry.get("PartNumber") for entry in listed]
        if any(not isinstance(n, int) for n in numbers):
            raise s3_error("MalformedXML", _MALFORMED)
        if any(a >= b for a, b in pairwise(numbers)):  # type: ignore[operator]
            raise s3_error(
                "InvalidPartOrder",
                "The list of parts was not in ascending order. The parts list must be specified in order by part "
                "number.",
                UploadId=upload_id,
            )
        stored = {part.number: part for part in self.objects.parts(upload_id)}
        chosen = []
        for entry in listed:
            part = stored.get(entry["PartNumber"])
            if part is None or unquoted(entry.get("ETag") or "") != part.etag:
                raise s3_error(
                    "InvalidPart",
                    _INVALID_PART,
                    UploadId=upload_id,
                    PartNumber=entry["PartNumber"],
                    ETag=entry.get("ETag") or "",
                )
            chosen.append(part)
        for part in chosen[:-1]:
            if part.size < MIN_PART_SIZE:
                raise s3_error(
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed object size.",
                    ProposedSize=part.size,
                    MinSizeAllowed=MIN_PART_SIZE,
                    PartNumber=part.number,
                    ETag=quoted(part.etag),
                )
        return chosen

    @s3_operation("AbortMultipartUpload")
    def abort_multipart_upload(self, **params: Any) -> dict[str, Any]:
        _, upload = self._upload(params, "s3:AbortMultipartUpload")
        self.objects.abort(upload.upload_id)
        return {}

    @s3_operation("ListMultipartUploads")
    def list_multipart_uploads(self, **params: Any) -> dict[str, Any]:
        """The bucket's uploads in progress by key and upload id, after KeyMarker (and, on that key,
        UploadIdMarker), rolled up by Delimiter as ListObjects rolls keys up."""
        bucket = self.bucket(params["Bucket"], "s3:ListBucketMultipartUploads")
        prefix, delimiter = params.get("Prefix") or "", params.get("Delimiter")
        key_marker, id_marker = params.get("KeyMarker") or "", params.get("UploadIdMarker") or ""
        limit, encode = check_max(params.get("MaxUploads"), "max-uploads"), encoder(params)
        moved = start_after(key_marker, prefix, delimiter)
        start = (moved, "") if moved != key_marker else (key_marker, id_marker or past(""))
        page = roll_up(
            lambda after, n: self.objects.uploads(bucket.name, prefix, after, n),
            lambda upload: upload.key,
            lambda upload: (upload.key, upload.upload_id),
            lambda common: (past(common), ""),
            start,
            prefix,
            delimiter,
            limit,
        )
        answer: dict[str, Any] = {
            "Bucket": bucket.name,
            "KeyMarker": encode(key_marker),
            "UploadIdMarker": id_marker,
            "Prefix": encode(prefix),
            "MaxUploads": limit,
            "IsTruncated": page.truncated,
            "Uploads": [self._described(u, bucket, encode) for u in page.items],
        }
        if page.truncated:
            ended_on_prefix = bool(page.prefixes) and page.prefixes[-1] == page.last
            answer["NextKeyMarker"] = encode(page.last)
            answer |= {} if ended_on_prefix or not page.items else {"NextUploadIdMarker": page.items[-1].upload_id}
        answer |= {"CommonPrefixes": [{"Prefix": encode(p)} for p in page.prefixes]} if page.prefixes else {}
        answer |= {"Delimiter": encode(delimiter)} if delimiter else {}
        return answer | ({"EncodingType": params["EncodingType"]} if params.get("EncodingType") else {})

    def _described(self, upload: Upload, bucket: Bucket, encode: Callable[[str], str]) -> dict[str, Any]:
        return {
            "UploadId": upload.upload_id,
            "Key": encode(upload.key),
            "Initiated": timestamp(upload.started),
            "StorageClass": upload.headers.get("StorageClass", "STANDARD"),
            "Owner": owner(bucket.account),
            "Initiator": owner(bucket.account),
        }


def _part_number(number: int) -> int:
    if not 1 <= number <= MAX_PARTS:
        raise s3_error(
            "InvalidArgument",
            "Part number must be an integer between 1 and 10000, inclusive",
            ArgumentName="partNumber",
            ArgumentValue=number,
        )
    return number


def _copy_range(text: str | None, size: int) -> tuple[int, int]:
    """The bytes `[start, end)` of a CopySourceRange (`bytes=first-last`, both given), or the whole source."""
    if text is None:
        return 0, size
    found = _COPY_RANGE.fullmatch(text.strip())
    if found is None:
        raise s3_error(
            "InvalidArgument",
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the "
            "zero-based offsets of the first and last bytes to copy",
            ArgumentName="x-amz-copy-source-range",
            ArgumentValue=text,
        )
    first, last = int(found.group(1)), int(found.group(2))
    if first > last or last >= size:
        raise s3_error(
            "InvalidArgument",
            f"Range specified is not valid for source object of size: {size}",
            ArgumentName="x-amz-copy-source-range",
            ArgumentValue=text,
        )
    return first, last + 1
