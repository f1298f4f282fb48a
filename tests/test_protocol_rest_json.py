"""The rest-json protocol against botocore: its serializer into our routing and parser, our answers and errors
into its parser, over every operation of lambda, eks and glacier, and of apigateway, lex-runtime and amp for
what those three lack (query-string maps, of lists in amp's; base64 JSON `jsonvalue` headers in lex-runtime).

The helpers here (a botocore request as our `HttpRequest`, our answer through botocore's parser, examples
fitted to what the REST protocols carry) serve the rest-xml tests too."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3
import botocore.session
import pytest
import urllib3
from botocore.awsrequest import AWSRequest, AWSResponse, HeadersDict, prepare_request_dict
from botocore.exceptions import ClientError
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from botocore.parsers import create_parser
from botocore.response import StreamingBody
from botocore.serialize import create_serializer
from urllib3 import HTTPHeaderDict

from tests.support.shapes import example
from trailbridge.aws.protocols import HttpAnswer, HttpRequest, chunked, protocol_for, rest_json

SERVICES = ("lambda", "eks", "glacier", "apigateway", "lex-runtime", "amp")
_session = botocore.session.get_session()
_models = {name: _session.get_service_model(name) for name in SERVICES}
OPERATIONS = [(name, op) for name in SERVICES for op in _models[name].operation_names]

# botocore writes epoch seconds in JSON bodies and RFC 822 dates in headers to the whole second
WHOLE_SECONDS = {"timestamp": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)}


def fitted(shape: StructureShape | None, *, answer: bool = False) -> dict[str, Any]:
    """An example of the shape, changed where HTTP itself cannot carry the example's value: header-map keys
    must be header names (no `<&>` or spaces), a status code must be an HTTP status, a host label must be a
    host name's label; and in answers a tagged union holds one member (botocore refuses more)."""
    if shape is None:
        return {}
    params: dict[str, Any] = example(shape, scalars=WHOLE_SECONDS)
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        if location == "headers" and name in params:
            params[name] = {"k1": "v1", "k2": "v2"}
        elif location == "statusCode":
            params[name] = 200
        elif member.serialization.get("hostLabel"):
            params[name] = "route-1"
    return _one_member_unions(shape, params) if answer else params


def _one_member_unions(shape: Shape, value: Any) -> Any:
    if isinstance(shape, StructureShape):
        items = {name: _one_member_unions(shape.members[name], item) for name, item in value.items()}
        return dict(list(items.items())[:1]) if shape.is_tagged_union else items
    if isinstance(shape, ListShape):
        return [_one_member_unions(shape.member, item) for item in value]
    if isinstance(shape, MapShape):
        return {key: _one_member_unions(shape.value, item) for key, item in value.items()}
    return value


def wire_request(protocol: str, op: OperationModel, params: dict[str, Any]) -> HttpRequest:
    """The request botocore sends for `params`, as the server hands it to a protocol: the path as sent
    (percent-encoded), the query decoded."""
    wire = create_serializer(protocol, include_validation=False).serialize_to_request(params, op)
    prepare_request_dict(wire, "https://example.com")
    url = urlsplit(wire["url"])
    headers = {key: str(value) for key, value in wire["headers"].items()} | {"Host": url.netloc}
    body = wire["body"] if isinstance(wire["body"], bytes) else str(wire["body"]).encode()
    return HttpRequest(wire["method"], url.path, tuple(parse_qsl(url.query, keep_blank_values=True)), headers, body)


def from_botocore(request: AWSRequest) -> HttpRequest:
    """A request a botocore client is about to send, as the server hands it to a protocol."""
    url = urlsplit(request.url)
    headers = {key: value.decode() if isinstance(value, bytes) else value for key, value in request.headers.items()}
    body = request.body.read() if hasattr(request.body, "read") else request.body or b""
    body = body.encode() if isinstance(body, str) else body
    return HttpRequest(request.method, url.path, tuple(parse_qsl(url.query, keep_blank_values=True)), headers, body)


