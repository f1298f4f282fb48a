"""Issue 13, item 5: nothing is written outside the data directory. CreateTrail/UpdateTrail refuse an
S3KeyPrefix that could leave its bucket (InvalidS3PrefixException, as AWS names it); below that, the buckets
(objects in the store, no file) refuse keys with a `.` or `..` segment or a NUL byte; and one trail that
cannot write stops no other trail's log files or digests."""

from __future__ import annotations

import gzip
import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.buckets import create_bucket, create_served_bucket, keys, read
from tests.support.server import Server
from trailbridge.clock import ManualClock
from trailbridge.errors import NotFoundError
from trailbridge.runtime import Trailbridge
from trailbridge.settings import Settings
from trailbridge.storage.ports import Objects, Scope
from trailbridge.trail.buckets import StoreBuckets, UnsafeKeyError

ACCOUNT = "123456789012"
ESCAPING_PREFIXES = ["../../../ESC", "a/../../../ESC", "..", "./x", "/abs", "a\x00b", "a\nb", "x" * 201]


@pytest.mark.parametrize("prefix", ESCAPING_PREFIXES, ids=range(len(ESCAPING_PREFIXES)))
def test_create_and_update_trail_refuse_a_prefix_that_leaves_the_bucket(
    server: Server, account: str, bucket: str, prefix: str
) -> None:
    cloudtrail = server.client("cloudtrail", account)
    name = "t" + uuid.uuid4().hex[:8]
    with pytest.raises(ClientError) as refused:
        cloudtrail.create_trail(Name=name, S3BucketName=bucket, S3KeyPrefix=prefix)
    assert refused.value.response["Error"]["Code"] == "InvalidS3PrefixException"
    cloudtrail.create_trail(Name=name, S3BucketName=bucket, S3KeyPrefix="fine/prefix")
    with pytest.raises(ClientError) as refused:
        cloudtrail.update_trail(Name=name, S3KeyPrefix=prefix)
    assert refused.value.response["Error"]["Code"] == "InvalidS3PrefixException"
    assert cloudtrail.get_trail(Name=name)["Trail"]["S3KeyPrefix"] == "fine/prefix"
    cloudtrail.delete_trail(Name=name)
    assert not (server.data.parent / "ESC").exists() and not Path("/abs").exists()


def test_a_prefix_of_200_characters_and_dots_inside_segments_are_accepted(
    server: Server, account: str, bucket: str
) -> None:
    cloudtrail = server.client("cloudtrail", account)
    for prefix in ("p" * 200, "a..b/.c/d./", "logs/2026"):
        name = "t" + uuid.uuid4().hex[:8]
        assert cloudtrail.create_trail(Name=name, S3BucketName=bucket, S3KeyPrefix=prefix)["S3KeyPrefix"] == prefix
        cloudtrail.delete_trail(Name=name)


@pytest.mark.parametrize("name", ["a..b", "192.168.1.1", "..", "-ab", "Ab"])
def test_create_trail_refuses_a_bucket_name_s3_refuses(server: Server, account: str, name: str) -> None:
    create_served_bucket(server.data, name)  # even where such a bucket exists
    with pytest.raises(ClientError) as refused:
        server.client("cloudtrail", account).create_trail(Name="t" + uuid.uuid4().hex[:8], S3BucketName=name)
    assert refused.value.response["Error"]["Code"] == "InvalidS3BucketNameException"


def test_buckets_refuse_keys_a_url_or_the_store_cannot_hold() -> None:
    with Trailbridge(None) as tb:
        create_bucket(tb.engine.objects, "b")
        buckets = StoreBuckets(tb.engine.objects, ManualClock(1_000.0))
        buckets.put("b", "AWSLogs/x.json.gz", b"1", {"x-amz-meta-signature": "s"})
        item = tb.engine.objects.head("b", "AWSLogs/x.json.gz")
        assert item is not None and (item.etag, item.size, item.modified) == (
            "c4ca4238a0b923820dcc509a6f75849b",
            1,
            1_000.0,
        )
        assert item.headers == {"Metadata": {"signature": "s"}}
        for key in ["../../outside/x", "a/../../outside/x", "a/./x", ".", "a\x00b", "", "k" * 1025]:
            with pytest.raises(UnsafeKeyError):
                buckets.put("b", key, b"1")
        with pytest.raises(NotFoundError):
            buckets.put("missing", "x", b"1")
        assert [found.key for found in tb.engine.objects.scan("b", "", "", 10)] == ["AWSLogs/x.json.gz"]
        assert buckets.exists("b") and not buckets.exists("missing") and not buckets.exists("..")


