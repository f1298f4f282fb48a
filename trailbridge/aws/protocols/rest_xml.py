"""The AWS rest-xml protocol (S3, Route 53, CloudFront), driven by botocore's models.

Routing and the members bound to the URI, query string and headers are `rest`'s; the body is XML. A member's
element is named by its `locationName` (else its name); lists are `<Name><member>...</member></Name>`, or the
element repeated when `flattened`; maps `<Name><entry><key/><value/></entry></Name>` (`entry` dropped when
flattened); `xmlAttribute` members are attributes of their structure's element. Timestamps are ISO 8601,
blobs base64. The root element is the shape's `locationName` (else its name), in the model's `xmlNamespace`
or the service's own. S3 answers carry `x-amz-request-id`/`x-amz-id-2` and errors `<Error>...</Error>`;
Route 53 and CloudFront `x-amzn-RequestId` and `<ErrorResponse><Error>...</Error><RequestId>`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import quoteattr

from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from trailbridge.aws.protocols import HttpAnswer, HttpRequest, rest
from trailbridge.aws.protocols.query import xml_text

_XML = "application/xml"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def operation_name(service: ServiceModel, request: HttpRequest) -> str | None:
    """The operation whose method and `requestUri` the request matches most specifically."""
    return rest.operation_name(service, request)


def parse(operation: OperationModel, request: HttpRequest) -> dict[str, Any]:
    """The operation's parameters; a body that is not XML counts as no body members."""
    return rest.parse(operation, request, _read_body)


# The root elements S3 writes where botocore's model names the output shape instead (botocore ignores the root;
# other SDKs and tools may not).
_S3_ROOTS = {
    "ListObjects": "ListBucketResult",
    "ListObjectsV2": "ListBucketResult",
    "ListObjectVersions": "ListVersionsResult",
    "ListBuckets": "ListAllMyBucketsResult",
    "CreateMultipartUpload": "InitiateMultipartUploadResult",
    "CompleteMultipartUpload": "CompleteMultipartUploadResult",
    "ListParts": "ListPartsResult",
    "ListMultipartUploads": "ListMultipartUploadsResult",
    "DeleteObjects": "DeleteResult",
    "GetBucketAcl": "AccessControlPolicy",
    "GetObjectAcl": "AccessControlPolicy",
    "GetBucketTagging": "Tagging",
    "GetObjectTagging": "Tagging",
    "GetBucketVersioning": "VersioningConfiguration",
    "GetBucketCors": "CORSConfiguration",
    "GetBucketLifecycleConfiguration": "LifecycleConfiguration",
    "GetBucketLogging": "BucketLoggingStatus",
    "GetBucketWebsite": "WebsiteConfiguration",
    "GetBucketNotificationConfiguration": "NotificationConfiguration",
    "GetBucketRequestPayment": "RequestPaymentConfiguration",
    "GetBucketAccelerateConfiguration": "AccelerateConfiguration",
}


def answer(operation: OperationModel, result: Mapping[str, Any], request_id: str) -> HttpAnswer:
    """The operation's answer, with the request id headers of the service."""
    service = operation.service_model
    namespace = _namespace(service)

    def write_body(shape: StructureShape, value: Mapping[str, Any], name: str) -> bytes:
        if _is_s3(service) and operation.name == "GetBucketLocation":
            return _bare_location(value.get("LocationConstraint"), namespace)
        root = _S3_ROOTS.get(operation.name, name) if _is_s3(service) else name
        return (_DECLARATION + _element(root, shape, value, namespace)).encode()

    written = rest.answer(operation, result, write_body, _XML)
    status = written.status
    if _is_s3(service) and status == 200 and result.get("ContentRange"):
        status = 206  # a part of an object (Range, PartNumber): S3's Partial Content, which the model cannot say
    return HttpAnswer(status, {**written.headers, **_request_ids(service, request_id)}, written.body)


