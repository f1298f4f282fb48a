"""The Smithy RPC v2 CBOR protocol against botocore: its serializer into our parser, our answers and errors into
its parser, over every operation of every service botocore serves by CBOR."""

from __future__ import annotations

from datetime import UTC, datetime

import botocore.session
import cbor2
import pytest
from botocore.model import OperationModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from tests.support.shapes import example
from tests.test_protocol_json import result_for
from trailbridge.aws.protocols import HttpRequest, cbor, protocol_for
from trailbridge.aws.protocols.json import WireError

_session = botocore.session.get_session()
SERVICES = tuple(
    name
    for name in _session.get_available_services()
    if _session.get_service_model(name).protocol == "smithy-rpc-v2-cbor"
)
_models = {name: _session.get_service_model(name) for name in SERVICES}
OPERATIONS = [(name, op) for name in SERVICES for op in _models[name].operation_names]
# botocore's serializer writes timestamps as whole epoch seconds, so a request cannot carry milliseconds.
WHOLE_SECONDS = {"timestamp": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)}


def _operation(service: str, name: str) -> OperationModel:
    return _models[service].operation_model(name)


def test_the_services_are_those_botocore_serves_by_cbor() -> None:
    assert {"cloudwatch", "gamelift", "snowball", "compute-optimizer"} <= set(SERVICES)


@pytest.mark.parametrize(("service", "name"), OPERATIONS)
def test_botocore_request_parses_to_the_same_parameters(service: str, name: str) -> None:
    op = _operation(service, name)
    params = example(op.input_shape, scalars=WHOLE_SECONDS) if op.input_shape is not None else {}
    wire = create_serializer("smithy-rpc-v2-cbor", include_validation=False).serialize_to_request(params, op)
    assert wire["headers"]["smithy-protocol"] == "rpc-v2-cbor"
    request = HttpRequest(wire["method"], wire["url_path"], (), wire["headers"], wire["body"])
    assert cbor.operation_name(_models[service], request) == name
    assert cbor.parse(op, request) == params


@pytest.mark.parametrize(("service", "name"), OPERATIONS)
def test_our_answer_parses_to_the_same_values(service: str, name: str) -> None:
    op = _operation(service, name)
    result = result_for(op)
    answer = cbor.answer(op, result, "req-1")
    parsed = create_parser("smithy-rpc-v2-cbor").parse(
        {"status_code": answer.status, "headers": answer.headers, "body": answer.body}, op.output_shape
    )
    metadata = parsed.pop("ResponseMetadata")
    # botocore reads the request id of an answer only when the operation has an output shape
    assert metadata.get("RequestId") == ("req-1" if op.output_shape is not None else None)
    assert parsed == result


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(("code", "status"), [("ValidationException", 400), ("InternalFailure", 500)])
def test_our_error_parses_to_code_message_and_status(service: str, code: str, status: int) -> None:
    protocol = protocol_for(_models[service])
    assert protocol is cbor
    answer = protocol.error(_models[service], code, "bad <thing> \u00e9", status, "req-2", {"Reason": "r"})
    assert answer.status == status
    parsed = create_parser("smithy-rpc-v2-cbor").parse(
        {"status_code": answer.status, "headers": answer.headers, "body": answer.body}, None
    )
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == "bad <thing> \u00e9"
    assert parsed["ResponseMetadata"]["RequestId"] == "req-2"
    assert cbor2.loads(answer.body)["Reason"] == "r"


def test_cloudwatch_errors_name_the_query_code() -> None:
    answer = cbor.error(_models["cloudwatch"], "DashboardNotFoundError", "m", 404, "r")
    parsed = create_parser("smithy-rpc-v2-cbor").parse(
        {"status_code": 404, "headers": answer.headers, "body": answer.body}, None
    )
    assert (parsed["Error"]["Code"], parsed["Error"]["QueryErrorCode"]) == (
        "ResourceNotFound",
        "DashboardNotFoundError",
    )


def test_the_path_names_the_service_and_the_operation() -> None:
    cloudwatch = _models["cloudwatch"]

    def path(value: str) -> str | None:
        return cbor.operation_name(cloudwatch, HttpRequest("POST", value, (), {}, b""))

    assert path("/service/GraniteServiceVersion20100801/operation/ListMetrics") == "ListMetrics"
    assert path("/service/GameLift/operation/ListMetrics") is None
    assert path("/service/GraniteServiceVersion20100801/operation/NoSuchOperation") is None
    assert path("/") is None


def test_timestamps_are_tag_1_and_blobs_byte_strings() -> None:
    op = _operation("cloudwatch", "GetMetricWidgetImage")  # answers MetricWidgetImage, a blob
    assert cbor2.loads(cbor.answer(op, {"MetricWidgetImage": b"\x89PNG"}, "r").body) == {
        "MetricWidgetImage": b"\x89PNG"
    }
    when = datetime(2024, 1, 2, tzinfo=UTC)
    op = _operation("cloudwatch", "DescribeAlarmHistory")
    body = cbor.answer(op, {"AlarmHistoryItems": [{"Timestamp": when}]}, "r").body
    assert bytes.fromhex("c11a65935200") in body  # tag 1, then the 32-bit integer 1704153600
    untagged = cbor.parse(op, HttpRequest("POST", "/", (), {}, cbor2.dumps({"StartDate": 1704153600})))
    assert untagged == {"StartDate": when}


def test_an_operation_without_output_answers_no_body() -> None:
    op = next(
        _operation(s, n) for s, n in OPERATIONS if _operation(s, n).output_shape is None
    )  # CloudWatch's DeleteAlarms, among others
    answer = cbor.answer(op, {}, "r")
    assert (answer.status, answer.body) == (200, b"")


@pytest.mark.parametrize("body", [b"\xff\xff", cbor2.dumps([1])])
def test_a_body_that_is_not_a_cbor_map_is_refused(body: bytes) -> None:
    with pytest.raises(WireError) as caught:
        cbor.parse(_operation("cloudwatch", "ListMetrics"), HttpRequest("POST", "/", (), {}, body))
    assert caught.value.code == "SerializationException"


def test_a_body_that_contains_itself_is_refused() -> None:
    steps: list[object] = []
    steps.append({"executionBlockConfiguration": {"parallelConfig": {"steps": steps}}})  # Steps hold Steps
    body = cbor2.dumps({"workflows": [{"steps": steps}]}, value_sharing=True)
    with pytest.raises(WireError) as caught:
        cbor.parse(_operation("arc-region-switch", "CreatePlan"), HttpRequest("POST", "/", (), {}, body))
    assert caught.value.code == "SerializationException"
