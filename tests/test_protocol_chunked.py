"""aws-chunked upload bodies: what botocore really sends for PutObject and UploadPart, decoded and parsed."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import boto3
import botocore.session
import pytest
import urllib3
from botocore.awsrequest import AWSRequest, AWSResponse

from tests.test_protocol_rest_json import from_botocore
from trailbridge.aws.protocols import HttpRequest, chunked, rest_xml
from trailbridge.errors import InvalidInputError


def _sent(endpoint: str, call: Callable[[Any], object]) -> HttpRequest:
    """The request a real boto3 S3 client sends to `endpoint`, caught before it leaves (and answered 200)."""
    caught: list[HttpRequest] = []

    def catch(request: AWSRequest, **_: object) -> AWSResponse:
        caught.append(from_botocore(request))
        raw = urllib3.HTTPResponse(body=io.BytesIO(b""), status=200, preload_content=False)
        return AWSResponse(request.url, 200, {}, raw)

    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    client.meta.events.register("before-send", catch)
    call(client)
    return caught[0]


def _parsed(request: HttpRequest) -> tuple[str | None, dict[str, Any]]:
    headers, body = chunked.decode(request.headers, request.body)
    decoded = HttpRequest(request.method, request.path, request.query, headers, body)
    s3 = botocore.session.get_session().get_service_model("s3")
    name = rest_xml.operation_name(s3, decoded)
    return name, rest_xml.parse(s3.operation_model(name), decoded) if name else {}


def test_botocore_sends_put_object_over_https_chunked_with_a_checksum_trailer() -> None:
    request = _sent("https://localhost:9000", lambda c: c.put_object(Bucket="bk", Key="a/b c", Body=b"hello world"))
    assert request.headers["Content-Encoding"] == "aws-chunked"
    assert request.headers["X-Amz-Content-SHA256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert request.body == b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"
    name, params = _parsed(request)
    assert name == "PutObject"
    assert params["Bucket"] == "bk"
    assert params["Key"] == "a/b c"
    assert params["Body"] == b"hello world"
    assert params["ChecksumCRC32"] == "DUoRhQ=="


def test_botocore_sends_upload_part_over_https_chunked_too() -> None:
    request = _sent(
        "https://localhost:9000",
        lambda c: c.upload_part(Bucket="bk", Key="k", UploadId="u", PartNumber=2, Body=b"part"),
    )
    name, params = _parsed(request)
    assert name == "UploadPart"
    assert (params["Body"], params["PartNumber"], params["UploadId"]) == (b"part", 2, "u")
    assert "ChecksumCRC32" in params


def test_botocore_sends_the_plain_body_over_http_which_passes_through() -> None:
    request = _sent("http://localhost:9000", lambda c: c.put_object(Bucket="bk", Key="k", Body=b"hello world"))
    assert "Content-Encoding" not in request.headers
    assert chunked.decode(request.headers, request.body) == (dict(request.headers), b"hello world")
    name, params = _parsed(request)
    assert (name, params["Body"], params["ChecksumCRC32"]) == ("PutObject", b"hello world", "DUoRhQ==")


def test_signed_chunks_lose_their_signatures_and_framing_headers() -> None:
    body = (
        b"5;chunk-signature=" + b"a" * 64 + b"\r\nhello\r\n"
        b"6;chunk-signature=" + b"b" * 64 + b"\r\n world\r\n"
        b"0;chunk-signature=" + b"c" * 64 + b"\r\n"
        b"x-amz-checksum-sha256:abc=\r\nx-amz-trailer-signature:" + b"d" * 64 + b"\r\n\r\n"
    )
    headers = {
        "Content-Encoding": "aws-chunked,gzip",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "X-Amz-Decoded-Content-Length": "11",
        "X-Amz-Trailer": "x-amz-checksum-sha256",
        "Content-Length": str(len(body)),
    }
    decoded_headers, decoded = chunked.decode(headers, body)
    assert decoded == b"hello world"
    assert decoded_headers == {
        "Content-Encoding": "gzip",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "Content-Length": "11",
        "x-amz-checksum-sha256": "abc=",
    }


def test_a_stream_without_trailers_ends_at_the_empty_chunk() -> None:
    headers = {"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}
    assert chunked.decode(headers, b"3\r\nabc\r\n0\r\n\r\n") == ({"Content-Length": "3", **headers}, b"abc")


@pytest.mark.parametrize(
    ("body", "length"),
    [
        (b"5\r\nhello", "5"),  # the chunk's CRLF and the last chunk missing
        (b"9\r\nhello\r\n0\r\n\r\n", "5"),  # a chunk shorter than its size
        (b"zz\r\nhello\r\n0\r\n\r\n", "5"),  # a size that is not hex
        (b"5\r\nhello\r\n0", "5"),  # no end of the last size line
        (b"5\r\nhello\r\n0\r\nno-colon\r\n\r\n", "5"),  # a trailer that is not `name:value`
        (b"5\r\nhello\r\n0\r\n\r\n", "6"),  # not the declared decoded length
    ],
)
def test_broken_framing_is_refused(body: bytes, length: str) -> None:
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": length}
    with pytest.raises(InvalidInputError):
        chunked.decode(headers, body)
