"""S3's records: its event names, its `requestParameters` (the request as S3 saw it on the wire: `bucketName`,
`key`, `Host`, the query keys with their values, `""` for a subresource such as `?policy`, the `x-amz-*`
headers under their own names, and the XML body under its root element's name with its `xmlns`), its
`resources` (the bucket, and the object of an object call) and its `additionalEventData`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson

from trailbridge.trail.members import iso_time, scalar, style_of

if TYPE_CHECKING:  # botocore is loaded by the calls that use its models
    from botocore.model import OperationModel, Shape

# The event names of S3's records that are not the operation's name (CloudTrail keeps S3's older API names).
EVENT_NAMES = {
    "ListObjectsV2": "ListObjects",
    "GetBucketLifecycleConfiguration": "GetBucketLifecycle",
    "PutBucketLifecycleConfiguration": "PutBucketLifecycle",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "GetBucketAccelerateConfiguration": "GetAccelerateConfiguration",
    "PutBucketAccelerateConfiguration": "PutAccelerateConfiguration",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "DeleteBucketPublicAccessBlock",
    "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
    "PutObjectLockConfiguration": "PutBucketObjectLockConfiguration",
}
# S3 writes a bucket policy, a JSON document, as the object it is, under a name of its own.
_JSON_PAYLOADS = {"PutBucketPolicy": "bucketPolicy"}
_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
_STYLE = style_of("s3", "rest-xml")


def event_name(operation: str) -> str:
    return EVENT_NAMES.get(operation, operation)


def request_parameters(operation: OperationModel, params: Mapping[str, Any], host: str) -> dict[str, Any]:
    written: dict[str, Any] = {"bucketName": params["Bucket"]} if "Bucket" in params else {}
    if "Key" in params:
        written["key"] = params["Key"]
    written["Host"] = host
    query = operation.http.get("requestUri", "").partition("?")[2]
    written.update(parse_qsl(query, keep_blank_values=True))
    shape = operation.input_shape
    if shape is None:
        return written
    payload = shape.serialization.get("payload")
    for name, member in shape.members.items():
        if name in params and name != payload and (key := _wire_name(name, member)) is not None:
            written[key] = _text(member, params[name])
    if payload in params:
        written.update(_payload(operation.name, shape.members[payload], params[payload]))
    return written


def _wire_name(name: str, member: Shape) -> str | None:
    """The name a member of the query or an `x-amz-*` header has on the wire; None for what S3's records leave
    out (the bucket and key, written above, the body, checksums, sensitive headers such as SSE-C keys)."""
    location, wire = member.serialization.get("location"), member.serialization.get("name", name)
    if member.metadata.get("sensitive") or name.startswith("Checksum") or wire == "x-amz-sdk-checksum-algorithm":
        return None
    if location == "querystring" or (location == "header" and wire.lower().startswith("x-amz-")):
        return str(wire)
    return None


def _text(member: Shape, value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if isinstance(value, int | float) else scalar(member, value, _STYLE)


def _payload(operation: str, member: Shape, value: Any) -> dict[str, Any]:
    if operation in _JSON_PAYLOADS and isinstance(value, str | bytes):
        try:
            return {_JSON_PAYLOADS[operation]: orjson.loads(value)}
        except orjson.JSONDecodeError:
            return {_JSON_PAYLOADS[operation]: value}
    if member.type_name != "structure" or not isinstance(value, Mapping):
        return {}  # an object's bytes are not written
    root = member.serialization.get("name") or member.name
    namespace = member.serialization.get("xmlNamespace", {}).get("uri", _XMLNS)
    return {root: {**_xml(member, value), "xmlns": namespace}}


def _xml(shape: Shape, value: Any) -> Any:
    """A value as S3's records write an XML element: members by their XML names, a list's items under the
    name of its member (one item alone, not in a list), values as they were given."""
    if shape.type_name == "structure" and isinstance(value, Mapping):
        written: dict[str, Any] = {}
        for name, item in value.items():
            member = shape.members.get(name)
            if member is None or item is None:
                continue
            written[member.serialization.get("name") or name] = _xml(member, item)
        return written
    if shape.type_name == "list" and isinstance(value, list | tuple):
        items = [_xml(shape.member, item) for item in value]
        one = items[0] if len(items) == 1 else items
        if shape.serialization.get("flattened"):
            return one
        return {shape.member.serialization.get("name") or shape.member.name: one}
    if shape.type_name == "timestamp":
        return iso_time(value) if hasattr(value, "astimezone") else value
    return scalar(shape, value, _STYLE)


def resources(operation: OperationModel, params: Mapping[str, Any], account: str) -> list[dict[str, str]]:
    """The object and its bucket an object call names (a copy's source too), the bucket of a bucket call."""
    bucket = params.get("Bucket")
    if not isinstance(bucket, str):
        return []
    keys = _keys(params)
    found = [_object(bucket, key) for key in keys]
    found.append({"accountId": account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"})
    source = params.get("CopySource")
    if isinstance(source, str) and "/" in source.lstrip("/"):
        source_bucket, _, source_key = source.lstrip("/").partition("/")
        found += [_object(source_bucket, source_key.partition("?")[0]), _bucket(source_bucket)]
    return found


def _keys(params: Mapping[str, Any]) -> list[str]:
    if isinstance(params.get("Key"), str):
        return [params["Key"]]
    objects = params.get("Delete", {}).get("Objects", []) if isinstance(params.get("Delete"), Mapping) else []
    return [item["Key"] for item in objects if isinstance(item, Mapping) and isinstance(item.get("Key"), str)]


def _object(bucket: str, key: str) -> dict[str, str]:
    return {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"}


def _bucket(bucket: str) -> dict[str, str]:
    """A bucket whose owner the record cannot know (a copy's source): without accountId."""
    return {"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}


def additional_event_data(
    params: Mapping[str, Any], response: Mapping[str, Any] | None, signed: bool, tls: Mapping[str, str] | None
) -> dict[str, Any]:
    """How the request was authenticated and the bytes of the bodies S3 counts (the object's, in and out)."""
    data: dict[str, Any] = {}
    if signed:
        data.update(SignatureVersion="SigV4", AuthenticationMethod="AuthHeader")
    if tls is not None and tls.get("cipherSuite"):
        data["CipherSuite"] = tls["cipherSuite"]
    data["bytesTransferredIn"] = _size(params.get("Body"))
    data["bytesTransferredOut"] = _size((response or {}).get("Body"))
    return data


def _size(body: object) -> int:
    return len(body) if isinstance(body, bytes | bytearray | str) else 0


def response_elements(operation: OperationModel, answer: Mapping[str, Any]) -> dict[str, Any] | None:
    """A write's answer as S3's records keep it: its `x-amz-*` headers (the version id, the encryption
    applied), or null."""
    shape = operation.output_shape
    if shape is None:
        return None
    written = {
        key: _text(member, answer[name])
        for name, member in shape.members.items()
        if name in answer and member.serialization.get("location") == "header"
        if (key := _wire_name(name, member)) is not None
    }
    return written or None
