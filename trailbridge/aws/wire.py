"""The AWS JSON protocols (awsJson 1.0 and 1.1, and restJson for cloudtrail-data), driven by botocore's models.

Requests are `POST /` with `X-Amz-Target: <targetPrefix>.<Operation>` and a JSON object body. Nothing here is
written per operation: a request body is read by walking the operation's input shape (timestamps and blobs
converted, members the shape does not name dropped, as AWS ignores them), and an answer is written by
walking the output shape (timestamps as epoch seconds, blobs as base64, only modelled members).
Errors are `{"__type": code, "message": text}`; services that moved from the query protocol (SQS) also
send the old code in `x-amzn-query-error`, which boto3 shows as the error code.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from trailbridge.aws.validate import service_model


class WireError(Exception):
    """A request the protocol layer refuses before any service sees it."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class JsonService:
    """One AWS service spoken over the JSON protocol."""

    name: str  # botocore's name: events, sqs, cloudtrail
    model: ServiceModel
    # The query protocol's error codes, for services that moved from it (SQS): code -> old code.
    query_codes: Mapping[str, str]

    @property
    def target_prefix(self) -> str:
        return str(self.model.metadata["targetPrefix"])

    @property
    def signing_name(self) -> str:
        """The service a SigV4 credential scope must name to call this one."""
        return str(self.model.metadata.get("signingName") or self.model.endpoint_prefix)

    @property
    def content_type(self) -> str:
        if self.model.metadata.get("protocol") == "rest-json":
            return "application/json"
        return f"application/x-amz-json-{self.model.metadata.get('jsonVersion', '1.0')}"

    def operation(self, name: str) -> OperationModel:
        if name not in self.model.operation_names:
            raise WireError("UnknownOperationException", f"Operation {name} is not part of {self.name}.")
        return self.model.operation_model(name)

    def error_type(self, code: str) -> str:
        """`__type` as AWS writes it: awsJson 1.0 services qualify the code with their namespace."""
        if self.model.metadata.get("jsonVersion") == "1.0" and self.query_codes:
            return f"com.amazonaws.{self.model.endpoint_prefix}#{code}"
        return code

    def error_headers(self, code: str, status: int) -> dict[str, str]:
        old = self.query_codes.get(code)
        if old is None:
            return {}
        return {"x-amzn-query-error": f"{old};{'Sender' if status < 500 else 'Receiver'}"}


def json_service(name: str, query_codes: Mapping[str, str] | None = None) -> JsonService:
    return JsonService(name, service_model(name), dict(query_codes or {}))


def parse_request(op: OperationModel, body: bytes) -> dict[str, Any]:
    """The parameters of a request body, as boto3 would have passed them."""
    if not body.strip():
        return {}
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise WireError("SerializationException", "The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise WireError("SerializationException", "The request body must be a JSON object.")
    shape = op.input_shape
    return _read_structure(shape, value) if shape is not None else {}


def _read(shape: Shape, value: Any) -> Any:
    """Convert one wire value; a value of the wrong JSON type is left for validation to name."""
    if value is None:
        return None
    if isinstance(shape, StructureShape):
        return _read_structure(shape, value) if isinstance(value, dict) else value
    if isinstance(shape, ListShape):
        return [_read(shape.member, item) for item in value] if isinstance(value, list) else value
    if isinstance(shape, MapShape):
        return {k: _read(shape.value, v) for k, v in value.items()} if isinstance(value, dict) else value
    if shape.type_name == "timestamp":
        return _timestamp(value)
    if shape.type_name == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:  # binascii.Error, or characters outside ASCII
            raise WireError("SerializationException", "A blob value is not valid base64.") from None
    return value


def _read_structure(shape: StructureShape, value: dict[str, Any]) -> dict[str, Any]:
    return {name: _read(shape.members[name], item) for name, item in value.items() if name in shape.members}


def _timestamp(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise WireError("SerializationException", f"Timestamp {value} is out of range.") from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise WireError("SerializationException", f"Timestamp '{value}' is not valid.") from None
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        try:
            parsed.astimezone(UTC)  # an offset can carry a time past year 1 or 9999, which nothing can write
        except (OverflowError, ValueError):
            raise WireError("SerializationException", f"Timestamp '{value}' is out of range.") from None
        return parsed
    return value


def serialize_response(op: OperationModel, result: Mapping[str, Any]) -> bytes:
    shape = op.output_shape
    return orjson.dumps(_write_structure(shape, result) if shape is not None else {})


def _write(shape: Shape, value: Any) -> Any:
    if isinstance(shape, StructureShape):
        return _write_structure(shape, value)
    if isinstance(shape, ListShape):
        return [_write(shape.member, item) for item in value]
    if isinstance(shape, MapShape):
        return {str(k): _write(shape.value, v) for k, v in value.items()}
    if shape.type_name == "timestamp":
        return value.timestamp() if isinstance(value, datetime) else value
    if shape.type_name == "blob" and isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    return value


def _write_structure(shape: StructureShape, value: Mapping[str, Any]) -> dict[str, Any]:
    members = shape.members
    return {name: _write(members[name], item) for name, item in value.items() if name in members and item is not None}


def serialize_error(service: JsonService, code: str, message: str) -> bytes:
    return orjson.dumps({"__type": service.error_type(code), "message": message})
