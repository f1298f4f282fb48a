"""S3's listings through the service classes: ListObjects and ListObjectsV2 paged over more than 1,000 keys,
with and without a delimiter, checked against a listing computed independently; markers, tokens, KeyCount,
Owner and URL encoding."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import pytest

from tests.support.s3 import S3, fails
from trailbridge.runtime import Trailbridge

KEYS = sorted(
    [f"logs/{i % 13:02d}/{i:05d}.gz" for i in range(1100)]
    + [f"top-{i}" for i in range(30)]
    + ["logs/loose", "logs/zz/deep/er", "a b+c/d", "é/x"]
)


@pytest.fixture(scope="module")
def s3() -> Iterator[S3]:
    tb = Trailbridge(None)
    client = S3(tb.engine)
    client.CreateBucket(Bucket="big")
    for key in KEYS:
        client.PutObject(Bucket="big", Key=key, Body=key.encode())
    yield client
    tb.close()


def expected(prefix: str, delimiter: str | None) -> list[tuple[str, str]]:
    """The whole listing, as ("key", k) and ("prefix", p) entries: a plain reading of S3's rules."""
    entries: list[tuple[str, str]] = []
    for key in sorted(KEYS, key=lambda k: k.encode()):
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix) :]
        if delimiter and delimiter in rest:
            common = prefix + rest[: rest.index(delimiter) + len(delimiter)]
            if ("prefix", common) not in entries:
                entries.append(("prefix", common))
        else:
            entries.append(("key", key))
    return entries


def _entries(page: dict[str, Any]) -> list[tuple[str, str]]:
    found = [("key", c["Key"]) for c in page.get("Contents", [])] + [
        ("prefix", p["Prefix"]) for p in page.get("CommonPrefixes", [])
    ]
    return sorted(found, key=lambda entry: entry[1].encode())


CASES = [("", None), ("", "/"), ("logs/", "/"), ("logs/0", None), ("logs/", "0"), ("nothing", "/"), ("logs/zz/", "/")]


@pytest.mark.parametrize(("prefix", "delimiter"), CASES)
def test_v2_pages_through_everything_once(s3: S3, prefix: str, delimiter: str | None) -> None:
    seen: list[tuple[str, str]] = []
    params: dict[str, Any] = {"Bucket": "big", "Prefix": prefix, "MaxKeys": 7} | (
        {"Delimiter": delimiter} if delimiter else {}
    )
    while True:
        page = s3.ListObjectsV2(**params)
        assert page["KeyCount"] == len(_entries(page)) <= 7
        seen += _entries(page)
        if not page["IsTruncated"]:
            assert "NextContinuationToken" not in page
            break
        assert page["KeyCount"] == 7
        params["ContinuationToken"] = page["NextContinuationToken"]
    assert seen == expected(prefix, delimiter)


@pytest.mark.parametrize(("prefix", "delimiter"), CASES)
def test_v1_pages_with_next_marker_or_the_last_key(s3: S3, prefix: str, delimiter: str | None) -> None:
    seen: list[tuple[str, str]] = []
    params: dict[str, Any] = {"Bucket": "big", "Prefix": prefix, "MaxKeys": 50} | (
        {"Delimiter": delimiter} if delimiter else {}
    )
    while True:
        page = s3.ListObjects(**params)
        seen += _entries(page)
        if not page["IsTruncated"]:
            assert "NextMarker" not in page
            break
        if delimiter:
            params["Marker"] = page["NextMarker"]
        else:
            assert "NextMarker" not in page  # S3 gives NextMarker only with a delimiter
            params["Marker"] = page["Contents"][-1]["Key"]
    assert seen == expected(prefix, delimiter)


def test_the_default_page_is_1000_keys(s3: S3) -> None:
    page = s3.ListObjectsV2(Bucket="big")
    assert (page["KeyCount"], page["MaxKeys"], page["IsTruncated"]) == (1000, 1000, True)
    assert [c["Key"] for c in page["Contents"]] == sorted(KEYS, key=str.encode)[:1000]
    rest = s3.ListObjectsV2(Bucket="big", ContinuationToken=page["NextContinuationToken"], MaxKeys=5000)
    assert rest["KeyCount"] == len(KEYS) - 1000 and not rest["IsTruncated"]


def test_contents_describe_each_object(s3: S3) -> None:
    v2 = s3.ListObjectsV2(Bucket="big", Prefix="top-1", MaxKeys=1)
    content = v2["Contents"][0]
    assert (content["Key"], content["Size"], content["StorageClass"]) == ("top-1", 5, "STANDARD")
    assert content["ETag"] == s3.HeadObject(Bucket="big", Key="top-1")["ETag"]
    assert "Owner" not in content
    owned = s3.ListObjectsV2(Bucket="big", Prefix="top-1", MaxKeys=1, FetchOwner=True)["Contents"][0]
    assert owned["Owner"] == s3.ListBuckets()["Owner"]
    assert s3.ListObjects(Bucket="big", Prefix="top-1", MaxKeys=1)["Contents"][0]["Owner"] == owned["Owner"]


def test_start_after_and_markers_inside_a_common_prefix(s3: S3) -> None:
    after = s3.ListObjectsV2(Bucket="big", StartAfter="top-8", MaxKeys=3)
    assert [c["Key"] for c in after["Contents"]] == ["top-9", "é/x"] and after["StartAfter"] == "top-8"
    skipped = s3.ListObjects(Bucket="big", Delimiter="/", Marker="logs/03/00042.gz", MaxKeys=1)
    assert [c["Key"] for c in skipped["Contents"]] == ["top-0"] and "CommonPrefixes" not in skipped
    inside = s3.ListObjects(Bucket="big", Prefix="logs/", Delimiter="/", Marker="logs/03/00042.gz", MaxKeys=2)
    assert inside["CommonPrefixes"] == [{"Prefix": "logs/04/"}, {"Prefix": "logs/05/"}]


def test_url_encoding(s3: S3) -> None:
    page = s3.ListObjectsV2(Bucket="big", Prefix="a b", Delimiter="/", EncodingType="url")
    assert page["CommonPrefixes"] == [{"Prefix": "a+b%2Bc/"}] and page["Prefix"] == "a+b"
    assert unquote_plus(page["CommonPrefixes"][0]["Prefix"]) == "a b+c/"
    keys = s3.ListObjects(Bucket="big", Prefix="é", EncodingType="url")
    assert [c["Key"] for c in keys["Contents"]] == ["%C3%A9/x"] and keys["EncodingType"] == "url"


def test_listing_errors(s3: S3) -> None:
    fails(s3.ListObjectsV2, "InvalidArgument", 400, Bucket="big", ContinuationToken="!!!")
    fails(s3.ListObjectsV2, "InvalidArgument", 400, Bucket="big", MaxKeys=-1)
    fails(s3.ListObjects, "NoSuchBucket", 404, Bucket="absent")
    empty = s3.ListObjectsV2(Bucket="big", Prefix="nothing")
    assert (empty["KeyCount"], empty["IsTruncated"], "Contents" in empty) == (0, False, True)
