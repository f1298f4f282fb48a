"""S3's objects: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects, CopyObject.

An object's ETag is the MD5 of its bytes in hex, quoted (a multipart upload's is `<md5 of the parts'
MD5s>-<parts>`). What the writer gave with it (Content-Type and the other representation headers, Expires,
the user's `x-amz-meta-*` Metadata, encryption, storage class, ACL) is stored with it and returned by
GetObject and HeadObject. Buckets are not versioned here: every object is the version "null".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import unquote

from trailbridge.services.base import ServiceError, timestamp
from trailbridge.services.s3 import acl
from trailbridge.services.s3.common import (
    S3Service,
    epoch,
    no_such_bucket,
    no_such_key,
    quoted,
    s3_error,
    s3_operation,
)
from trailbridge.services.s3.integrity import MAX_OBJECT_SIZE, check_md5, check_size, checksums, returned
from trailbridge.services.s3.integrity import MEMBERS as CHECKSUMS
from trailbridge.services.s3.reading import byte_range, check_conditions, content_range, part_range
from trailbridge.storage.ports import Bucket, StoredObject

DEFAULT_CONTENT_TYPE = "binary/octet-stream"
PART_SIZES = "PartSizes"  # the header a completed multipart upload keeps: its parts' sizes, in order
MAX_KEY_BYTES = 1024
MAX_DELETE = 1000
# What a writer gives that describes the object itself, and a copy keeps unless told to REPLACE it.
METADATA = (
    "ContentType",
    "ContentEncoding",
    "CacheControl",
    "ContentDisposition",
    "ContentLanguage",
    "Expires",
    "Metadata",
)
# What is stored beside it and returned by GetObject and HeadObject.
_SETTINGS = ("StorageClass", "WebsiteRedirectLocation")
_ENCRYPTION = ("ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled")
_RESPONSE_OVERRIDES = {
    f"Response{name}": name
    for name in ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "ContentType", "Expires")
}
_SELF_COPY = (
    "This copy request is illegal because it is trying to copy an object to itself without changing the object's "
    "metadata, storage class, website redirect location or encryption attributes."
)


def check_key(key: str) -> None:
    size = len(key.encode())
    if size > MAX_KEY_BYTES:
        raise s3_error("KeyTooLongError", "Your key is too long", Size=size, MaxSizeAllowed=MAX_KEY_BYTES)


def encryption(bucket: Bucket, params: Mapping[str, Any]) -> dict[str, Any]:
    """How a new object is encrypted: as the request asks, else by the bucket's default (SSE-S3, AES256,
    when none is configured, as S3 encrypts every new object since 2023)."""
    if params.get("ServerSideEncryption"):
        return {name: params[name] for name in _ENCRYPTION if params.get(name) is not None}
    rules = (bucket.config.get("encryption") or {}).get("Rules") or [{}]
    default = rules[0].get("ApplyServerSideEncryptionByDefault") or {"SSEAlgorithm": "AES256"}
    chosen = {"ServerSideEncryption": default["SSEAlgorithm"]}
    if default.get("KMSMasterKeyID"):
        chosen["SSEKMSKeyId"] = default["KMSMasterKeyID"]
    if rules[0].get("BucketKeyEnabled") and str(default["SSEAlgorithm"]).startswith("aws:kms"):
        chosen["BucketKeyEnabled"] = True
    return chosen


def object_headers(bucket: Bucket, params: Mapping[str, Any], names: tuple[str, ...] = METADATA) -> dict[str, Any]:
    """The headers a write stores with its object: the `names` the request gives, its settings, encryption
    and ACL (refused when the bucket takes no such ACL)."""
    headers: dict[str, Any] = {name: params[name] for name in (*names, *_SETTINGS) if params.get(name) is not None}
    if "Expires" in headers:
        headers["Expires"] = epoch(headers["Expires"])
    document = acl.from_request(bucket.account, params)
    if document is not None:
        acl.check_allowed(document, bucket.account, bucket.config)
        headers["ACL"] = document
    return headers | encryption(bucket, params)


def described(item: StoredObject, params: Mapping[str, Any]) -> dict[str, Any]:
    """An object's headers as GetObject and HeadObject answer them, with the request's Response* overrides."""
    headers = item.headers
    answer: dict[str, Any] = {
        "AcceptRanges": "bytes",
        "ETag": quoted(item.etag),
        "ContentLength": item.size,
        "LastModified": timestamp(item.modified),
        "ContentType": DEFAULT_CONTENT_TYPE,
        "Metadata": {},
    }
    answer |= {name: headers[name] for name in (*METADATA, *_ENCRYPTION, *_SETTINGS) if name in headers}
    if answer.get("StorageClass") == "STANDARD":
        del answer["StorageClass"]  # S3 names the storage class only when it is not STANDARD
    answer |= {name: params[given] for given, name in _RESPONSE_OVERRIDES.items() if params.get(given) is not None}
    if "Expires" in answer:
        answer["Expires"] = timestamp(epoch(answer["Expires"]))
    return answer


def copy_source(text: str) -> tuple[str, str, str | None]:
    """(bucket, key, version id) of a CopySource: `bucket/key`, URL-encoded, with an optional leading `/` and
    `?versionId=...`."""
    path, _, query = text.partition("?")
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key:
        raise s3_error(
            "InvalidArgument",
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            ArgumentName="x-amz-copy-source",
            ArgumentValue=text,
        )
    version = query.removeprefix("versionId=") if query.startswith("versionId=") else None
    return bucket, key, unquote(version) if version is not None else None


class ObjectsService(S3Service):
    @s3_operation("PutObject")
    def put_object(self, **params: Any) -> dict[str, Any]:
        name, key = params["Bucket"], params["Key"]
        bucket = self.bucket(name, "s3:PutObject", key)
        check_key(key)
        body = params.get("Body") or b""
        data = body.encode() if isinstance(body, str) else bytes(body)
        check_size(max(len(data), params.get("ContentLength") or 0))
        etag = check_md5(data, params.get("ContentMD5"))
        self._check_write_conditions(name, key, params)
        sums = checksums(data, params)
        headers = object_headers(bucket, params) | sums
        self.objects.put(StoredObject(name, key, len(data), etag, self.engine.clock.now(), headers), data)
        answer = {"ETag": quoted(etag)} | {k: headers[k] for k in _ENCRYPTION if k in headers}
        return answer | sums | ({"ChecksumType": "FULL_OBJECT"} if sums else {})

    def _check_write_conditions(self, name: str, key: str, params: Mapping[str, Any]) -> None:
        """Conditional writes: If-None-Match `*` writes only a key that has no object, If-Match only over the
        object of that ETag."""
        if_none, if_match = params.get("IfNoneMatch"), params.get("IfMatch")
        if if_none is None and if_match is None:
            return
        if if_none is not None and if_none.strip() != "*":
            raise s3_error(
                "NotImplemented",
                "A header you provided implies functionality that is not implemented",
                501,
                Header="If-None-Match",
            )
        current = self.objects.head(name, key)
        if if_none is not None and current is not None:
            raise s3_error(
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
                412,
                Condition="If-None-Match",
            )
        if if_match is not None:
            if current is None:
                raise no_such_key(key)
            check_conditions(current, {"IfMatch": if_match})

    @s3_operation("GetObject")
    def get_object(self, **params: Any) -> dict[str, Any]:
        """The object's bytes and headers; a Range read answers the part asked for with its ContentRange (the
        protocol's 206)."""
        item, answer, span = self._read(params)
        data = self.objects.read(item.bucket, item.key, *span) if span else self.objects.read(item.bucket, item.key)
        if data is None:
            raise no_such_key(item.key)  # deleted since it was looked at
        return answer | {"Body": data}

    @s3_operation("HeadObject")
    def head_object(self, **params: Any) -> dict[str, Any]:
        return self._read(params)[1]

    def _read(self, params: Mapping[str, Any]) -> tuple[StoredObject, dict[str, Any], tuple[int, int] | None]:
        """The object a read names, its answer's headers and the bytes `[start, end)` a Range asks for."""
        bucket = self.bucket(params["Bucket"], "s3:GetObject", params["Key"])
        item = self.stored(bucket, params["Key"], params.get("VersionId"))
        check_conditions(item, params)
        span = self._span(item, params)
        answer = described(item, params) | returned(item.headers, params, span is not None)
        if PART_SIZES in item.headers:
            answer["PartsCount"] = len(item.headers[PART_SIZES])
        if span is not None:
            answer |= {"ContentLength": span[1] - span[0], "ContentRange": content_range(*span, item.size)}
        return item, answer, span

    def _span(self, item: StoredObject, params: Mapping[str, Any]) -> tuple[int, int] | None:
        """The bytes a read asks for: a Range, or a PartNumber (one part of a multipart object), not both."""
        if params.get("PartNumber") is None:
            return byte_range(params.get("Range"), item.size)
        if params.get("Range") is not None:
            raise s3_error("InvalidRequest", "Cannot specify both Range header and partNumber query parameter")
        return part_range(params["PartNumber"], item.headers.get(PART_SIZES), item.size)

    @s3_operation("DeleteObject")
    def delete_object(self, **params: Any) -> dict[str, Any]:
        """Drop the object; deleting one that is not there succeeds too (204 either way)."""
        self.bucket(params["Bucket"], "s3:DeleteObject", params["Key"])
        self.objects.delete(params["Bucket"], [params["Key"]])
        return {}

    @s3_operation("DeleteObjects")
    def delete_objects(self, **params: Any) -> dict[str, Any]:
        """Drop up to 1,000 objects; each is authorized on its own (a policy may allow some keys only), and
        one refused is an entry of Errors. Quiet answers the errors only."""
        name, request = params["Bucket"], params["Delete"]
        listed = request["Objects"]
        if not listed or len(listed) > MAX_DELETE:
            raise s3_error(
                "MalformedXML",
                "The XML you provided was not well-formed or did not validate against our published schema",
            )
        bucket = self.objects.bucket(name)
        if bucket is None:
            raise no_such_bucket(name)
        deleted, errors = [], []
        for entry in listed:
            try:
                self.authorize(bucket, "s3:DeleteObject", entry["Key"])
            except ServiceError as exc:
                errors.append({"Key": entry["Key"], "Code": exc.code, "Message": exc.message})
                continue
            deleted.append(
                {"Key": entry["Key"]} | ({"VersionId": entry["VersionId"]} if entry.get("VersionId") else {})
            )
        self.objects.delete(name, [entry["Key"] for entry in deleted])
        return ({} if request.get("Quiet") else {"Deleted": deleted}) | ({"Errors": errors} if errors else {})

    @s3_operation("CopyObject")
    def copy_object(self, **params: Any) -> dict[str, Any]:
        """Copy an object (needs s3:GetObject on the source and s3:PutObject on the target). MetadataDirective
        COPY (the default) keeps the source's metadata, REPLACE takes the request's; a copy onto itself must
        change something."""
        name, key = params["Bucket"], params["Key"]
        target_bucket = self.bucket(name, "s3:PutObject", key)
        check_key(key)
        source_name, source_key, version = copy_source(params["CopySource"])
        source = self.stored(self.bucket(source_name, "s3:GetObject", source_key), source_key, version)
        check_conditions(source, params, "CopySource")
        if source.size > MAX_OBJECT_SIZE:
            raise s3_error(
                "InvalidRequest",
                "The specified copy source is larger than the maximum allowable size for a copy source: "
                f"{MAX_OBJECT_SIZE}",
            )
        replace = params.get("MetadataDirective") == "REPLACE"
        changes = any(
            params.get(k) for k in ("StorageClass", "WebsiteRedirectLocation", "ServerSideEncryption", "SSEKMSKeyId")
        )
        if (source_name, source_key) == (name, key) and not replace and not changes:
            raise s3_error("InvalidRequest", _SELF_COPY)
        headers = object_headers(target_bucket, params, METADATA if replace else ())
        if not replace:
            headers |= {k: source.headers[k] for k in METADATA if k in source.headers}
        headers |= {k: source.headers[k] for k in CHECKSUMS if k in source.headers}  # the same bytes
        now = self.engine.clock.now()
        etag = self._write_copy(source, StoredObject(name, key, source.size, source.etag, now, headers))
        result = {"CopyObjectResult": {"ETag": quoted(etag), "LastModified": timestamp(now)}}
        return result | {k: headers[k] for k in _ENCRYPTION if k in headers}

    def _write_copy(self, source: StoredObject, target: StoredObject) -> str:
        """Write the copy; its ETag. A copy is one object written whole, so its ETag is its bytes' MD5: a plain
        MD5 ETag carries over and the store copies the bytes itself; a multipart source's bytes are read to
        compute it."""
        if "-" not in source.etag:
            if not self.objects.copy(source.bucket, source.key, target):
                raise no_such_key(source.key)
            return source.etag
        data = self.objects.read(source.bucket, source.key)
        if data is None:
            raise no_such_key(source.key)
        etag = check_md5(data, None)
        self.objects.put(replace(target, size=len(data), etag=etag), data)
        return etag
