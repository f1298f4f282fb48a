"""The AWS JSON protocols as the server speaks them (awsJson 1.0 and 1.1, and restJson for cloudtrail-data).

Requests are `POST /` with `X-Amz-Target: <targetPrefix>.<Operation>` and a JSON object body. The walking of
shapes lives in `trailbridge.aws.protocols.json`, the one implementation of the protocol; this module keeps
the server's view of a JSON service (its prefix, signing name, content type) and the query codes a service
that moved from the query protocol (SQS) supplies where botocore's model lacks them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.model import OperationModel, ServiceModel

from trailbridge.aws.protocols import json
from trailbridge.aws.protocols.json import WireError
from trailbridge.aws.validate import service_model

__all__ = ["JsonService", "WireError", "json_service", "parse_request", "serialize_error", "serialize_response"]


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
        return json.content_type(self.model)

    def operation(self, name: str) -> OperationModel:
        if name not in self.model.operation_names:
            raise WireError("UnknownOperationException", f"Operation {name} is not part of {self.name}.")
        return self.model.operation_model(name)

    def error_type(self, code: str) -> str:
        """`__type` as AWS writes it: awsJson 1.0 services qualify the code with their namespace."""
        return json.error_type(self.model, code)

    def error_headers(self, code: str, status: int) -> dict[str, str]:
        return json.query_error_headers(self.model, code, status, self.query_codes)


def json_service(name: str, query_codes: Mapping[str, str] | None = None) -> JsonService:
    return JsonService(name, service_model(name), dict(query_codes or {}))


def parse_request(op: OperationModel, body: bytes) -> dict[str, Any]:
    """The parameters of a request body, as boto3 would have passed them."""
    return json.parse_body(op, body)


def serialize_response(op: OperationModel, result: Mapping[str, Any]) -> bytes:
    return json.answer_body(op, result)


def serialize_error(service: JsonService, code: str, message: str) -> bytes:
    return json.error_body(service.model, code, message)
