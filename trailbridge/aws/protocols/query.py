"""The AWS query protocol (STS, SNS, IAM, CloudFormation, ...), driven by botocore's models.

Requests are form-encoded pairs (`Action=...&Version=...&Name.member.1=...`) in the body or the query
string. A parameter's key is the path of serialised names (a member's `locationName`, else its name) from
the input structure down: list items are `Key.member.N` (`Key.N` for flattened lists), map entries
`Key.entry.N.key` and `Key.entry.N.value` (`Key.N.key` flattened; `key`/`value` renamed by `locationName`).
Answers are XML, `<OpResponse xmlns=...><OpResult>...</OpResult><ResponseMetadata>...`, the result element
named by the output shape's `resultWrapper`; errors are `<ErrorResponse><Error>...</Error><RequestId>`.
Timestamps are ISO 8601 unless a `timestampFormat` says otherwise; blobs are base64.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from trailbridge.aws.protocols import HttpAnswer, HttpRequest

_XML = {"Content-Type": "text/xml"}


def operation_name(service: ServiceModel, request: HttpRequest) -> str | None:
    """The `Action` of the query string or the form-encoded body, when the service has it."""
    action = next((value for key, value in request.query if key == "Action"), None)
    if action is None and request.body:  # the first Action with a value
        action = next((value for key, value in request.body_pairs if key == "Action" and value), None)
    return action if action in service.operation_names else None


def parse(operation: OperationModel, request: HttpRequest) -> dict[str, Any]:
    """The operation's parameters; values of the wrong form are left as strings for validation to name."""
    flat, present = form(request)
    shape = operation.input_shape
    return _read_structure(shape, "", flat, present) if shape is not None else {}


def form(request: HttpRequest) -> tuple[dict[str, str], set[str]]:
    """The request's pairs (query string, then form-encoded body), and every key and dotted prefix of one."""
    pairs = list(request.query)
    if request.body:
        pairs += request.body_pairs
    flat = dict(pairs)
    present: set[str] = set()
    for key in flat:
        parts = key.split(".")
        present.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return flat, present


def _name(shape: Shape, default: str) -> str:
    return str(shape.serialization.get("name") or default)


def _read(shape: Shape, key: str, flat: dict[str, str], present: set[str]) -> Any:
    if isinstance(shape, StructureShape):
        return _read_structure(shape, key + ".", flat, present)
    if isinstance(shape, ListShape):
        if flat.get(key) == "":  # how the protocol sends an empty list
            return []
        if shape.serialization.get("flattened"):
            base = key.rpartition(".")[0]
            prefix = f"{base}.{shape.member.serialization['name']}" if "name" in shape.member.serialization else key
            prefix = prefix.lstrip(".")
        else:
            prefix = f"{key}.{_name(shape.member, 'member')}"
        return [_read(shape.member, f"{prefix}.{i}", flat, present) for i in _indices(prefix, present)]
    if isinstance(shape, MapShape):
        prefix = key if shape.serialization.get("flattened") else f"{key}.entry"
        key_name, value_name = _name(shape.key, "key"), _name(shape.value, "value")
        return {
            flat.get(f"{prefix}.{i}.{key_name}", ""): _read(shape.value, f"{prefix}.{i}.{value_name}", flat, present)
            for i in _indices(prefix, present)
        }
    return scalar(shape, flat.get(key, ""))


def _read_structure(shape: StructureShape, prefix: str, flat: dict[str, str], present: set[str]) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for name, member in shape.members.items():
        key = prefix + _name(member, name)
        if key in present:
            members[name] = _read(member, key, flat, present)
    return members


def _indices(prefix: str, present: set[str]) -> range:
    """1, 2, ... as long as items are numbered without a gap."""
    count = 0
    while f"{prefix}.{count + 1}" in present:
        count += 1
    return range(1, count + 1)


def scalar(shape: Shape, text: str) -> Any:
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
        if kind == "timestamp":
            return _read_timestamp(shape, text)
        if kind == "blob":
            return base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error included
        return text
    if kind == "boolean":
        return {"true": True, "false": False}.get(text, text)
    return text