def error(
    service: ServiceModel,
    code: str,
    message: str,
    status: int,
    request_id: str,
    fields: Mapping[str, str] | None = None,
) -> HttpAnswer:
    """S3's `<Error>` with `fields` as elements of it, or `<ErrorResponse>` (`Sender` for a 4xx status,
    `Receiver` otherwise) for the other rest-xml services."""
    members = f"<Code>{xml_text(code)}</Code><Message>{xml_text(message)}</Message>" + "".join(
        f"<{name}>{xml_text(value)}</{name}>" for name, value in (fields or {}).items()
    )
    if _is_s3(service):
        host_id = base64.b64encode(request_id.encode()).decode()
        body = f"<Error>{members}<RequestId>{xml_text(request_id)}</RequestId><HostId>{host_id}</HostId></Error>"
    else:
        kind = "Sender" if status < 500 else "Receiver"
        namespace = _namespace(service)
        xmlns = f" xmlns={quoteattr(namespace)}" if namespace else ""
        body = (
            f"<ErrorResponse{xmlns}><Error><Type>{kind}</Type>{members}</Error>"
            f"<RequestId>{xml_text(request_id)}</RequestId></ErrorResponse>"
        )
    headers = {"Content-Type": _XML, **_request_ids(service, request_id)}
    return HttpAnswer(status, headers, (_DECLARATION + body).encode())


def _bare_location(region: str | None, namespace: str) -> bytes:
    """S3 answers GetBucketLocation with the bare `<LocationConstraint>` element, its text the region (none for
    us-east-1); the model cannot say so, and botocore reads the root's text by hand."""
    xmlns = f" xmlns={quoteattr(namespace)}" if namespace else ""
    return f"{_DECLARATION}<LocationConstraint{xmlns}>{xml_text(region or '')}</LocationConstraint>".encode()


def _is_s3(service: ServiceModel) -> bool:
    return bool(service.metadata.get("serviceId") == "S3")


def _request_ids(service: ServiceModel, request_id: str) -> dict[str, str]:
    if _is_s3(service):
        return {"x-amz-request-id": request_id, "x-amz-id-2": base64.b64encode(request_id.encode()).decode()}
    return {"x-amzn-RequestId": request_id}


@lru_cache(maxsize=512)
def _namespace(service: ServiceModel) -> str:
    """The service's XML namespace: botocore gives it on the request shapes (the metadata has none)."""
    for name in service.operation_names:
        shape = service.operation_model(name).input_shape
        payload = shape.serialization.get("payload") if shape is not None else None
        for candidate in (shape, shape.members[payload] if shape is not None and payload else None):
            uri = _namespace_uri(candidate) if candidate is not None else ""
            if uri:
                return uri
    return str(service.metadata.get("xmlNamespace") or "")


def _namespace_uri(shape: Shape) -> str:
    namespace = shape.serialization.get("xmlNamespace")
    if isinstance(namespace, Mapping) and not namespace.get("prefix"):
        return str(namespace.get("uri", ""))
    return namespace if isinstance(namespace, str) else ""


def _name(shape: Shape, default: str) -> str:
    return str(shape.serialization.get("name") or default)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _read_body(shape: StructureShape, body: bytes) -> dict[str, Any] | None:
    """No AWS request declares a DTD, so a body that does is not read (no entity expansion to bother with)."""
    if b"<!doctype" in body.lower():
        return None
    try:
        return _read_structure(shape, ElementTree.fromstring(body))
    except ElementTree.ParseError:
        return None


def _read(shape: Shape, node: ElementTree.Element) -> Any:
    if isinstance(shape, StructureShape):
        return _read_structure(shape, node)
    if isinstance(shape, ListShape):
        tag = _name(shape.member, "member")
        return [_read(shape.member, child) for child in node if _local(child.tag) == tag]
    if isinstance(shape, MapShape):
        return dict(_read_entry(shape, entry) for entry in node if _local(entry.tag) == "entry")
    return rest.scalar(shape, node.text or "")


def _read_structure(shape: StructureShape, node: ElementTree.Element) -> dict[str, Any]:
    children: dict[str, list[ElementTree.Element]] = {}
    for child in node:
        children.setdefault(_local(child.tag), []).append(child)
    members: dict[str, Any] = {}
    listed = _flattened_list_names(shape)
    for name, member in shape.members.items():
        if member.serialization.get("location") in rest.LOCATIONS:
            continue
        if not isinstance(member, ListShape) and _name(member, name) in listed:
            continue  # S3's deprecated `Event` beside `Events` of `<Event>` items: the items are the list's
        if member.serialization.get("xmlAttribute"):
            attribute = _attribute(node, _name(member, name))
            if attribute is not None:
                members[name] = rest.scalar(member, attribute)
            continue
        nodes = children.get(_name(member, name)) or children.get(_flat_name(member, name)) or []
        if nodes and member.serialization.get("flattened") and isinstance(member, ListShape):
            members[name] = [_read(member.member, item) for item in nodes]
        elif nodes and member.serialization.get("flattened") and isinstance(member, MapShape):
            members[name] = dict(_read_entry(member, item) for item in nodes)
        elif nodes:
            members[name] = _read(member, nodes[0])
    return members


