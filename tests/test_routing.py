"""Routing: botocore's own requests of many services reach the service and protocol they were made for."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import botocore.session
import pytest
from botocore.serialize import create_serializer

from trailbridge.aws.protocols import HttpRequest
from trailbridge.aws.protocols.routing import Route, UnknownServiceError, index, route

_session = botocore.session.get_session()


def _request(service: str, operation: str, protocol: str, params: dict[str, Any] | None = None) -> HttpRequest:
    """The request botocore's serializer makes for the call, as the server receives it."""
    model = _session.get_service_model(service)
    wire = create_serializer(protocol, include_validation=False).serialize_to_request(
        params or {}, model.operation_model(operation)
    )
    body = wire["body"]
    if isinstance(body, dict):  # the query protocols give the form's pairs
        body = urlencode(body)
    headers = {k.lower(): v for k, v in wire["headers"].items()}
    if protocol in ("query", "ec2"):
        headers["content-type"] = "application/x-www-form-urlencoded; charset=utf-8"
    query = tuple(wire["query_string"].items()) if isinstance(wire["query_string"], dict) else ()
    return HttpRequest(
        wire["method"], wire["url_path"], query, headers, body if isinstance(body, bytes) else body.encode()
    )


@pytest.mark.parametrize(
    ("service", "operation", "protocol", "scope"),
    [
        ("events", "PutRule", "json", "events"),
        ("dynamodb", "CreateTable", "json", "dynamodb"),
        ("sqs", "SendMessage", "json", "sqs"),
        ("cloudwatch", "PutMetricData", "json", "monitoring"),
        ("cloudwatch", "PutMetricData", "query", "monitoring"),
        ("cloudwatch", "ListMetrics", "smithy-rpc-v2-cbor", "monitoring"),
        ("sts", "GetCallerIdentity", "query", "sts"),
        ("sts", "GetCallerIdentity", "query", None),
        ("iam", "CreateUser", "query", "iam"),
        ("sns", "Publish", "query", None),
        ("ec2", "RunInstances", "ec2", "ec2"),
        ("ec2", "DescribeInstances", "ec2", None),
        ("rds", "DeleteDBInstance", "query", "rds"),
        ("timestream-write", "WriteRecords", "json", "timestream"),
        ("timestream-query", "Query", "json", "timestream"),
    ],
)
def test_a_request_reaches_its_service_and_protocol(
    service: str, operation: str, protocol: str, scope: str | None
) -> None:
    assert route(_request(service, operation, protocol), scope) == Route(service, protocol)


def test_docdb_and_neptune_calls_reach_rds_whose_endpoint_and_api_version_they_share() -> None:
    for service in ("neptune", "docdb", "rds"):
        assert route(_request(service, "CreateDBCluster", "query"), "rds") == Route("rds", "query")


def test_nothing_fits_is_an_unknown_service() -> None:
    with pytest.raises(UnknownServiceError, match="X-Amz-Target"):
        route(HttpRequest("POST", "/", (), {"x-amz-target": "Nope_2020.Do"}, b"{}"), None)
    with pytest.raises(UnknownServiceError, match="Action 'NoSuchAction'"):
        route(HttpRequest("GET", "/", (("Action", "NoSuchAction"),), {}, b""), None)
    with pytest.raises(UnknownServiceError, match="signed as 'nosuchservice'"):
        route(HttpRequest("GET", "/x", (), {}, b""), "nosuchservice")


def test_the_index_knows_every_botocore_service_from_the_head_of_its_model() -> None:
    listed = {service.name: service for service in index()}
    assert set(listed) == set(_session.get_available_services())
    for name in ("s3", "ec2", "cloudwatch", "lambda", "sts", "events"):
        metadata = _session.get_service_model(name).metadata
        assert listed[name].signing_name == metadata.get("signingName", metadata["endpointPrefix"])
        assert listed[name].target_prefix == metadata.get("targetPrefix")
        assert listed[name].protocols == tuple(metadata.get("protocols") or [metadata["protocol"]])
