"""The EC2 protocol, the query protocol's older sibling that only EC2 speaks, driven by botocore's model.

Requests are form-encoded pairs like the query protocol's (`Action=...&Version=...`), but every list is
`Name.N` (no `.member`, whatever the item's `locationName`), and a member's key is its `queryName`, else its
`locationName` with the first letter capitalised, else its name. Answers are
`<OpResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>...</requestId>...</OpResponse>`,
members named by `locationName` as written (lower camel case mostly), list items `<item>`; errors are
`<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>`. EC2's model has no maps
and no flattened lists, so neither is read or written here. Scalars are read and written as the query
protocol does (its private helpers, shared rather than copied).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from xml.sax.saxutils import quoteattr

from botocore.model import ListShape, OperationModel, ServiceModel, Shape, StructureShape

from trailbridge.aws.protocols import HttpAnswer, HttpRequest, query

_XML = {"Content-Type": "text/xml;charset=UTF-8"}


def operation_name(service: ServiceModel, request: HttpRequest) -> str | None:
    """The `Action` of the query string or the form-encoded body, as in the query protocol."""
    return query.operation_name(service, request)


def parse(operation: OperationModel, request: HttpRequest) -> dict[str, Any]:
    """The operation's parameters; values of the wrong form are left as strings for validation to name."""
    flat, present = query.form(request)
    shape = operation.input_shape
    return _read_structure(shape, "", flat, present) if shape is not None else {}


def _query_name(shape: Shape, default: str) -> str:
    if "queryName" in shape.serialization:
        return str(shape.serialization["queryName"])
    name = str(shape.serialization.get("name") or "")
    return name[:1].upper() + name[1:] if name else default


def _read_structure(shape: StructureShape, prefix: str, flat: dict[str, str], present: set[str]) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for name, member in shape.members.items():
        key = prefix + _query_name(member, name)
        if key in present:
            members[name] = _read(member, key, flat, present)
    return members


def _read(shape: Shape, key: str, flat: dict[str, str], present: set[str]) -> Any:
    if isinstance(shape, StructureShape):
        return _read_structure(shape, key + ".", flat, present)
    if isinstance(shape, ListShape):
        count = 0
        while f"{key}.{count + 1}" in present:  # items are numbered from 1 without a gap
            count += 1
        return [_read(shape.member, f"{key}.{i}", flat, present) for i in range(1, count + 1)]
    return query.scalar(shape, flat.get(key, ""))


def answer(operation: OperationModel, result: Mapping[str, Any], request_id: str) -> HttpAnswer:
    """`<OpResponse>` with the request id first, then the output shape's members."""
    shape = operation.output_shape
    body = _write_members(shape, result) if shape is not None else ""
    name = operation.name
    text = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{name}Response{_namespace(operation.service_model)}>'
        f"<requestId>{query.xml_text(request_id)}</requestId>{body}</{name}Response>"
    )
    return HttpAnswer(200, dict(_XML), text.encode())


def error(
    service: ServiceModel,
    code: str,
    message: str,
    status: int,
    request_id: str,
    fields: Mapping[str, str] | None = None,
) -> HttpAnswer:
    """`<Response><Errors><Error>`; EC2's errors carry no members of their own, so `fields` are left out."""
    text = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{query.xml_text(code)}</Code>'
        f"<Message>{query.xml_text(message)}</Message></Error></Errors>"
        f"<RequestID>{query.xml_text(request_id)}</RequestID></Response>"
    )
    return HttpAnswer(status, dict(_XML), text.encode())


def _namespace(service: ServiceModel) -> str:
    """EC2 answers in its namespace with a closing slash, which the model's `xmlNamespace` leaves off."""
    namespace = str(service.metadata.get("xmlNamespace") or "")
    return f" xmlns={quoteattr(namespace.rstrip('/') + '/')}" if namespace else ""


def _write_members(shape: StructureShape, value: Mapping[str, Any]) -> str:
    parts = []
    for name, member in shape.members.items():
        item = value.get(name)
        if item is not None:
            tag = str(member.serialization.get("name") or name)
            parts.append(f"<{tag}>{_write(member, item)}</{tag}>")
    return "".join(parts)


def _write(shape: Shape, value: Any) -> str:
    if isinstance(shape, StructureShape):
        return _write_members(shape, value)
    if isinstance(shape, ListShape):
        tag = str(shape.member.serialization.get("name") or "item")
        return "".join(f"<{tag}>{_write(shape.member, item)}</{tag}>" for item in value)
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp" and isinstance(value, datetime):
        return query.write_timestamp(shape, value)
    if kind == "blob" and isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    return query.xml_text(str(value))
