"""The AWS rest-json protocol (Lambda, EKS, Glacier, API Gateway, ...), driven by botocore's models.

Routing and the members bound to the URI, query string and headers are `rest`'s; the body is a JSON object
of the remaining members (or the `payload` member), named by their `locationName`. Timestamps in the body
are epoch seconds unless a `timestampFormat` says otherwise, blobs base64, documents as they are. Errors
carry their code in `x-amzn-ErrorType` and `{"message": ...}` in the body.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from trailbridge.aws.protocols import HttpAnswer, HttpRequest, rest

_JSON = "application/json"


def operation_name(service: ServiceModel, request: HttpRequest) -> str | None:
    """The operation whose method and `requestUri` the request matches most specifically."""
    return rest.operation_name(service, request)


def parse(operation: OperationModel, request: HttpRequest) -> dict[str, Any]:
    """The operation's parameters; a body that is not a JSON object counts as no body members."""
    return rest.parse(operation, request, _read_body)


def answer(operation: OperationModel, result: Mapping[str, Any], request_id: str) -> HttpAnswer:
    """The operation's answer, with the request id in `x-amzn-RequestId`."""
    written = rest.answer(operation, result, _write_body, _JSON)
    return HttpAnswer(written.status, {**written.headers, "x-amzn-RequestId": request_id}, written.body)


def error(
    service: ServiceModel,
    code: str,
    message: str,
    status: int,
    request_id: str,
    fields: Mapping[str, str] | None = None,
) -> HttpAnswer:
    """The code in `x-amzn-ErrorType` (where botocore looks first) and in `__type`, the message in `message`,
    `fields` as the error's other members."""
    body = {**(fields or {}), "__type": code, "message": message}
    headers = {"Content-Type": _JSON, "x-amzn-ErrorType": code, "x-amzn-RequestId": request_id}
    return HttpAnswer(status, headers, orjson.dumps(body))


def _read_body(shape: StructureShape, body: bytes) -> dict[str, Any] | None:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return _read_structure(shape, document) if isinstance(document, dict) else None


def _read_structure(shape: StructureShape, document: Mapping[str, Any]) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for name, member in shape.members.items():
        value = document.get(_name(member, name))
        if value is not None and member.serialization.get("location") not in rest.LOCATIONS:
            members[name] = _read(member, value)
    return members


def _read(shape: Shape, value: Any) -> Any:
    """A JSON value as the member's type; a value of the wrong form is kept for validation to name."""
    if isinstance(shape, StructureShape):
        if shape.is_document_type or not isinstance(value, dict):
            return value
        return _read_structure(shape, value)
    if isinstance(shape, ListShape):
        return [_read(shape.member, item) for item in value] if isinstance(value, list) else value
    if isinstance(shape, MapShape):
        return {key: _read(shape.value, item) for key, item in value.items()} if isinstance(value, dict) else value
    if isinstance(value, str) and shape.type_name not in ("string", "blob", "timestamp"):
        return rest.scalar(shape, value)  # floats may come as "NaN" or "Infinity"
    try:
        if shape.type_name == "timestamp":
            return rest.read_timestamp(value)
        if shape.type_name == "blob" and isinstance(value, str):
            return base64.b64decode(value, validate=True)
    except ValueError:
        return value
    return value


def _write_body(shape: StructureShape, value: Mapping[str, Any], name: str) -> bytes:
    """The members as a JSON object (the payload member's name is not part of it)."""
    return orjson.dumps(_write(shape, value))


def _write(shape: Shape, value: Any) -> Any:
    if isinstance(shape, StructureShape):
        if shape.is_document_type:
            return value
        return {
            _name(member, name): _write(member, value[name])
            for name, member in shape.members.items()
            if value.get(name) is not None and member.serialization.get("location") not in rest.LOCATIONS
        }
    if isinstance(shape, ListShape):
        return [_write(shape.member, item) for item in value]
    if isinstance(shape, MapShape):
        return {str(key): _write(shape.value, item) for key, item in value.items()}
    if shape.type_name == "timestamp" and isinstance(value, datetime):
        return rest.write_timestamp(value, shape.serialization.get("timestampFormat", "unixTimestamp"))
    if shape.type_name == "blob" and isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _name(shape: Shape, default: str) -> str:
    return str(shape.serialization.get("name") or default)
