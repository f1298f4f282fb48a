"""S3's multipart uploads through the service classes: the completed object's bytes and its ETag (computed
here from the parts' bytes), the order, ETag and size rules of CompleteMultipartUpload, part numbers, aborts,
part copies and the listings of parts and uploads."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.s3 import OTHER, S3, fails, md5_b64, md5_hex
from trailbridge.runtime import Trailbridge

MIB = 1024 * 1024


@pytest.fixture
def s3() -> Iterator[S3]:
    tb = Trailbridge(None)
    client = S3(tb.engine)
    client.CreateBucket(Bucket="uploads")
    yield client
    tb.close()


def _start(s3: S3, key: str = "big.bin", **params: Any) -> str:
    return str(s3.CreateMultipartUpload(Bucket="uploads", Key=key, **params)["UploadId"])


def _part(s3: S3, upload: str, number: int, data: bytes, key: str = "big.bin") -> dict[str, Any]:
    etag = s3.UploadPart(Bucket="uploads", Key=key, UploadId=upload, PartNumber=number, Body=data)["ETag"]
    return {"PartNumber": number, "ETag": etag}


def _complete(s3: S3, upload: str, parts: list[dict[str, Any]], key: str = "big.bin") -> dict[str, Any]:
    return s3.CompleteMultipartUpload(Bucket="uploads", Key=key, UploadId=upload, MultipartUpload={"Parts": parts})


def test_a_completed_upload_is_its_parts_in_order_with_s3s_etag(s3: S3) -> None:
    pieces = [b"a" * (5 * MIB), b"b" * (5 * MIB + 3), b"tail"]
    upload = _start(s3, ContentType="application/x-thing", Metadata={"origin": "test"})
    parts = [_part(s3, upload, n, data) for n, data in enumerate(pieces, 1)]
    assert [p["ETag"] for p in parts] == [f'"{md5_hex(data)}"' for data in pieces]
    done = _complete(s3, upload, parts)
    digests = b"".join(hashlib.md5(data, usedforsecurity=False).digest() for data in pieces)
    etag = f'"{hashlib.md5(digests, usedforsecurity=False).hexdigest()}-3"'
    assert (done["ETag"], done["Bucket"], done["Key"]) == (etag, "uploads", "big.bin")
    got = s3.GetObject(Bucket="uploads", Key="big.bin")
    assert got["Body"] == b"".join(pieces) and got["ETag"] == etag
    assert (got["ContentType"], got["Metadata"]) == ("application/x-thing", {"origin": "test"})
    fails(s3.ListParts, "NoSuchUpload", 404, Bucket="uploads", Key="big.bin", UploadId=upload)


def test_a_part_uploaded_again_replaces_the_first(s3: S3) -> None:
    upload = _start(s3)
    _part(s3, upload, 1, b"first")
    again = _part(s3, upload, 1, b"second")
    listed = s3.ListParts(Bucket="uploads", Key="big.bin", UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed] == [(1, again["ETag"], 6)]
    assert _complete(s3, upload, [again])["ETag"] == f'"{hashlib.md5(bytes.fromhex(md5_hex(b"second"))).hexdigest()}-1"'
    assert s3.GetObject(Bucket="uploads", Key="big.bin")["Body"] == b"second"


def test_parts_must_be_in_ascending_order(s3: S3) -> None:
    upload = _start(s3)
    parts = [_part(s3, upload, n, b"x" * (5 * MIB)) for n in (1, 2)]
    fails(_complete, "InvalidPartOrder", 400, s3=s3, upload=upload, parts=[parts[1], parts[0]])
    fails(_complete, "InvalidPartOrder", 400, s3=s3, upload=upload, parts=[parts[0], parts[0]])


def test_unknown_parts_and_wrong_etags_are_invalid(s3: S3) -> None:
    upload = _start(s3)
    part = _part(s3, upload, 1, b"only")
    error = fails(_complete, "InvalidPart", 400, s3=s3, upload=upload, parts=[{"PartNumber": 2, "ETag": part["ETag"]}])
    assert error.fields["PartNumber"] == "2" and error.fields["UploadId"] == upload
    fails(_complete, "InvalidPart", 400, s3=s3, upload=upload, parts=[{"PartNumber": 1, "ETag": '"0123"'}])
    fails(_complete, "MalformedXML", 400, s3=s3, upload=upload, parts=[])
    assert _complete(s3, upload, [{"PartNumber": 1, "ETag": part["ETag"].strip('"')}])["ETag"].endswith('-1"')


def test_every_part_but_the_last_holds_5_mib(s3: S3) -> None:
    upload = _start(s3)
    parts = [_part(s3, upload, 1, b"x" * (5 * MIB - 1)), _part(s3, upload, 2, b"y")]
    error = fails(_complete, "EntityTooSmall", 400, s3=s3, upload=upload, parts=parts)
    assert error.fields["PartNumber"] == "1" and error.fields["MinSizeAllowed"] == str(5 * MIB)
    assert _complete(s3, upload, parts[1:])["ETag"].endswith('-1"')  # a single small part is the last


@pytest.mark.parametrize("number", [0, 10_001])
def test_part_numbers_run_from_1_to_10000(s3: S3, number: int) -> None:
    upload = _start(s3)
    fails(
        s3.UploadPart,
        "InvalidArgument",
        400,
        Bucket="uploads",
        Key="big.bin",
        UploadId=upload,
        PartNumber=number,
        Body=b"x",
    )


def test_parts_check_content_md5(s3: S3) -> None:
    upload = _start(s3)
    bad = {"Bucket": "uploads", "Key": "big.bin", "UploadId": upload, "PartNumber": 1, "Body": b"x"}
    fails(s3.UploadPart, "BadDigest", 400, **bad, ContentMD5=md5_b64(b"y"))


def test_unknown_aborted_and_mismatched_uploads(s3: S3) -> None:
    fails(s3.UploadPart, "NoSuchUpload", 404, Bucket="uploads", Key="big.bin", UploadId="nope", PartNumber=1, Body=b"x")
    upload = _start(s3)
    error = fails(
        s3.UploadPart, "NoSuchUpload", 404, Bucket="uploads", Key="other", UploadId=upload, PartNumber=1, Body=b"x"
    )
    assert error.fields == {"UploadId": upload}
    _part(s3, upload, 1, b"x")
    fails(s3.DeleteBucket, "BucketNotEmpty", 409, Bucket="uploads")  # an upload in progress keeps the bucket
    assert s3.AbortMultipartUpload(Bucket="uploads", Key="big.bin", UploadId=upload) == {}
    fails(s3.AbortMultipartUpload, "NoSuchUpload", 404, Bucket="uploads", Key="big.bin", UploadId=upload)
    s3.DeleteBucket(Bucket="uploads")


def test_upload_part_copy_takes_a_range_of_an_object(s3: S3) -> None:
    s3.PutObject(Bucket="uploads", Key="source", Body=b"0123456789")
    upload = _start(s3)
    copy = {"Bucket": "uploads", "Key": "big.bin", "UploadId": upload, "CopySource": "uploads/source"}
    result = s3.UploadPartCopy(**copy, PartNumber=1, CopySourceRange="bytes=2-5")["CopyPartResult"]
    assert result["ETag"] == f'"{md5_hex(b"2345")}"'
    whole = s3.UploadPartCopy(**copy, PartNumber=2)["CopyPartResult"]
    fails(s3.UploadPartCopy, "InvalidArgument", 400, **copy, PartNumber=3, CopySourceRange="bytes=5-10")
    fails(s3.UploadPartCopy, "InvalidArgument", 400, **copy, PartNumber=3, CopySourceRange="bytes=5-")
    parts = [{"PartNumber": 1, "ETag": result["ETag"]}, {"PartNumber": 2, "ETag": whole["ETag"]}]
    fails(_complete, "EntityTooSmall", 400, s3=s3, upload=upload, parts=parts)
    _complete(s3, upload, parts[1:])
    assert s3.GetObject(Bucket="uploads", Key="big.bin")["Body"] == b"0123456789"


def test_list_parts_pages(s3: S3) -> None:
    upload = _start(s3)
    for n in range(1, 6):
        _part(s3, upload, n, bytes([n]))
    first = s3.ListParts(Bucket="uploads", Key="big.bin", UploadId=upload, MaxParts=2)
    assert [p["PartNumber"] for p in first["Parts"]] == [1, 2] and first["IsTruncated"]
    marker = first["NextPartNumberMarker"]
    rest = s3.ListParts(Bucket="uploads", Key="big.bin", UploadId=upload, PartNumberMarker=marker)
    assert [p["PartNumber"] for p in rest["Parts"]] == [3, 4, 5] and not rest["IsTruncated"]


def test_list_multipart_uploads(s3: S3) -> None:
    ids = {key: _start(s3, key) for key in ("a/1", "a/2", "b", "c/x/y")}
    twice = _start(s3, "b")
    everything = s3.ListMultipartUploads(Bucket="uploads")
    assert [(u["Key"], u["UploadId"]) for u in everything["Uploads"]] == sorted(
        [*ids.items(), ("b", twice)], key=lambda pair: (pair[0], pair[1])
    )
    rolled = s3.ListMultipartUploads(Bucket="uploads", Delimiter="/")
    assert [u["Key"] for u in rolled["Uploads"]] == ["b", "b"]
    assert rolled["CommonPrefixes"] == [{"Prefix": "a/"}, {"Prefix": "c/"}]
    seen: list[str] = []
    params: dict[str, Any] = {"Bucket": "uploads", "MaxUploads": 2}
    while True:
        page = s3.ListMultipartUploads(**params)
        seen += [u["UploadId"] for u in page["Uploads"]]
        if not page["IsTruncated"]:
            break
        params |= {"KeyMarker": page["NextKeyMarker"], "UploadIdMarker": page["NextUploadIdMarker"]}
    assert seen == [u["UploadId"] for u in everything["Uploads"]]
    assert s3.ListMultipartUploads(Bucket="uploads", KeyMarker="b")["Uploads"][0]["Key"] == "c/x/y"


def test_another_account_cannot_upload_without_a_grant(s3: S3) -> None:
    other = S3(s3.engine, OTHER)
    fails(other.CreateMultipartUpload, "AccessDenied", 403, Bucket="uploads", Key="k")
    upload = _start(s3, "k")
    fails(other.UploadPart, "AccessDenied", 403, Bucket="uploads", Key="k", UploadId=upload, PartNumber=1, Body=b"x")
    fails(other.ListMultipartUploads, "AccessDenied", 403, Bucket="uploads")


def test_a_part_of_a_completed_upload_is_read_by_its_number(s3: S3) -> None:
    pieces = [b"a" * (5 * MIB), b"b" * (5 * MIB), b"cc"]
    upload = _start(s3)
    _complete(s3, upload, [_part(s3, upload, n, data) for n, data in enumerate(pieces, 1)])
    second = s3.GetObject(Bucket="uploads", Key="big.bin", PartNumber=2)
    assert second["Body"] == pieces[1] and second["PartsCount"] == 3
    assert second["ContentRange"] == f"bytes {5 * MIB}-{10 * MIB - 1}/{10 * MIB + 2}"
    head = s3.HeadObject(Bucket="uploads", Key="big.bin", PartNumber=3)
    assert (head["ContentLength"], head["PartsCount"]) == (2, 3)
    error = fails(s3.GetObject, "InvalidPartNumber", 416, Bucket="uploads", Key="big.bin", PartNumber=4)
    assert error.fields == {"PartNumberRequested": "4", "ActualPartCount": "3"}
    both = {"Bucket": "uploads", "Key": "big.bin", "PartNumber": 1, "Range": "bytes=0-1"}
    fails(s3.GetObject, "InvalidRequest", 400, **both)
    s3.PutObject(Bucket="uploads", Key="whole", Body=b"whole")
    assert s3.GetObject(Bucket="uploads", Key="whole", PartNumber=1)["Body"] == b"whole"
    fails(s3.GetObject, "InvalidPartNumber", 416, Bucket="uploads", Key="whole", PartNumber=2)
    s3.CopyObject(Bucket="uploads", Key="copied", CopySource="uploads/big.bin")
    copied = s3.HeadObject(Bucket="uploads", Key="copied")
    assert "PartsCount" not in copied and copied["ETag"] == f'"{md5_hex(b"".join(pieces))}"'