def _records(objects: Objects, key: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(gzip.decompress(read(objects, "logs", key)))["Records"]
    return records


def _record(name: str) -> tuple[float, dict[str, Any]]:
    now = time.time()
    return now, {
        "eventVersion": "1.09",
        "eventID": str(uuid.uuid4()),
        "eventName": name,
        "eventSource": "events.amazonaws.com",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "awsRegion": "us-east-1",
        "recipientAccountId": ACCOUNT,
        "userIdentity": {"type": "IAMUser", "accountId": ACCOUNT},
        "readOnly": False,
        "managementEvent": True,
        "eventType": "AwsApiCall",
    }


def test_a_bad_trail_below_the_validation_writes_nothing_outside_and_stops_no_other_trail(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    clock = ManualClock(time.time())
    tb = Trailbridge(data, Settings(trail_delivery_seconds=1, digest_seconds=2), clock)
    try:
        objects = tb.engine.objects
        create_bucket(objects, "logs")
        trails = tb.trails()
        # Bad trails (at most 5 trails a region), named to come before the good one: the stored documents say
        # what validation refuses.
        bad = {
            "aa-escape": {"S3KeyPrefix": "../../../ESC"},
            "ab-nul": {"S3KeyPrefix": "a\x00b"},
            "ae-bucket": {"S3BucketName": "../../../ESCB"},  # no such bucket
        }
        for name in [*bad, "zz-good"]:
            trails.create_trail(Name=name, S3BucketName="logs", EnableLogFileValidation=True)
            trails.start_logging(Name=name)
        resources = tb.engine.resources
        for name, change in bad.items():
            arn = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{name}"
            doc = resources.get(arn)
            assert doc is not None
            resources.put(Scope("trail", ACCOUNT, "us-east-1"), name, arn, {**doc, **change})
        caplog.set_level(logging.INFO, logger="trailbridge.trail")
        for second in range(6):
            tb.recorder.record(*_record(f"Call{second}"))
            clock.advance(1.0)
            tb.engine.trail_files.write_due()
        good_files = keys(objects, "logs", f"{ACCOUNT}_CloudTrail_us-east-1_*.json.gz")
        good_digests = keys(objects, "logs", "*_CloudTrail-Digest_us-east-1_zz-good_*.json.gz")
        assert good_files and len(good_digests) >= 2
        names = {r["eventName"] for key in good_files for r in _records(objects, key)}
        assert {f"Call{i}" for i in range(6)} <= names
        # Nothing outside the bucket, and no file at all: the objects are in the database.
        assert {key.split("/")[0] for key in keys(objects, "logs")} == {"AWSLogs"}
        assert [p.name for p in tmp_path.iterdir()] == ["data"] and not [p for p in data.rglob("*") if p.is_dir()]
        # Each bad trail's failure is logged once per kind of work, not every second.
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        for name in bad:
            mine = [m for m in errors if f"trail/{name} failed" in m]
            kinds = {m.split(" of trail ")[0] for m in mine}
            assert len(mine) == len(kinds) and kinds >= {"log files in us-east-1", "digests in us-east-1"}, mine
        # A bad trail can still be deleted; its final files are refused like the others.
        for name in bad:
            trails.delete_trail(Name=name)
        assert {key.split("/")[0] for key in keys(objects, "logs")} == {"AWSLogs"}
        assert [p.name for p in tmp_path.iterdir()] == ["data"]
        assert [t["Name"] for t in trails.describe_trails()["trailList"]] == ["zz-good"]
    finally:
        tb.close()


def test_a_region_that_is_a_path_never_reaches_a_log_file_key(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An imported record's awsRegion is refused at the edge; a pending record of such a region stored below
    that check is refused by the bucket, and the trail's other regions are written all the same."""
    data = tmp_path / "data"
    clock = ManualClock(time.time())
    tb = Trailbridge(data, Settings(trail_delivery_seconds=1, digest_seconds=2), clock)
    try:
        objects = tb.engine.objects
        create_bucket(objects, "logs")
        trails = tb.trails()
        trails.create_trail(Name="multi", S3BucketName="logs", IsMultiRegionTrail=True, EnableLogFileValidation=True)
        trails.start_logging(Name="multi")
        records = [{**_record("Imported")[1], "awsRegion": region} for region in ("../../x", "us-east-1\x00", "eu/x")]
        records.append(_record("ImportedGood")[1])
        result = tb.importer.import_file("regions.json", json.dumps({"Records": records}).encode())
        assert result.records == 1 and [p.message.split(":")[1].split()[0] for p in result.skipped] == ["awsRegion"] * 3
        arn = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/multi"
        planted = json.dumps(_record("Planted")[1]).encode()
        with tb.store.transaction():
            tb.store.run("trail_log_pending_add", (arn, "../../../../../x", clock.now(), planted))
            tb.store.run("trail_log_pending_add", (arn, "us-west-2\x00", clock.now(), planted))
        caplog.set_level(logging.INFO, logger="trailbridge.trail")
        for _ in range(4):
            tb.recorder.record(*_record("Live"))
            clock.advance(1.0)
            tb.engine.trail_files.write_due()
        files = keys(objects, "logs", f"{ACCOUNT}_CloudTrail_us-east-1_*.json.gz")
        names = {r["eventName"] for key in files for r in _records(objects, key)}
        assert {"ImportedGood", "Live"} <= names and "Planted" not in names
        assert keys(objects, "logs", "*_CloudTrail-Digest_us-east-1_multi_*.json.gz")
        assert not [key for key in keys(objects, "logs") if "/x/" in key or "\x00" in key]
        assert not [p for p in tmp_path.rglob("*") if p.name == "x" or "\x00" in str(p)]
        assert not (tmp_path.parent / "x").exists()
        errors = [
            r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and "trail/multi" in r.getMessage()
        ]
        assert sorted(m.split(" of trail ")[0] for m in errors) == [
            "log files in ../../../../../x",
            "log files in us-west-2\x00",
        ]
    finally:
        tb.close()