def _read_timestamp(shape: Shape, text: str) -> datetime:
    style = shape.serialization.get("timestampFormat", "iso8601")
    if style == "unixTimestamp":
        return datetime.fromtimestamp(float(text), UTC)
    if style == "rfc822":
        try:
            return parsedate_to_datetime(text)
        except TypeError:
            raise ValueError(text) from None
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def answer(operation: OperationModel, result: Mapping[str, Any], request_id: str) -> HttpAnswer:
    """`<OpResponse>` with the output shape's members, inside `<OpResult>` where the model wraps them."""
    name = operation.name
    shape = operation.output_shape
    body = ""
    if shape is not None:
        body = _write_members(shape, result)
        wrapper = shape.serialization.get("resultWrapper")
        if wrapper:
            body = f"<{wrapper}>{body}</{wrapper}>"
    namespace = _namespace(operation.service_model)
    text = (
        f"<{name}Response{namespace}>{body}"
        f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata></{name}Response>"
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
    """`<ErrorResponse>`: `Sender` for a 4xx status, `Receiver` otherwise (the query protocol carries no other
    members, so `fields` are left out)."""
    kind = "Sender" if status < 500 else "Receiver"
    text = (
        f"<ErrorResponse{_namespace(service)}><Error><Type>{kind}</Type><Code>{xml_text(code)}</Code>"
        f"<Message>{xml_text(message)}</Message></Error><RequestId>{xml_text(request_id)}</RequestId></ErrorResponse>"
    )
    return HttpAnswer(status, dict(_XML), text.encode())


def _namespace(service: ServiceModel) -> str:
    namespace = service.metadata.get("xmlNamespace")
    return f" xmlns={quoteattr(str(namespace))}" if namespace else ""


# Characters XML 1.0 cannot hold at all, not even as references: C0 controls but tab, newline and carriage
# return, lone surrogates, U+FFFE and U+FFFF. An answer that echoes one (a bad name in an error message) holds
# U+FFFD in its place, so that it stays a document every parser reads.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """Text as an XML element holds it (a carriage return kept as a character reference)."""
    return escape(_NOT_XML.sub("\ufffd", value), {"\r": "&#13;"})


def _write_members(shape: StructureShape, value: Mapping[str, Any]) -> str:
    parts = []
    for name, member in shape.members.items():
        item = value.get(name)
        if item is None:
            continue
        if isinstance(member, ListShape) and member.serialization.get("flattened"):
            tag = _name(member.member, _name(member, name))
            parts += [f"<{tag}>{_write(member.member, element)}</{tag}>" for element in item]
        elif isinstance(member, MapShape) and member.serialization.get("flattened"):
            tag = _name(member, name)
            parts += [f"<{tag}>{_write_entry(member, k, v)}</{tag}>" for k, v in item.items()]
        else:
            tag = _name(member, name)
            parts.append(f"<{tag}>{_write(member, item)}</{tag}>")
    return "".join(parts)


def _write_entry(shape: MapShape, key: Any, value: Any) -> str:
    key_tag, value_tag = _name(shape.key, "key"), _name(shape.value, "value")
    return f"<{key_tag}>{_write(shape.key, key)}</{key_tag}><{value_tag}>{_write(shape.value, value)}</{value_tag}>"


def _write(shape: Shape, value: Any) -> str:
    if isinstance(shape, StructureShape):
        return _write_members(shape, value)
    if isinstance(shape, ListShape):
        tag = _name(shape.member, "member")
        return "".join(f"<{tag}>{_write(shape.member, item)}</{tag}>" for item in value)
    if isinstance(shape, MapShape):
        return "".join(f"<entry>{_write_entry(shape, k, v)}</entry>" for k, v in value.items())
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp" and isinstance(value, datetime):
        return write_timestamp(shape, value)
    if kind == "blob" and isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    return xml_text(str(value))


def write_timestamp(shape: Shape, value: datetime) -> str:
    value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    style = shape.serialization.get("timestampFormat", "iso8601")
    if style == "unixTimestamp":
        return repr(value.timestamp())
    if style == "rfc822":
        return format_datetime(value, usegmt=True)
    return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds").replace("+00:00", "Z")
