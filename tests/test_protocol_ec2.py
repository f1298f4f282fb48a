"""The EC2 protocol against botocore: its serializer into our parser, our answers and errors into its parser,
over every operation of EC2."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import botocore.session
import pytest
from botocore.model import OperationModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from tests.support.shapes import example
from trailbridge.aws.protocols import HttpRequest, ec2, protocol_for

_model = botocore.session.get_session().get_service_model("ec2")
OPERATIONS = _model.operation_names


def _operation(name: str) -> OperationModel:
    return _model.operation_model(name)


def _without_empty(value: Any) -> Any:
    """`value` less its empty structures and lists (`example` leaves some at its depth limit): a form has no
    key to carry one, so they cannot cross the wire, and botocore writes nothing for them."""
    if isinstance(value, dict):
        items = {key: _without_empty(item) for key, item in value.items()}
        return {key: item for key, item in items.items() if item not in ({}, [])}
    if isinstance(value, list):
        items = [_without_empty(item) for item in value]
        return [item for item in items if item not in ({}, [])]
    return value


@pytest.mark.parametrize("name", OPERATIONS)
def test_botocore_request_parses_to_the_same_parameters(name: str) -> None:
    op = _operation(name)
    params = _without_empty(example(op.input_shape)) if op.input_shape is not None else {}
    wire = create_serializer("ec2", include_validation=False).serialize_to_request(params, op)
    request = HttpRequest("POST", "/", (), wire["headers"], urlencode(wire["body"]).encode())
    assert ec2.operation_name(_model, request) == name
    assert ec2.parse(op, request) == params


@pytest.mark.parametrize("name", OPERATIONS)
def test_our_answer_parses_to_the_same_values(name: str) -> None:
    op = _operation(name)
    result = example(op.output_shape) if op.output_shape is not None else {}
    answer = ec2.answer(op, result, "req-1")
    assert answer.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<' + name.encode() + b"Response")
    parsed = create_parser("ec2").parse(
        {"status_code": answer.status, "headers": answer.headers, "body": answer.body}, op.output_shape
    )
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
    assert parsed == result


@pytest.mark.parametrize(("code", "status"), [("InvalidInstanceID.Malformed", 400), ("InternalError", 500)])
def test_our_error_parses_to_code_message_and_status(code: str, status: int) -> None:
    protocol = protocol_for(_model)
    assert protocol is ec2
    answer = protocol.error(_model, code, "bad <thing> & more", status, "req-2")
    assert answer.status == status
    parsed = create_parser("ec2").parse(
        {"status_code": answer.status, "headers": answer.headers, "body": answer.body}, None
    )
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == "bad <thing> & more"
    assert parsed["ResponseMetadata"]["RequestId"] == "req-2"


def test_names_are_query_names_or_capitalised_location_names_and_lists_are_numbered() -> None:
    op = _operation("DescribeInstances")  # Filters and InstanceIds have the locationNames Filter and InstanceId
    body = b"Action=DescribeInstances&InstanceId.1=i-1&InstanceId.2=i-2&Filter.1.Name=n&Filter.1.Value.1=v"
    params = ec2.parse(op, HttpRequest("POST", "/", (), {}, body))
    assert params == {"InstanceIds": ["i-1", "i-2"], "Filters": [{"Name": "n", "Values": ["v"]}]}
    dry = ec2.parse(_operation("DescribeRegions"), HttpRequest("GET", "/", (("DryRun", "true"),), {}, b""))
    assert dry == {"DryRun": True}


def test_the_answer_is_in_ec2s_namespace_with_items() -> None:
    answer = ec2.answer(_operation("DescribeRegions"), {"Regions": [{"RegionName": "r"}]}, "id")
    assert b'<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">' in answer.body
    assert b"<requestId>id</requestId><regionInfo><item><regionName>r</regionName></item></regionInfo>" in answer.body
