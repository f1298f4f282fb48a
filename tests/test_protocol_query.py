"""The query protocol against botocore: its serializer into our parser, our answers and errors into its parser."""

from __future__ import annotations

from urllib.parse import urlencode

import botocore.session
import pytest
from botocore.model import OperationModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from tests.support.shapes import example
from trailbridge.aws.protocols import HttpRequest, protocol_for, query

SERVICES = ("sts", "sns", "iam", "cloudformation")
_session = botocore.session.get_session()
_models = {name: _session.get_service_model(name) for name in SERVICES}
OPERATIONS = [(name, op) for name in SERVICES for op in _models[name].operation_names]


def _operation(service: str, name: str) -> OperationModel:
    return _models[service].operation_model(name)


@pytest.mark.parametrize(("service", "name"), OPERATIONS)
def test_botocore_request_parses_to_the_same_parameters(service: str, name: str) -> None:
    op = _operation(service, name)
    params = example(op.input_shape) if op.input_shape is not None else {}
    wire = create_serializer("query", include_validation=False).serialize_to_request(params, op)
    request = HttpRequest("POST", "/", (), {}, urlencode(wire["body"]).encode())
    assert query.parse(op, request) == params


@pytest.mark.parametrize(("service", "name"), OPERATIONS)
def test_our_answer_parses_to_the_same_values(service: str, name: str) -> None:
    op = _operation(service, name)
    result = example(op.output_shape) if op.output_shape is not None else {}
    answer = query.answer(op, result, "req-1")
    parsed = create_parser("query").parse(
        {"status_code": answer.status, "headers": answer.headers, "body": answer.body}, op.output_shape
    )
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
    assert parsed == result


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(("code", "status"), [("ValidationError", 400), ("InternalFailure", 500)])
def test_our_error_parses_to_code_message_and_status(service: str, code: str, status: int) -> None:
    protocol = protocol_for(_models[service])
    assert protocol is not None
    answer = protocol.error(_models[service], code, "bad <thing> & more", status, "req-2")
    assert answer.status == status
    parsed = create_parser("query").parse(
        {"status_code": answer.status, "headers": answer.headers, "body": answer.body}, None
    )
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == "bad <thing> & more"
    assert parsed["ResponseMetadata"]["RequestId"] == "req-2"


def test_the_operation_is_the_action_of_the_query_or_the_body() -> None:
    sts = _models["sts"]
    assert query.operation_name(sts, HttpRequest("GET", "/", (("Action", "GetCallerIdentity"),), {}, b"")) == (
        "GetCallerIdentity"
    )
    assert query.operation_name(sts, HttpRequest("POST", "/", (), {}, b"Action=AssumeRole&Version=2011-06-15")) == (
        "AssumeRole"
    )
    assert query.operation_name(sts, HttpRequest("POST", "/", (), {}, b"Action=RunInstances")) is None
    assert query.operation_name(sts, HttpRequest("POST", "/", (), {}, b"")) is None


def test_characters_xml_cannot_hold_become_replacement_characters() -> None:
    answer = query.error(_models["sns"], "AuthorizationError", "no resource: \x1f\x00\ud800 <&>", 403, "req")
    parsed = create_parser("query").parse({"status_code": 403, "headers": answer.headers, "body": answer.body}, None)
    assert parsed["Error"]["Message"] == "no resource: \ufffd\ufffd\ufffd <&>"
