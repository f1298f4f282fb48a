"""S3's buckets and objects through the service classes, on the memory backend: names, regions, ownership,
ETags and Content-MD5, stored headers, ranges, conditional reads, copies, deletes, and cross-account access
through the bucket policy only."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from botocore.httpchecksum import Crc32Checksum, Sha256Checksum

from tests.support.s3 import OTHER, OWNER, S3, fails, md5_b64, md5_hex
from trailbridge.clock import ManualClock
from trailbridge.errors import NotFoundError
from trailbridge.runtime import Trailbridge


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_790_000_000.0)


@pytest.fixture
def tb(clock: ManualClock) -> Iterator[Trailbridge]:
    instance = Trailbridge(None, clock=clock)
    yield instance
    instance.close()


@pytest.fixture
def s3(tb: Trailbridge) -> S3:
    client = S3(tb.engine)
    client.CreateBucket(Bucket="logs")
    return client


@pytest.fixture
def other(tb: Trailbridge) -> S3:
    return S3(tb.engine, OTHER)


def _grant(s3: S3, action: str, resource: str, principal: object = None) -> None:
    s3.PutPublicAccessBlock(Bucket="logs", PublicAccessBlockConfiguration={})
    statement = {
        "Effect": "Allow",
        "Principal": principal or {"AWS": f"arn:aws:iam::{OTHER}:root"},
        "Action": action,
        "Resource": resource,
    }
    s3.PutBucketPolicy(Bucket="logs", Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))


# -- buckets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["ab", "A-bucket", "-start", "end-", "two..dots", "192.168.1.1", "xn--punycode", "b-s3alias", "x" * 64]
)
def test_bucket_names_s3_refuses(tb: Trailbridge, name: str) -> None:
    error = fails(S3(tb.engine).CreateBucket, "InvalidBucketName", 400, Bucket=name)
    assert error.fields == {"BucketName": name}


def test_a_bucket_is_listed_by_its_owner_only(s3: S3, other: S3, clock: ManualClock) -> None:
    listed = s3.ListBuckets()
    assert listed["Buckets"] == [
        {"Name": "logs", "CreationDate": datetime.fromtimestamp(clock.now(), UTC), "BucketRegion": "us-east-1"}
    ]
    assert len(listed["Owner"]["ID"]) == 64
    assert other.ListBuckets()["Buckets"] == []
    assert s3.GetBucketLocation(Bucket="logs") == {}
    assert s3.HeadBucket(Bucket="logs")["BucketRegion"] == "us-east-1"


def test_list_buckets_pages_and_filters(tb: Trailbridge) -> None:
    s3 = S3(tb.engine)
    for name in ("alpha", "beta", "bravo", "charlie"):
        s3.CreateBucket(Bucket=name)
    first = s3.ListBuckets(MaxBuckets=2)
    assert [b["Name"] for b in first["Buckets"]] == ["alpha", "beta"]
    rest = s3.ListBuckets(MaxBuckets=2, ContinuationToken=first["ContinuationToken"])
    assert [b["Name"] for b in rest["Buckets"]] == ["bravo", "charlie"] and "ContinuationToken" not in rest
    assert [b["Name"] for b in s3.ListBuckets(Prefix="b")["Buckets"]] == ["beta", "bravo"]


def test_bucket_names_are_global(s3: S3, other: S3) -> None:
    error = fails(other.CreateBucket, "BucketAlreadyExists", 409, Bucket="logs")
    assert error.fields == {"BucketName": "logs"}


def test_the_owner_recreating_a_bucket_gets_200_in_us_east_1_and_409_elsewhere(tb: Trailbridge, s3: S3) -> None:
    s3.PutBucketAcl(Bucket="logs", ACL="private")
    assert s3.CreateBucket(Bucket="logs") == {"Location": "/logs"}
    west = S3(tb.engine, OWNER, "eu-west-1")
    west.CreateBucket(Bucket="west-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    conflict = {"CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}
    fails(west.CreateBucket, "BucketAlreadyOwnedByYou", 409, Bucket="west-logs", **conflict)
    assert west.GetBucketLocation(Bucket="west-logs") == {"LocationConstraint": "eu-west-1"}


def test_location_constraints(tb: Trailbridge) -> None:
    west, east = S3(tb.engine, OWNER, "eu-west-1"), S3(tb.engine, OWNER, "us-east-1")
    error = fails(west.CreateBucket, "IllegalLocationConstraintException", 400, Bucket="no-constraint")
    assert error.message.startswith("The unspecified location constraint")
    wrong = {"LocationConstraint": "us-west-2"}
    fails(west.CreateBucket, "IllegalLocationConstraintException", 400, Bucket="wrong", CreateBucketConfiguration=wrong)
    own = {"LocationConstraint": "us-east-1"}
    fails(east.CreateBucket, "InvalidLocationConstraint", 400, Bucket="own", CreateBucketConfiguration=own)
    east.CreateBucket(Bucket="far", CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
    assert east.GetBucketLocation(Bucket="far") == {"LocationConstraint": "ap-south-1"}


def test_delete_bucket(s3: S3) -> None:
    s3.PutObject(Bucket="logs", Key="a", Body=b"x")
    error = fails(s3.DeleteBucket, "BucketNotEmpty", 409, Bucket="logs")
    assert error.fields == {"BucketName": "logs"}
    s3.DeleteObject(Bucket="logs", Key="a")
    assert s3.DeleteBucket(Bucket="logs") == {}
    fails(s3.DeleteBucket, "NoSuchBucket", 404, Bucket="logs")
    fails(s3.HeadBucket, "NoSuchBucket", 404, Bucket="logs")


# -- objects ----------------------------------------------------------------------------------


def test_put_and_get_keep_the_bytes_etag_and_headers(s3: S3, clock: ManualClock) -> None:
    data = b"hello, world"
    expires = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    put = s3.PutObject(
        Bucket="logs",
        Key="dir/a.txt",
        Body=data,
        ContentMD5=md5_b64(data),
        ContentType="text/plain",
        ContentEncoding="identity",
        CacheControl="no-cache",
        ContentDisposition="inline",
        ContentLanguage="en",
        Expires=expires,
        Metadata={"colour": "blue"},
    )
    assert put == {"ETag": f'"{md5_hex(data)}"', "ServerSideEncryption": "AES256"}
    got = s3.GetObject(Bucket="logs", Key="dir/a.txt")
    assert got["Body"] == data and got["ETag"] == put["ETag"] and got["ContentLength"] == len(data)
    assert got["LastModified"] == datetime.fromtimestamp(clock.now(), UTC)
    expected = {"ContentType": "text/plain", "ContentEncoding": "identity", "CacheControl": "no-cache"}
    assert {k: got[k] for k in expected} == expected
    assert (got["ContentDisposition"], got["ContentLanguage"], got["Expires"]) == ("inline", "en", expires)
    assert got["Metadata"] == {"colour": "blue"} and got["ServerSideEncryption"] == "AES256"
    head = s3.HeadObject(Bucket="logs", Key="dir/a.txt")
    assert "Body" not in head and head["ETag"] == put["ETag"] and head["Metadata"] == {"colour": "blue"}


def test_an_object_without_a_content_type_is_binary(s3: S3) -> None:
    s3.PutObject(Bucket="logs", Key="k", Body=b"")
    got = s3.GetObject(Bucket="logs", Key="k")
    assert (got["ContentType"], got["ETag"], got["Body"]) == ("binary/octet-stream", f'"{md5_hex(b"")}"', b"")


def test_content_md5_is_checked(s3: S3) -> None:
    error = fails(s3.PutObject, "BadDigest", 400, Bucket="logs", Key="k", Body=b"abc", ContentMD5=md5_b64(b"abd"))
    assert error.fields["CalculatedDigest"] == md5_b64(b"abc")
    fails(s3.PutObject, "InvalidDigest", 400, Bucket="logs", Key="k", Body=b"abc", ContentMD5="not-base64!")
    fails(s3.PutObject, "InvalidDigest", 400, Bucket="logs", Key="k", Body=b"abc", ContentMD5="YWJj")
    fails(s3.HeadObject, "NoSuchKey", 404, Bucket="logs", Key="k")


def test_objects_over_5_gib_and_keys_over_1024_bytes_are_refused(s3: S3) -> None:
    error = fails(s3.PutObject, "EntityTooLarge", 400, Bucket="logs", Key="k", Body=b"", ContentLength=5 * 1024**3 + 1)
    assert error.fields == {"ProposedSize": str(5 * 1024**3 + 1), "MaxSizeAllowed": str(5 * 1024**3)}
    s3.PutObject(Bucket="logs", Key="k", Body=b"", ContentLength=5 * 1024**3)
    fails(s3.PutObject, "KeyTooLongError", 400, Bucket="logs", Key="é" * 513, Body=b"")
    s3.PutObject(Bucket="logs", Key="é" * 512, Body=b"")


def test_missing_objects_and_buckets(s3: S3) -> None:
    error = fails(s3.GetObject, "NoSuchKey", 404, Bucket="logs", Key="nothing")
    assert error.fields == {"Key": "nothing"}
    error = fails(s3.GetObject, "NoSuchBucket", 404, Bucket="absent", Key="k")
    assert error.fields == {"BucketName": "absent"}
    assert s3.DeleteObject(Bucket="logs", Key="nothing") == {}  # idempotent


@pytest.mark.parametrize(
    ("header", "part", "content_range"),
    [
        ("bytes=0-3", b"0123", "bytes 0-3/10"),
        ("bytes=7-", b"789", "bytes 7-9/10"),
        ("bytes=-4", b"6789", "bytes 6-9/10"),
        ("bytes=8-100", b"89", "bytes 8-9/10"),
        ("bytes=-50", b"0123456789", "bytes 0-9/10"),
    ],
)
def test_ranges(s3: S3, header: str, part: bytes, content_range: str) -> None:
    s3.PutObject(Bucket="logs", Key="digits", Body=b"0123456789")
    got = s3.GetObject(Bucket="logs", Key="digits", Range=header)
    assert (got["Body"], got["ContentRange"], got["ContentLength"]) == (part, content_range, len(part))


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=10-12", "bytes=-0"])
def test_unsatisfiable_ranges(s3: S3, header: str) -> None:
    s3.PutObject(Bucket="logs", Key="digits", Body=b"0123456789")
    error = fails(s3.GetObject, "InvalidRange", 416, Bucket="logs", Key="digits", Range=header)
    assert error.fields == {"RangeRequested": header, "ActualObjectSize": "10"}


@pytest.mark.parametrize("header", ["items=0-1", "bytes=5-2", "bytes=0-1,3-4", "bytes=-"])
def test_ranges_s3_cannot_read_give_the_whole_object(s3: S3, header: str) -> None:
    s3.PutObject(Bucket="logs", Key="digits", Body=b"0123456789")
    got = s3.GetObject(Bucket="logs", Key="digits", Range=header)
    assert got["Body"] == b"0123456789" and "ContentRange" not in got


def test_conditional_reads(s3: S3, clock: ManualClock) -> None:
    etag = s3.PutObject(Bucket="logs", Key="k", Body=b"v1")["ETag"]
    written = datetime.fromtimestamp(clock.now(), UTC)
    before, after = datetime.fromtimestamp(clock.now() - 60, UTC), datetime.fromtimestamp(clock.now() + 60, UTC)
    read = {"Bucket": "logs", "Key": "k"}
    assert s3.GetObject(**read, IfMatch=etag)["Body"] == b"v1"
    assert s3.GetObject(**read, IfMatch=etag.strip('"'), IfUnmodifiedSince=before)["Body"] == b"v1"  # If-Match wins
    error = fails(s3.GetObject, "PreconditionFailed", 412, **read, IfMatch='"other"')
    assert error.fields == {"Condition": "If-Match"}
    fails(s3.GetObject, "PreconditionFailed", 412, **read, IfUnmodifiedSince=before)
    fails(s3.GetObject, "NotModified", 304, **read, IfNoneMatch=etag)
    fails(s3.HeadObject, "NotModified", 304, **read, IfModifiedSince=written)
    assert s3.GetObject(**read, IfNoneMatch='"other"', IfModifiedSince=after)["Body"] == b"v1"  # If-None-Match wins
    assert s3.GetObject(**read, IfModifiedSince=before)["Body"] == b"v1"


def test_conditional_writes(s3: S3) -> None:
    s3.PutObject(Bucket="logs", Key="k", Body=b"v1", IfNoneMatch="*")
    fails(s3.PutObject, "PreconditionFailed", 412, Bucket="logs", Key="k", Body=b"v2", IfNoneMatch="*")
    fails(s3.PutObject, "PreconditionFailed", 412, Bucket="logs", Key="k", Body=b"v2", IfMatch='"nope"')
    s3.PutObject(Bucket="logs", Key="k", Body=b"v2", IfMatch=f'"{md5_hex(b"v1")}"')
    assert s3.GetObject(Bucket="logs", Key="k")["Body"] == b"v2"


def test_delete_objects(s3: S3) -> None:
    for key in ("a", "b"):
        s3.PutObject(Bucket="logs", Key=key, Body=b"x")
    answer = s3.DeleteObjects(Bucket="logs", Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "c"}]})
    assert answer == {"Deleted": [{"Key": "a"}, {"Key": "b"}, {"Key": "c"}]}
    assert s3.ListObjectsV2(Bucket="logs")["KeyCount"] == 0
    assert s3.DeleteObjects(Bucket="logs", Delete={"Objects": [{"Key": "a"}], "Quiet": True}) == {}
    too_many = {"Objects": [{"Key": str(i)} for i in range(1001)]}
    fails(s3.DeleteObjects, "MalformedXML", 400, Bucket="logs", Delete=too_many)


# -- copies -----------------------------------------------------------------------------------


def test_copy_keeps_or_replaces_metadata(s3: S3, clock: ManualClock) -> None:
    s3.PutObject(Bucket="logs", Key="src key", Body=b"data", ContentType="text/plain", Metadata={"a": "1"})
    clock.advance(5)
    copied = s3.CopyObject(Bucket="logs", Key="copy", CopySource="logs/src%20key")
    assert copied["CopyObjectResult"] == {
        "ETag": f'"{md5_hex(b"data")}"',
        "LastModified": datetime.fromtimestamp(clock.now(), UTC),
    }
    got = s3.GetObject(Bucket="logs", Key="copy")
    assert (got["Body"], got["ContentType"], got["Metadata"]) == (b"data", "text/plain", {"a": "1"})
    s3.CopyObject(
        Bucket="logs",
        Key="new",
        CopySource="/logs/src%20key?versionId=null",
        MetadataDirective="REPLACE",
        Metadata={"b": "2"},
    )
    got = s3.GetObject(Bucket="logs", Key="new")
    assert (got["ContentType"], got["Metadata"]) == ("binary/octet-stream", {"b": "2"})


def test_copy_errors(s3: S3) -> None:
    s3.PutObject(Bucket="logs", Key="k", Body=b"data")
    fails(s3.CopyObject, "InvalidRequest", 400, Bucket="logs", Key="k", CopySource="logs/k")
    s3.CopyObject(Bucket="logs", Key="k", CopySource="logs/k", MetadataDirective="REPLACE")
    fails(s3.CopyObject, "NoSuchKey", 404, Bucket="logs", Key="x", CopySource="logs/missing")
    fails(s3.CopyObject, "NoSuchBucket", 404, Bucket="logs", Key="x", CopySource="absent/k")
    fails(s3.CopyObject, "InvalidArgument", 400, Bucket="logs", Key="x", CopySource="logs")
    fails(s3.CopyObject, "NoSuchVersion", 404, Bucket="logs", Key="x", CopySource="logs/k?versionId=v7")
    fails(
        s3.CopyObject, "PreconditionFailed", 412, Bucket="logs", Key="x", CopySource="logs/k", CopySourceIfMatch='"no"'
    )
    etag = f'"{md5_hex(b"data")}"'
    fails(
        s3.CopyObject,
        "PreconditionFailed",
        412,
        Bucket="logs",
        Key="x",
        CopySource="logs/k",
        CopySourceIfNoneMatch=etag,
    )


# -- cross-account access ---------------------------------------------------------------------


def test_another_account_is_denied_without_a_grant(s3: S3, other: S3) -> None:
    s3.PutObject(Bucket="logs", Key="k", Body=b"secret")
    fails(other.HeadBucket, "AccessDenied", 403, Bucket="logs")
    fails(other.GetObject, "AccessDenied", 403, Bucket="logs", Key="k")
    fails(other.PutObject, "AccessDenied", 403, Bucket="logs", Key="k", Body=b"x")
    fails(other.ListObjectsV2, "AccessDenied", 403, Bucket="logs")
    fails(other.DeleteBucket, "AccessDenied", 403, Bucket="logs")
    fails(other.GetBucketAcl, "AccessDenied", 403, Bucket="logs")
    assert s3.GetObject(Bucket="logs", Key="k")["Body"] == b"secret"


def test_a_policy_grant_lets_another_account_act_on_what_it_names(s3: S3, other: S3) -> None:
    s3.PutObject(Bucket="logs", Key="shared/a", Body=b"a")
    s3.PutObject(Bucket="logs", Key="private/b", Body=b"b")
    _grant(s3, "s3:GetObject", "arn:aws:s3:::logs/shared/*")
    assert other.GetObject(Bucket="logs", Key="shared/a")["Body"] == b"a"
    fails(other.GetObject, "AccessDenied", 403, Bucket="logs", Key="private/b")
    fails(other.PutObject, "AccessDenied", 403, Bucket="logs", Key="shared/c", Body=b"c")
    # without s3:ListBucket, a missing key is not told apart from a refused one
    fails(other.GetObject, "AccessDenied", 403, Bucket="logs", Key="shared/missing")


def test_delete_objects_authorizes_each_key(s3: S3, other: S3) -> None:
    for key in ("tmp/a", "keep/b"):
        s3.PutObject(Bucket="logs", Key=key, Body=b"x")
    _grant(s3, "s3:DeleteObject", "arn:aws:s3:::logs/tmp/*")
    answer = other.DeleteObjects(Bucket="logs", Delete={"Objects": [{"Key": "tmp/a"}, {"Key": "keep/b"}]})
    assert answer["Deleted"] == [{"Key": "tmp/a"}]
    assert [(e["Key"], e["Code"]) for e in answer["Errors"]] == [("keep/b", "AccessDenied")]
    assert [c["Key"] for c in s3.ListObjectsV2(Bucket="logs")["Contents"]] == ["keep/b"]


def test_restrict_public_buckets_stops_a_public_grant(s3: S3, other: S3) -> None:
    s3.PutObject(Bucket="logs", Key="k", Body=b"x")
    _grant(s3, "s3:GetObject", "arn:aws:s3:::logs/*", principal="*")
    assert other.GetObject(Bucket="logs", Key="k")["Body"] == b"x"
    s3.PutPublicAccessBlock(Bucket="logs", PublicAccessBlockConfiguration={"RestrictPublicBuckets": True})
    fails(other.GetObject, "AccessDenied", 403, Bucket="logs", Key="k")
    assert s3.GetObject(Bucket="logs", Key="k")["Body"] == b"x"


def test_an_explicit_deny_binds_the_owner_too(s3: S3) -> None:
    s3.PutObject(Bucket="logs", Key="locked/k", Body=b"x")
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::logs/locked/*"}
    s3.PutBucketPolicy(Bucket="logs", Policy=json.dumps({"Statement": [deny]}))
    fails(s3.DeleteObject, "AccessDenied", 403, Bucket="logs", Key="locked/k")


def test_expected_bucket_owner_guards_the_caller(s3: S3) -> None:
    s3.PutObject(Bucket="logs", Key="k", Body=b"x", ExpectedBucketOwner=OWNER)
    fails(s3.PutObject, "AccessDenied", 403, Bucket="logs", Key="k", Body=b"x", ExpectedBucketOwner=OTHER)
    fails(s3.ListObjectsV2, "AccessDenied", 403, Bucket="logs", ExpectedBucketOwner=OTHER)
    copy = {"Bucket": "logs", "Key": "c", "CopySource": "logs/k"}
    fails(s3.CopyObject, "AccessDenied", 403, **copy, ExpectedSourceBucketOwner=OTHER)
    s3.CopyObject(**copy, ExpectedSourceBucketOwner=OWNER)


def _botocore_checksum(kind: type[Crc32Checksum] | type[Sha256Checksum], data: bytes) -> str:
    checksum = kind()
    checksum.update(data)
    return base64.b64encode(checksum.digest()).decode()


def test_additional_checksums_are_verified_kept_and_returned_when_asked(s3: S3) -> None:
    data = b"checked bytes"
    crc = _botocore_checksum(Crc32Checksum, data)
    put = s3.PutObject(Bucket="logs", Key="k", Body=data, ChecksumCRC32=crc)
    assert (put["ChecksumCRC32"], put["ChecksumType"]) == (crc, "FULL_OBJECT")
    assert "ChecksumCRC32" not in s3.GetObject(Bucket="logs", Key="k")
    asked = s3.GetObject(Bucket="logs", Key="k", ChecksumMode="ENABLED")
    assert (asked["ChecksumCRC32"], asked["ChecksumType"]) == (crc, "FULL_OBJECT")
    assert "ChecksumCRC32" not in s3.GetObject(Bucket="logs", Key="k", ChecksumMode="ENABLED", Range="bytes=0-1")
    error = fails(s3.PutObject, "BadDigest", 400, Bucket="logs", Key="k", Body=b"other", ChecksumCRC32=crc)
    assert error.message == "The CRC32 you specified did not match the calculated checksum."
    computed = s3.PutObject(Bucket="logs", Key="s", Body=data, ChecksumAlgorithm="SHA256")
    assert computed["ChecksumSHA256"] == _botocore_checksum(Sha256Checksum, data)
    fails(s3.PutObject, "NotImplemented", 501, Bucket="logs", Key="c", Body=data, ChecksumCRC32C="AAAAAA==")
    s3.CopyObject(Bucket="logs", Key="copy", CopySource="logs/k")
    assert s3.HeadObject(Bucket="logs", Key="copy", ChecksumMode="ENABLED")["ChecksumCRC32"] == crc


def test_a_bucket_deleted_while_a_request_runs_is_no_such_bucket(s3: S3, monkeypatch: pytest.MonkeyPatch) -> None:
    def gone(*_: object) -> None:
        raise NotFoundError("bucket logs does not exist")

    monkeypatch.setattr(s3.engine.objects, "put", gone)
    fails(s3.PutObject, "NoSuchBucket", 404, Bucket="logs", Key="k", Body=b"x")