def _flattened_list_names(shape: StructureShape) -> set[str]:
    return {
        _name(member, name)
        for name, member in shape.members.items()
        if isinstance(member, ListShape) and member.serialization.get("flattened")
    }


def _flat_name(member: Shape, name: str) -> str:
    """A flattened list's items may be named by the list's member (`locationName`) rather than the list."""
    if isinstance(member, ListShape) and member.serialization.get("flattened"):
        return _name(member.member, _name(member, name))
    return _name(member, name)


def _attribute(node: ElementTree.Element, name: str) -> str | None:
    """`xsi:type` is stored by ElementTree under its namespace's URI: match the local part."""
    local = name.rpartition(":")[2]
    for key, value in node.attrib.items():
        if key == name or _local(key) == local:
            return value
    return None


def _read_entry(shape: MapShape, entry: ElementTree.Element) -> tuple[Any, Any]:
    key_tag, value_tag = _name(shape.key, "key"), _name(shape.value, "value")
    key: Any = ""
    value: Any = None
    for part in entry:
        if _local(part.tag) == key_tag:
            key = _read(shape.key, part)
        elif _local(part.tag) == value_tag:
            value = _read(shape.value, part)
    return key, value


def _element(tag: str, shape: Shape, value: Any, default_namespace: str = "") -> str:
    """`<tag>` with the value; `default_namespace` for the root when its shape names none."""
    attributes = _declarations(shape, default_namespace)
    if isinstance(shape, StructureShape):
        inner = ""
        for name, member in shape.members.items():
            item = value.get(name)
            if item is None or member.serialization.get("location") in rest.LOCATIONS:
                continue
            if member.serialization.get("xmlAttribute"):
                attributes += f" {_name(member, name)}={quoteattr(rest.scalar_text(member, item, 'iso8601'))}"
            else:
                inner += _member(_name(member, name), member, item)
        return f"<{tag}{attributes}>{inner}</{tag}>"
    if isinstance(shape, ListShape):
        inner = "".join(_element(_name(shape.member, "member"), shape.member, item) for item in value)
    elif isinstance(shape, MapShape):
        inner = "".join(f"<entry>{_entry(shape, key, item)}</entry>" for key, item in value.items())
    else:
        inner = xml_text(rest.scalar_text(shape, value, "iso8601"))
    return f"<{tag}{attributes}>{inner}</{tag}>"


def _member(tag: str, shape: Shape, value: Any) -> str:
    """A structure's member: flattened lists and maps repeat their element instead of wrapping it."""
    if isinstance(shape, ListShape) and shape.serialization.get("flattened"):
        item_tag = _name(shape.member, tag)
        return "".join(_element(item_tag, shape.member, item) for item in value)
    if isinstance(shape, MapShape) and shape.serialization.get("flattened"):
        return "".join(f"<{tag}>{_entry(shape, key, item)}</{tag}>" for key, item in value.items())
    return _element(tag, shape, value)


def _entry(shape: MapShape, key: Any, value: Any) -> str:
    return _element(_name(shape.key, "key"), shape.key, key) + _element(_name(shape.value, "value"), shape.value, value)


def _declarations(shape: Shape, default_namespace: str) -> str:
    namespace = shape.serialization.get("xmlNamespace")
    if isinstance(namespace, Mapping) and namespace.get("uri"):
        prefix = f":{namespace['prefix']}" if namespace.get("prefix") else ""
        return f" xmlns{prefix}={quoteattr(str(namespace['uri']))}"
    if isinstance(namespace, str):
        return f" xmlns={quoteattr(namespace)}"
    return f" xmlns={quoteattr(default_namespace)}" if default_namespace else ""
