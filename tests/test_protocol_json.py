"""The JSON protocol against botocore: its serializer into our parser, our answers and errors into its parser,
over every operation of DynamoDB, EventBridge, SQS and CloudWatch Logs (awsJson 1.0 and 1.1), CloudTrail and
KMS (awsJson 1.1)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import botocore.session
import orjson
import pytest
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from tests.support.shapes import example
from trailbridge.aws.protocols import HttpRequest, protocol_for
from trailbridge.aws.protocols import json as json_protocol
from trailbridge.aws.protocols.json import WireError

SERVICES = ("dynamodb", "events", "sqs", "logs", "cloudtrail", "kms")
_session = botocore.session.get_session()
_models = {name: _session.get_service_model(name) for name in SERVICES}
OPERATIONS = [(name, op) for name in SERVICES for op in _models[name].operation_names]
# botocore's serializer writes timestamps as whole epoch seconds, so a request cannot carry milliseconds.
WHOLE_SECONDS = {"timestamp": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)}


def _operation(service: str, name: str) -> OperationModel:
    return _models[service].operation_model(name)


def one_member_unions(shape: Shape, value: Any) -> Any:
    """`value` with each tagged union keeping its first member only: botocore's parsers refuse a union with
    more than one member set, and `example` fills them all."""
    if isinstance(shape, StructureShape):
        members = {name: one_member_unions(shape.members[name], item) for name, item in value.items()}
        return dict(list(members.items())[:1]) if shape.is_tagged_union else members
    if isinstance(shape, ListShape):
        return [one_member_unions(shape.member, item) for item in value]
    if isinstance(shape, MapShape):
        return {key: one_member_unions(shape.value, item) for key, item in value.items()}
    return value


def result_for(op: OperationModel) -> dict[str, Any]:
    """An answer filling every member of the output shape, unions holding one member."""
    shape = op.output_shape
    return one_member_unions(shape, example(shape)) if shape is not None else {}


@pytest.mark.parametrize(("service", "name"), OPERATIONS)
def test_botocore_request_parses_to_the_same_parameters(service: str, name: str) -> None:
    op = _operation(service, name)
    params = example(op.input_shape, scalars=WHOLE_SECONDS) if op.input_shape is not None else {}
    wire = create_serializer("json", include_validation=False).serialize_to_request(params, op)
    request = HttpRequest(wire["method"], wire["url_path"], (), wire["headers"], wire["body"])
    assert json_protocol.operation_name(_models[service], request) == name
    assert json_protocol.parse(op, request) == params


# Event-stream answers (Logs' StartLiveTail, GetLogObject) are framed as AWS event streams, not a JSON body.
ANSWERED = [(s, n) for s, n in OPERATIONS if not _operation(s, n).has_event_stream_output]


@pytest.mark.parametrize(("service", "name"), ANSWERED)
def test_our_answer_parses_to_the_same_values(service: str, name: str) -> None:
    op = _operation(service, name)
    result = result_for(op)
    answer = json_protocol.answer(op, result, "req-1")
    assert answer.headers["Content-Type"] == f"application/x-amz-json-{_models[service].metadata['jsonVersion']}"
    parsed = create_parser("json").parse(
        {"status_code": answer.status, "headers": answer.headers, "body": answer.body}, op.output_shape
    )
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
    assert parsed == result


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(("code", "status"), [("ValidationException", 400), ("InternalFailure", 500)])
def test_our_error_parses_to_code_message_and_status(service: str, code: str, status: int) -> None:
    protocol = protocol_for(_models[service])
    assert protocol is json_protocol
    answer = protocol.error(_models[service], code, 'bad "thing" \u00e9', status, "req-2")
    assert answer.status == status
    parsed = create_parser("json").parse(
        {"status_code": answer.status, "headers": answer.headers, "body": answer.body}, None
    )
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == 'bad "thing" \u00e9'
    assert parsed["ResponseMetadata"]["RequestId"] == "req-2"


def test_awsjson_1_0_qualifies_the_code_and_1_1_does_not() -> None:
    sqs = orjson.loads(json_protocol.error(_models["sqs"], "QueueDoesNotExist", "m", 400, "r").body)
    events = orjson.loads(json_protocol.error(_models["events"], "ResourceNotFoundException", "m", 400, "r").body)
    assert sqs["__type"] == "com.amazonaws.sqs#QueueDoesNotExist"
    assert events["__type"] == "ResourceNotFoundException"


def test_a_query_compatible_service_names_its_old_code() -> None:
    cloudwatch = _session.get_service_model("cloudwatch")  # its model names the query codes
    answer = json_protocol.error(cloudwatch, "DashboardNotFoundError", "m", 404, "r")
    parsed = create_parser("json").parse({"status_code": 404, "headers": answer.headers, "body": answer.body}, None)
    assert parsed["Error"]["Code"] == "ResourceNotFound"
    assert parsed["Error"]["QueryErrorCode"] == "DashboardNotFoundError"
    assert parsed["Error"]["Type"] == "Sender"
    given = json_protocol.query_error_headers(_models["sqs"], "QueueDoesNotExist", 500, {"QueueDoesNotExist": "Old"})
    assert given == {"x-amzn-query-error": "Old;Receiver"}
    assert json_protocol.query_error_headers(_models["events"], "X", 400, {"X": "Old"}) == {}


def test_the_error_carries_its_own_members() -> None:
    answer = json_protocol.error(_models["dynamodb"], "X", "m", 400, "r", {"Item": "i"})
    assert orjson.loads(answer.body)["Item"] == "i"


def test_the_target_names_the_operation_only_with_the_service_prefix() -> None:
    sqs = _models["sqs"]

    def target(value: str) -> str | None:
        return json_protocol.operation_name(sqs, HttpRequest("POST", "/", (), {"x-amz-target": value}, b"{}"))

    assert target("AmazonSQS.SendMessage") == "SendMessage"
    assert target("AWSEvents.SendMessage") is None
    assert target("AmazonSQS.NoSuchOperation") is None
    assert json_protocol.operation_name(sqs, HttpRequest("POST", "/", (), {}, b"{}")) is None


def _nested_item(depth: int) -> bytes:
    """A DynamoDB item whose attribute holds a map `depth` levels deep (within orjson's nesting limit)."""
    return b'{"TableName": "t", "Item": {"k": ' + b'{"M": {"k": ' * depth + b'{"S": "s"}' + b"}}" * depth + b"}}"


@pytest.mark.parametrize("body", [b"not json", b"[1]", _nested_item(500)])
def test_a_body_that_is_not_a_json_object_or_nests_too_deeply_is_refused(body: bytes) -> None:
    op = _operation("dynamodb", "PutItem")
    with pytest.raises(WireError) as caught:
        json_protocol.parse(op, HttpRequest("POST", "/", (), {}, body))
    assert caught.value.code == "SerializationException"


def test_special_floats_cross_by_name() -> None:
    shape = _session.get_service_model("cloudwatch").shape_for("DatapointValue")  # a double
    assert json_protocol.write_scalar(shape, float("inf")) == "Infinity"
    assert json_protocol.read_scalar(shape, "-Infinity") == float("-inf")


def test_a_document_crosses_as_it_is() -> None:
    identitystore = _session.get_service_model("identitystore")  # AttributeValue is a document
    op = identitystore.operation_model("UpdateUser")
    params = {
        "IdentityStoreId": "d-1",
        "UserId": "u",
        "Operations": [{"AttributePath": "name", "AttributeValue": {"given": ["a", 1, None], "n": {"x": True}}}],
    }
    wire = create_serializer("json", include_validation=False).serialize_to_request(params, op)
    assert json_protocol.parse(op, HttpRequest("POST", "/", (), wire["headers"], wire["body"])) == params
    document = identitystore.shape_for("AttributeValue")
    assert json_protocol.write_structure(document, {"any": [1]}, json_protocol.write_scalar) == {"any": [1]}