def served_by(client: Any, protocol: Any, results: Mapping[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Answers the client's calls through `protocol` (routed, parsed, answered with `results[operation]`, an
    error answer for a result holding "Error"); the calls as we parsed them, for the test to look at."""
    # the server's own model: a client's is not (botocore rewrites S3's requestUris in it as it calls)
    service = _session.get_service_model(client.meta.service_model.service_name)
    calls: list[tuple[str, dict[str, Any]]] = []

    def serve(request: AWSRequest, **_: object) -> AWSResponse:
        incoming = from_botocore(request)
        headers, body = chunked.decode(incoming.headers, incoming.body)
        incoming = HttpRequest(incoming.method, incoming.path, incoming.query, headers, body)
        name = protocol.operation_name(service, incoming)
        op = service.operation_model(name)
        calls.append((name, protocol.parse(op, incoming)))
        result = results[name]
        if "Error" in result:
            answer = protocol.error(service, result["Error"], "it failed", result["Status"], "req-9")
        else:
            answer = protocol.answer(op, result, "req-9")
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(answer.body), headers=answer.headers, status=answer.status, preload_content=False
        )
        return AWSResponse(request.url, answer.status, HTTPHeaderDict(answer.headers), raw)

    client.meta.events.register("before-send", serve)
    return calls


def botocore_reads(protocol: str, op: OperationModel | None, answer: HttpAnswer) -> dict[str, Any]:
    """What a botocore client makes of the answer (a streaming body read out, as a caller would)."""
    streaming = op is not None and op.has_streaming_output
    body: Any = StreamingBody(io.BytesIO(answer.body), len(answer.body)) if streaming else answer.body
    response = {"status_code": answer.status, "headers": HeadersDict(answer.headers), "body": body}
    parsed: dict[str, Any] = create_parser(protocol).parse(response, op.output_shape if op else None)
    payload = op.output_shape.serialization.get("payload") if streaming and op and op.output_shape else None
    if payload in parsed:
        parsed[payload] = parsed[payload].read()
    return parsed


def event_stream_output(op: OperationModel) -> bool:
    shape = op.output_shape
    payload = shape.serialization.get("payload") if shape is not None else None
    return bool(payload and shape.members[payload].serialization.get("eventstream"))


def _operation(service: str, name: str) -> OperationModel:
    return _models[service].operation_model(name)


@pytest.mark.parametrize(("service", "name"), OPERATIONS)
def test_botocore_request_routes_to_its_operation(service: str, name: str) -> None:
    op = _operation(service, name)
    request = wire_request("rest-json", op, fitted(op.input_shape))
    assert rest_json.operation_name(_models[service], request) == name


@pytest.mark.parametrize(("service", "name"), OPERATIONS)
def test_botocore_request_parses_to_the_same_parameters(service: str, name: str) -> None:
    op = _operation(service, name)
    params = fitted(op.input_shape)
    assert rest_json.parse(op, wire_request("rest-json", op, params)) == params


# An event stream is not written (Lambda's InvokeWithResponseStream: see the test below it), so it is left
# out of the generic round trip.
ANSWERED = [(s, n) for s, n in OPERATIONS if not event_stream_output(_models[s].operation_model(n))]


@pytest.mark.parametrize(("service", "name"), ANSWERED)
def test_our_answer_parses_to_the_same_values(service: str, name: str) -> None:
    op = _operation(service, name)
    result = fitted(op.output_shape, answer=True)
    parsed = botocore_reads("rest-json", op, rest_json.answer(op, result, "req-1"))
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
    assert parsed == result


def test_an_event_stream_answer_is_refused_rather_than_faked() -> None:
    op = _operation("lambda", "InvokeWithResponseStream")
    with pytest.raises(NotImplementedError):
        rest_json.answer(op, {"EventStream": {}}, "req-1")


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(("code", "status"), [("ResourceNotFoundException", 404), ("ServiceException", 500)])
def test_our_error_parses_to_code_message_and_status(service: str, code: str, status: int) -> None:
    protocol = protocol_for(_models[service])
    assert protocol is not None
    answer = protocol.error(_models[service], code, 'bad "thing" & more', status, "req-2", {"Type": "User"})
    assert answer.status == status
    parsed = botocore_reads("rest-json", None, answer)
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == 'bad "thing" & more'
    assert parsed["ResponseMetadata"]["RequestId"] == "req-2"


def test_timestamps_in_the_body_are_epoch_seconds_with_milliseconds() -> None:
    op = _operation("eks", "DescribeCluster")
    stamp = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    answer = rest_json.answer(op, {"cluster": {"name": "c", "createdAt": stamp}}, "req-3")
    assert b'"createdAt":1704164645.678' in answer.body
    assert botocore_reads("rest-json", op, answer)["cluster"]["createdAt"] == stamp


def test_the_status_comes_from_the_model_or_a_status_code_member() -> None:
    lambda_ = _models["lambda"]
    assert rest_json.answer(lambda_.operation_model("CreateFunction"), {}, "r").status == 201
    assert rest_json.answer(lambda_.operation_model("Invoke"), {"StatusCode": 202}, "r").status == 202
    assert rest_json.answer(lambda_.operation_model("ListFunctions"), {}, "r").status == 200


def test_a_raw_payload_is_the_body() -> None:
    op = _operation("lambda", "Invoke")
    answer = rest_json.answer(op, {"StatusCode": 200, "Payload": b"\x00raw\xff"}, "r")
    assert answer.body == b"\x00raw\xff"
    assert answer.headers["Content-Type"] == "application/octet-stream"
    request = HttpRequest("POST", "/2015-03-31/functions/f/invocations", (), {}, b'{"not": "parsed"}')
    assert rest_json.parse(op, request) == {"FunctionName": "f", "Payload": b'{"not": "parsed"}'}


def test_a_request_of_no_operation_is_none() -> None:
    eks = _models["eks"]
    assert rest_json.operation_name(eks, HttpRequest("GET", "/nothing/here", (), {}, b"")) is None
    assert rest_json.operation_name(eks, HttpRequest("PATCH", "/clusters", (), {}, b"")) is None


def _client(service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url="http://localhost:9000",
        region_name="us-east-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
    )


def test_a_boto3_lambda_client_is_served() -> None:
    client = _client("lambda")
    results = {
        "Invoke": {"StatusCode": 200, "Payload": b'{"ok": 1}', "ExecutedVersion": "$LATEST"},
        "ListFunctions": {"Functions": [{"FunctionName": "f", "LastModified": "2024-01-02T03:04:05.000+0000"}]},
        "GetFunction": {"Error": "ResourceNotFoundException", "Status": 404},
    }
    calls = served_by(client, rest_json, results)
    invoked = client.invoke(FunctionName="arn:aws:lambda:us-east-1:1:function:f", Payload=b"{}", Qualifier="1")
    assert (invoked["StatusCode"], invoked["Payload"].read()) == (200, b'{"ok": 1}')
    assert client.list_functions(MaxItems=5)["Functions"][0]["FunctionName"] == "f"
    with pytest.raises(ClientError) as raised:
        client.get_function(FunctionName="nope")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert calls[0] == (
        "Invoke",
        {"FunctionName": "arn:aws:lambda:us-east-1:1:function:f", "Payload": b"{}", "Qualifier": "1"},
    )
    assert calls[1] == ("ListFunctions", {"MaxItems": 5})


def test_a_boto3_glacier_client_is_served_with_its_added_headers() -> None:
    client = _client("glacier")
    calls = served_by(client, rest_json, {"UploadArchive": {"location": "/-/vaults/v/archives/a", "archiveId": "a"}})
    uploaded = client.upload_archive(vaultName="v", body=b"archive bytes")
    assert uploaded["archiveId"] == "a"
    name, params = calls[0]
    assert (name, params["accountId"], params["vaultName"], params["body"]) == (
        "UploadArchive",
        "-",
        "v",
        b"archive bytes",
    )
    assert len(params["checksum"]) == 64  # the tree hash botocore adds


def test_a_header_map_may_have_no_prefix() -> None:
    op = _session.get_service_model("dataexchange").operation_model("SendApiAsset")
    assert op.output_shape.members["ResponseHeaders"].serialization["name"] == ""
    answer = rest_json.answer(op, {"ResponseHeaders": {"x-custom": "v"}, "Body": "b"}, "r")
    assert answer.headers["x-custom"] == "v"
