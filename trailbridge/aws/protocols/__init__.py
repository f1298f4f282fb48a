"""One interface over the AWS wire protocols, each a module driven by botocore's service models.

A protocol module reads an operation's parameters from an HTTP request and writes its answers and errors;
`protocol_for` picks the module a service's model names in its `protocol` metadata.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol, cast
from urllib.parse import parse_qsl

from botocore.model import OperationModel, ServiceModel


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request as a protocol reads it."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]  # the query string's pairs, in order, decoded
    headers: Mapping[str, str]
    body: bytes

    @cached_property
    def body_pairs(self) -> tuple[tuple[str, str], ...]:
        """The body's pairs read as a form (`a=1&b=`), in order, blank values kept: read once, for routing,
        the operation's name and its parameters alike."""
        return tuple(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


@dataclass(frozen=True)
class HttpAnswer:
    """An HTTP answer as a protocol writes it."""

    status: int
    headers: dict[str, str]
    body: bytes


class WireProtocol(Protocol):
    """What every protocol module provides, as module-level functions."""

    def operation_name(self, service: ServiceModel, request: HttpRequest) -> str | None:
        """The name of the operation the request calls (`Action`, `X-Amz-Target`, the method and path, ...), or
        None when it names none of the service's operations."""
        ...

    def parse(self, operation: OperationModel, request: HttpRequest) -> dict[str, Any]:
        """The operation's parameters, as boto3 would have passed them."""
        ...

    def answer(self, operation: OperationModel, result: Mapping[str, Any], request_id: str) -> HttpAnswer:
        """The operation's successful answer carrying `result`, the output shape's members."""
        ...

    def error(
        self,
        service: ServiceModel,
        code: str,
        message: str,
        status: int,
        request_id: str,
        fields: Mapping[str, str] | None = None,
    ) -> HttpAnswer:
        """An error answer with AWS's code and HTTP status; `fields` are the error's own members where the
        protocol carries them (S3's `BucketName`, `Key`, `Resource`)."""
        ...


# botocore's protocol name -> the module that speaks it
_MODULES = {
    "json": "trailbridge.aws.protocols.json",
    "query": "trailbridge.aws.protocols.query",
    "ec2": "trailbridge.aws.protocols.ec2",
    "rest-json": "trailbridge.aws.protocols.rest_json",
    "rest-xml": "trailbridge.aws.protocols.rest_xml",
    "smithy-rpc-v2-cbor": "trailbridge.aws.protocols.cbor",
}


def protocol_for(service: ServiceModel) -> WireProtocol | None:
    """The module speaking the service's protocol, or None for a protocol botocore does not name."""
    return protocol_named(str(service.protocol)) if str(service.protocol) in _MODULES else None


def protocol_named(name: str) -> WireProtocol:
    """The module speaking the protocol botocore calls `name` (a request may speak any of a service's
    `protocols`: CloudWatch's clients send CBOR, JSON or query); KeyError for a name botocore does not use."""
    return cast(WireProtocol, importlib.import_module(_MODULES[name]))
