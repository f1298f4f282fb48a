"""S3 end to end: real boto3 clients against `trailbridge serve`, through the rest-xml protocol, SigV4 and the
service classes, with botocore's own handlers in play (URL-encoded listings, checksum validation of reads,
s3transfer's multipart uploads, paginators, error classes)."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.support.server import Server

MIB = 1024 * 1024


@pytest.fixture
def s3(server: Server, account: str) -> Any:
    client = server.client("s3", account)
    client.create_bucket(Bucket=f"wire-{account}")
    return client


def test_objects_round_trip(s3: Any, account: str) -> None:
    bucket = f"wire-{account}"
    put = s3.put_object(
        Bucket=bucket, Key="a b/c+d.txt", Body=b"0123456789", Metadata={"k": "v"}, ContentType="text/plain"
    )
    assert put["ETag"] == f'"{hashlib.md5(b"0123456789", usedforsecurity=False).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="a b/c+d.txt")  # botocore validates the CRC32 it gets back
    assert (got["Body"].read(), got["Metadata"], got["ContentType"]) == (b"0123456789", {"k": "v"}, "text/plain")
    part = s3.get_object(Bucket=bucket, Key="a b/c+d.txt", Range="bytes=2-4")
    assert (part["Body"].read(), part["ContentRange"]) == (b"234", "bytes 2-4/10")
    listed = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert listed["CommonPrefixes"] == [{"Prefix": "a b/"}]
    assert [o["Key"] for o in s3.list_objects(Bucket=bucket, Prefix="a b/")["Contents"]] == ["a b/c+d.txt"]


def test_errors_carry_s3s_codes_and_fields(server: Server, s3: Any, account: str) -> None:
    bucket = f"wire-{account}"
    with pytest.raises(s3.exceptions.NoSuchKey) as missing:
        s3.get_object(Bucket=bucket, Key="nothing")
    assert missing.value.response["Error"]["Key"] == "nothing"
    with pytest.raises(ClientError) as head:
        s3.head_object(Bucket=bucket, Key="nothing")
    assert head.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as policy:
        s3.get_bucket_policy(Bucket=bucket)
    assert policy.value.response["Error"]["Code"] == "NoSuchBucketPolicy"
    other = server.client("s3", str(int(account) + 500_000_000))
    with pytest.raises(other.exceptions.BucketAlreadyExists):
        other.create_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as denied:
        other.get_object(Bucket=bucket, Key="nothing")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_multipart_upload_through_s3transfer(s3: Any, account: str) -> None:
    bucket, data = f"wire-{account}", b"z" * (9 * MIB)
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    s3.upload_fileobj(io.BytesIO(data), bucket, "big", Config=config)
    digests = hashlib.md5(data[: 5 * MIB]).digest() + hashlib.md5(data[5 * MIB :]).digest()
    assert s3.head_object(Bucket=bucket, Key="big")["ETag"] == f'"{hashlib.md5(digests).hexdigest()}-2"'
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == data


def test_paginators_and_configuration(s3: Any, account: str) -> None:
    bucket = f"wire-{account}"
    for index in range(5):
        s3.put_object(Bucket=bucket, Key=f"k{index}", Body=b"")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2})
    assert [o["Key"] for page in pages for o in page.get("Contents", [])] == [f"k{i}" for i in range(5)]
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"BlockPublicPolicy": False})
    statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == policy
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "audit"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "team", "Value": "audit"}]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
