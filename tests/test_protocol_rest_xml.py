"""The rest-xml protocol against botocore: its serializer into our routing and parser, our answers and errors
into its parser, over every operation of s3, route53 and cloudfront."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import botocore.session
import pytest
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from tests.test_protocol_rest_json import botocore_reads, event_stream_output, fitted, wire_request
from trailbridge.aws.protocols import HttpRequest, protocol_for, rest_xml

SERVICES = ("s3", "route53", "cloudfront")
_session = botocore.session.get_session()
_models = {name: _session.get_service_model(name) for name in SERVICES}
OPERATIONS = [(name, op) for name in SERVICES for op in _models[name].operation_names]

# Operations no method, path, query or header tells apart: the same request means either, so the router
# answers one of the pair. The deprecated Lifecycle/Notification calls are the newer ones' old forms (the
# newer wins). (ListBuckets and ListDirectoryBuckets share `GET /` too: only ListDirectoryBuckets' own query
# keys, which the examples carry, tell it apart.)
AMBIGUOUS = {
    ("s3", "GetBucketLifecycle"): "GetBucketLifecycleConfiguration",
    ("s3", "PutBucketLifecycle"): "PutBucketLifecycleConfiguration",
    ("s3", "GetBucketNotification"): "GetBucketNotificationConfiguration",
    ("s3", "PutBucketNotification"): "PutBucketNotificationConfiguration",
}


def xml_fitted(shape: StructureShape | None, *, answer: bool = False) -> dict[str, Any]:
    """`fitted`, less the members whose element another member's items also use: S3's deprecated
    notification configurations have both `Event` and a flattened `Events` of `<Event>` items, which no
    reader can tell apart, so the examples keep the list only (and our reader gives the items to the list)."""
    value = fitted(shape, answer=answer)
    return _without_clashes(shape, value) if shape is not None else value


def _without_clashes(shape: Shape, value: Any) -> Any:
    if isinstance(shape, StructureShape):
        members = shape.members
        lists = {
            members[name].serialization.get("name", name) for name in members if isinstance(members[name], ListShape)
        }
        return {
            name: _without_clashes(shape.members[name], item)
            for name, item in value.items()
            if isinstance(shape.members[name], ListShape)
            or shape.members[name].serialization.get("name", name) not in lists
        }
    if isinstance(shape, ListShape):
        return [_without_clashes(shape.member, item) for item in value]
    if isinstance(shape, MapShape):
        return {key: _without_clashes(shape.value, item) for key, item in value.items()}
    return value


def _operation(service: str, name: str) -> OperationModel:
    return _models[service].operation_model(name)


@pytest.mark.parametrize(("service", "name"), OPERATIONS)
def test_botocore_request_routes_to_its_operation(service: str, name: str) -> None:
    op = _operation(service, name)
    request = wire_request("rest-xml", op, xml_fitted(op.input_shape))
    assert rest_xml.operation_name(_models[service], request) == AMBIGUOUS.get((service, name), name)


@pytest.mark.parametrize(("service", "name"), OPERATIONS)
def test_botocore_request_parses_to_the_same_parameters(service: str, name: str) -> None:
    op = _operation(service, name)
    params = xml_fitted(op.input_shape)
    assert rest_xml.parse(op, wire_request("rest-xml", op, params)) == params


@pytest.mark.parametrize(("service", "name"), OPERATIONS)
def test_our_answer_parses_to_the_same_values(service: str, name: str) -> None:
    op = _operation(service, name)
    if event_stream_output(op):
        pytest.skip("an event stream answer is not written (SelectObjectContent)")
    if (service, name) == ("s3", "GetBucketNotification"):
        pytest.skip("botocore's parser reads the `<Event>` items of `Events` into `Event` too (see xml_fitted)")
    result = xml_fitted(op.output_shape, answer=True)
    parsed = botocore_reads("rest-xml", op, rest_xml.answer(op, result, "req-1"))
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
    assert parsed == result


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(("code", "status"), [("NoSuchBucket", 404), ("InternalError", 500)])
def test_our_error_parses_to_code_message_and_status(service: str, code: str, status: int) -> None:
    protocol = protocol_for(_models[service])
    assert protocol is not None
    fields = {"BucketName": "my <bucket>"}
    answer = protocol.error(_models[service], code, "bad <thing> & more", status, "req-2", fields)
    assert answer.status == status
    parsed = botocore_reads("rest-xml", None, answer)
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == "bad <thing> & more"
    assert parsed["Error"]["BucketName"] == "my <bucket>"
    assert parsed["ResponseMetadata"]["RequestId"] == "req-2"


def test_s3_errors_are_a_bare_error_element_the_others_an_error_response() -> None:
    s3 = rest_xml.error(_models["s3"], "NoSuchKey", "gone", 404, "req-3")
    assert ElementTree.fromstring(s3.body).tag == "Error"
    assert s3.headers["x-amz-request-id"] == "req-3"
    route53 = rest_xml.error(_models["route53"], "NoSuchHostedZone", "gone", 404, "req-4")
    root = ElementTree.fromstring(route53.body)
    assert root.tag == "{https://route53.amazonaws.com/doc/2013-04-01/}ErrorResponse"
    assert root.findtext("{*}Error/{*}Type") == "Sender"
    assert route53.headers["x-amzn-RequestId"] == "req-4"


def test_answers_are_in_the_service_namespace_with_s3_request_ids() -> None:
    op = _operation("s3", "ListBuckets")
    answer = rest_xml.answer(op, {"Buckets": [{"Name": "b"}], "Owner": {"ID": "o"}}, "req-5")
    assert ElementTree.fromstring(answer.body).tag == "{http://s3.amazonaws.com/doc/2006-03-01/}ListBucketsOutput"
    assert answer.headers["Content-Type"] == "application/xml"
    assert answer.headers["x-amz-request-id"] == "req-5"
    assert "x-amz-id-2" in answer.headers
    assert botocore_reads("rest-xml", op, answer)["ResponseMetadata"]["HostId"] == answer.headers["x-amz-id-2"]


def test_an_object_body_is_written_raw_with_its_headers() -> None:
    op = _operation("s3", "GetObject")
    result = {"Body": b"\x00data\xff", "ContentType": "image/png", "Metadata": {"colour": "blue"}}
    answer = rest_xml.answer(op, result, "req-6")
    assert answer.body == b"\x00data\xff"
    assert answer.headers["Content-Type"] == "image/png"
    assert answer.headers["x-amz-meta-colour"] == "blue"


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "name"),
    [
        ("GET", "/b", (), {}, "ListObjects"),
        ("GET", "/b", (("list-type", "2"),), {}, "ListObjectsV2"),
        ("GET", "/b", (("list-type", "1"),), {}, "ListObjects"),
        ("GET", "/b", (("policy", ""),), {}, "GetBucketPolicy"),
        ("GET", "/b/", (), {}, "ListObjects"),
        ("GET", "/b/a/key", (), {}, "GetObject"),
        ("GET", "/b/folder/", (), {}, "GetObject"),
        ("GET", "/b/a/key", (("uploadId", "u"),), {}, "ListParts"),
        ("PUT", "/b/k", (), {}, "PutObject"),
        ("PUT", "/b/k", (), {"x-amz-copy-source": "/o/k"}, "CopyObject"),
        ("PUT", "/b/k", (("partNumber", "1"), ("uploadId", "u")), {}, "UploadPart"),
        ("PUT", "/b/k", (("partNumber", "1"), ("uploadId", "u")), {"X-Amz-Copy-Source": "/o/k"}, "UploadPartCopy"),
        ("DELETE", "/b/k", (("uploadId", "u"),), {}, "AbortMultipartUpload"),
        ("POST", "/b/k", (("uploads", ""),), {}, "CreateMultipartUpload"),
        ("HEAD", "/b", (), {}, "HeadBucket"),
        ("GET", "/", (), {}, "ListBuckets"),
        ("PATCH", "/b", (), {}, None),
    ],
)
def test_s3_requests_go_to_the_most_specific_operation(
    method: str, path: str, query: tuple[tuple[str, str], ...], headers: dict[str, str], name: str | None
) -> None:
    assert rest_xml.operation_name(_models["s3"], HttpRequest(method, path, query, headers, b"")) == name


def test_labels_are_url_decoded_and_the_greedy_key_keeps_its_slashes() -> None:
    op = _operation("s3", "GetObject")
    request = HttpRequest("GET", "/my-bucket/a/b%20c%2Fd%25", (("versionId", "v 1"),), {}, b"")
    assert rest_xml.parse(op, request) == {"Bucket": "my-bucket", "Key": "a/b c/d%", "VersionId": "v 1"}
    folder = HttpRequest("GET", "/my-bucket/folder/", (), {}, b"")
    assert rest_xml.parse(op, folder) == {"Bucket": "my-bucket", "Key": "folder/"}
    bucket = HttpRequest("GET", "/my-bucket/", (), {}, b"")
    assert rest_xml.parse(_operation("s3", "ListObjects"), bucket) == {"Bucket": "my-bucket"}
