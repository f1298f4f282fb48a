"""A parsed call to an HTTP request moto reads, and moto's answer back to the call's result, both with
botocore's own serializer and parser, so no AWS shape is written by hand here.

The request goes to the service's real AWS endpoint for the region (from botocore's endpoint rule set),
because moto routes by hostname; the account travels in moto's `x-moto-account-id` header and the caller's
access key in an unsigned SigV4 `Authorization` header, which is where moto reads both. moto does not read
`smithy-rpc-v2-cbor` (CloudWatch and others list it first), so the first protocol of the model that moto
reads is used: the one boto3 would send if it had no CBOR.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSRequest, HeadersDict, prepare_request_dict
from botocore.endpoint_provider import EndpointProvider
from botocore.exceptions import DataNotFoundError, EndpointResolutionError
from botocore.loaders import create_loader
from botocore.model import OperationModel
from botocore.parsers import ResponseParser, ResponseParserError, create_parser
from botocore.serialize import Serializer, create_serializer

from trailbridge.services.base import ServiceError
from trailbridge.services.moto.backends import MOTO_BACKENDS, Answer, module_name

MOTO_PROTOCOLS = ("json", "query", "ec2", "rest-json", "rest-xml")
_LOADER = create_loader()


@cache
def _metadata(service: str) -> Mapping[str, Any]:
    return _LOADER.load_service_model(service, "service-2")["metadata"]  # type: ignore[no-any-return]


def protocol(metadata: Mapping[str, Any]) -> str | None:
    """The first of the model's protocols that moto reads."""
    offered = metadata.get("protocols") or [metadata["protocol"]]
    return next((name for name in offered if name in MOTO_PROTOCOLS), None)


@cache
def endpoint(service: str, region: str) -> str:
    """The service's AWS endpoint in `region`, as boto3 would resolve it without FIPS or dual-stack; the
    classic `https://<prefix>.<region>.amazonaws.com` when the rule set needs more (S3 Control's account)."""
    try:
        rules = _LOADER.load_service_model(service, "endpoint-rule-set-1")
        provider = EndpointProvider(rules, _LOADER.load_data("partitions"))
        return str(provider.resolve_endpoint(Region=region, UseFIPS=False, UseDualStack=False).url)
    except (DataNotFoundError, EndpointResolutionError):
        return f"https://{_metadata(service)['endpointPrefix']}.{region}.amazonaws.com"


@cache
def served(service: str) -> bool:
    """moto has a backend of this service's own (not only one for a sibling on the same host: moto answers
    `cloudhsm` v1's host with `cloudhsmv2`, `docdb`'s with `rds`) and reads one of the service's protocols."""
    try:
        metadata = _metadata(service)
    except DataNotFoundError:
        return False
    return protocol(metadata) is not None and module_name(service) in MOTO_BACKENDS


@cache
def _serializer(name: str) -> Serializer:
    return create_serializer(name, include_validation=False)


@cache
def _parser(name: str) -> ResponseParser:
    return create_parser(name)


def request(
    operation: OperationModel, params: Mapping[str, Any], account: str, region: str, access_key: str
) -> AWSPreparedRequest:
    """The HTTP request boto3 would send for this call, addressed to moto as `account`. `params` are
    assumed valid against the input shape (the server validates them when it parses the call)."""
    service = operation.service_model.service_name
    serialized = _serializer(protocol(_metadata(service)) or "").serialize_to_request(dict(params), operation)
    prepare_request_dict(serialized, endpoint(service, region))
    headers = serialized["headers"]
    headers["x-moto-account-id"] = account
    headers["Authorization"] = _authorization(access_key, region, operation.service_model.signing_name)
    return AWSRequest(serialized["method"], serialized["url"], headers, serialized["body"]).prepare()


def _authorization(access_key: str, region: str, signing_name: str) -> str:
    """A SigV4 header with the caller's credential scope; moto reads it and checks no signature."""
    day = datetime.now(UTC).strftime("%Y%m%d")
    scope = f"{access_key}/{day}/{region}/{signing_name}/aws4_request"
    return f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature={'0' * 64}"


def result(operation: OperationModel, answer: Answer) -> dict[str, Any]:
    """The output shape's members of moto's answer, or its error as a ServiceError with moto's status."""
    status, headers, body = answer
    name = protocol(_metadata(operation.service_model.service_name)) or ""
    parsed = _parse(name, status, headers, body, operation)
    parsed.pop("ResponseMetadata", None)
    if status >= 300:
        error = parsed.get("Error", {})
        raise ServiceError(error.get("Code") or str(status), error.get("Message") or "", status)
    return parsed


def _parse(name: str, status: int, headers: dict[str, str], body: bytes, operation: OperationModel) -> dict[str, Any]:
    """botocore's parse of moto's answer. Some of moto's errors are JSON whatever the protocol (its
    InvalidToken for a bad NextToken, in query services too), so an error that does not parse in the
    service's protocol is read as JSON."""
    response = {"status_code": status, "headers": HeadersDict(headers), "body": body}
    try:
        return _parser(name).parse(response, operation.output_shape)  # type: ignore[no-any-return]
    except ResponseParserError as exc:
        if status >= 300 and name != "json":
            return _parse("json", status, headers, body, operation)
        raise ServiceError("InternalFailure", f"moto's answer does not parse: {exc}", 500) from exc
