"""`trailbridge trail import`: real CloudTrail log files (all of ../shared/corpora/cloudtrail) into a running
server, resumable, with summaries, from a folder tree, single files and s3://; and the importer's
all-or-nothing file transaction."""

from __future__ import annotations

import gc
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import wait_for
from tests.corpora import corpus
from tests.support.server import Server, free_port
from tests.test_server_events import queue_for
from trailbridge.runtime import Trailbridge
from trailbridge.trail.ingest import _CollectorPause

CLOUDTRAIL = corpus("cloudtrail")
STRATUS = sorted((CLOUDTRAIL / "stratus-red-team").glob("*.json"))
TRAILDISCOVER = sorted((CLOUDTRAIL / "traildiscover").rglob("*.json.cloudtrail"))
PANTHER = CLOUDTRAIL / "panther-rule-tests" / "aws_cloudtrail_rule_tests.jsonl"


def run_import(server: Server, account: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "trailbridge", "trail", "import", *args, "--endpoint-url", server.url]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": account, "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, env=env)


def records_of(path: Path) -> list[dict[str, Any]]:
    """A corpus file's records: a log file's, a JSON array's, or one record (19 TrailDiscover examples)."""
    document = json.loads(path.read_text())
    if isinstance(document, dict):
        return list(document.get("Records", [document]))
    return list(document)


def panther_records() -> list[dict[str, Any]]:
    """The Panther test events' CloudTrail records, without Panther's `p_*` enrichment fields."""
    lines = PANTHER.read_text().splitlines()
    return [{k: v for k, v in json.loads(line)["log"].items() if not k.startswith("p_")} for line in lines]


@pytest.fixture
def corpus_tree(tmp_path: Path) -> Path:
    """The corpus laid out as CloudTrail writes a bucket: AWSLogs/<account>/CloudTrail/<region>/Y/M/D/*.json.gz
    (Stratus Red Team and TrailDiscover, gzipped), plus the Panther records as one plain .json file."""
    root = tmp_path / "bucket"
    for index, path in enumerate([*STRATUS, *TRAILDISCOVER]):
        records = records_of(path)  # a few TrailDiscover files hold no record: empty log files
        first = records[0] if records else {}
        account, region = first.get("recipientAccountId", "111111111111"), first.get("awsRegion", "us-east-1")
        day = first.get("eventTime", "2024-01-01")[:10].replace("-", "/")
        folder = root / "AWSLogs" / account / "CloudTrail" / region / day
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{account}_CloudTrail_{region}_{index:04d}.json.gz"
        (folder / name).write_bytes(gzip.compress(json.dumps({"Records": records}, indent=1).encode(), mtime=0))
    (root / "panther.json").write_text(json.dumps({"Records": panther_records()}, indent=2))
    digest = root / "AWSLogs" / "111111111111" / "CloudTrail-Digest" / "x.json.gz"
    digest.parent.mkdir(parents=True)
    digest.write_bytes(gzip.compress(b'{"digestEndTime": "not a log file"}'))  # digests are not imported
    return root


@pytest.fixture
def own_server() -> Iterator[Server]:
    """A server of the test's own: imports are remembered server-wide, by the files' content."""
    process = Server()
    yield process
    process.stop()


def test_the_whole_corpus_imports_and_resumes(own_server: Server, account: str, corpus_tree: Path) -> None:
    result = run_import(own_server, account, str(corpus_tree))
    panther = panther_records()
    assert sum(len(records_of(p)) for p in [*STRATUS, *TRAILDISCOVER]) == 310 + 315
    # Files with the same content are one file to the importer (the empty ones, and two TrailDiscover examples).
    unique = {json.dumps(records_of(p)): len(records_of(p)) for p in [*STRATUS, *TRAILDISCOVER]}
    stratus_and_traildiscover = sum(unique.values())
    skipped = [line for line in result.stdout.splitlines() if "panther.json:" in line]
    imported = int(result.stdout.split("Imported ", 1)[1].split(" records")[0].replace(",", ""))
    # Every Stratus and TrailDiscover record is imported; Panther's unit-test fragments that lack what every
    # CloudTrail record has (eventTime, eventSource, an account, ...) are reported and skipped.
    assert imported + len(skipped) == stratus_and_traildiscover + len(panther), result.stdout
    assert 0 < len(skipped) < len(panther) / 2
    assert all(("skipped record" in line and "missing or empty" in line) or "account" in line for line in skipped)
    assert result.returncode == 1  # something was skipped
    assert "ssm.amazonaws.com" in result.stdout and "Records by event source" in result.stdout
    files = len(STRATUS) + len(TRAILDISCOVER) + 1
    assert f"files {files}/{files}" in result.stderr
    assert f"{files - len(unique) - 1} files were imported before" in result.stdout
    again = run_import(own_server, account, str(corpus_tree))
    assert "Imported 0 records from 0 files" in again.stdout and f"{files} files were imported before" in again.stdout


def test_resuming_imports_only_what_is_missing(own_server: Server, account: str, tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    for path in STRATUS[:10]:
        shutil.copy(path, folder / path.name)
    first = run_import(own_server, account, str(folder))
    assert first.returncode == 0, first.stdout + first.stderr
    for path in STRATUS[10:]:  # as if the first run had been interrupted after ten files
        shutil.copy(path, folder / path.name)
    second = run_import(own_server, account, str(folder))
    rest = sum(len(records_of(p)) for p in STRATUS[10:])
    assert f"Imported {rest} records from {len(STRATUS) - 10} files" in second.stdout
    assert "10 files were imported before" in second.stdout


def test_event_bus_option_and_rule_summary(own_server: Server, account: str) -> None:
    events = own_server.client("events", account)
    events.create_event_bus(Name="audit")
    sqs, url, queue = queue_for(own_server, account)
    pattern = {"detail-type": ["AWS API Call via CloudTrail"], "detail": {"eventSource": ["ssm.amazonaws.com"]}}
    rule_arn = events.put_rule(Name="ssm", EventBusName="audit", EventPattern=json.dumps(pattern))["RuleArn"]
    events.put_targets(Rule="ssm", EventBusName="audit", Targets=[{"Id": "q", "Arn": queue}])
    ssm = [r for p in STRATUS for r in records_of(p) if r["eventSource"] == "ssm.amazonaws.com"]
    written = [r for r in ssm if not r["eventName"].startswith(("List", "Get", "Describe"))]
    assert written and len(written) < len(ssm)  # the read-only calls are filtered under ENABLED
    result = run_import(own_server, account, str(CLOUDTRAIL / "stratus-red-team"), "--event-bus", "audit")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(written):>9,}  {rule_arn}" in result.stdout
    got: list[dict[str, Any]] = []

    def arrived() -> bool:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            got.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(got) >= len(written)

    wait_for(arrived, timeout=15)
    assert sorted(e["detail"]["eventID"] for e in got) == sorted(r["eventID"] for r in written)
    assert {e["source"] for e in got} == {"aws.ssm"}
    again = run_import(own_server, account, str(CLOUDTRAIL / "stratus-red-team"), "--event-bus", "audit", "--again")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{len(written):>9,}  {rule_arn}" in again.stdout  # every file imported once more
    missing = run_import(own_server, account, str(STRATUS[0]), "--event-bus", "nope")

    assert missing.returncode == 1 and "Event bus nope does not exist" in missing.stderr


def test_records_go_to_the_default_bus_of_their_account_and_lookup_keeps_recent_ones(
    own_server: Server, account: str, tmp_path: Path
) -> None:
    events, trail = own_server.client("events", account), own_server.client("cloudtrail", account)
    sqs, url, queue = queue_for(own_server, account)
    events.put_rule(Name="all", EventPattern=json.dumps({"source": ["aws.s3"]}))
    events.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": queue}])
    now = time.time()
    record = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "accountId": account, "userName": "mallory"},
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600)),
        "eventSource": "s3.amazonaws.com",
        "eventName": "PutBucketPolicy",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9",
        "eventID": str(uuid.uuid4()),
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
    }
    old = {**record, "eventID": str(uuid.uuid4()), "eventTime": "2020-01-01T00:00:00Z"}
    other = {**record, "eventID": str(uuid.uuid4()), "recipientAccountId": "999999999999"}
    log = tmp_path / "one.json.gz"
    log.write_bytes(gzip.compress(json.dumps({"Records": [record, old, other]}).encode()))
    result = run_import(own_server, account, str(log))
    assert result.returncode == 0 and "Imported 3 records from 1 files" in result.stdout, result.stdout
    messages: list[dict[str, Any]] = []
    wait_for(
        lambda: messages.extend(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])) or messages
    )
    time.sleep(0.3)
    messages.extend(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []))
    delivered = sorted(json.loads(m["Body"])["detail"]["eventID"] for m in messages)
    assert delivered == sorted([record["eventID"], old["eventID"]])  # the other account's went to its own bus
    found = trail.lookup_events(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "mallory"}])
    ids = [e["EventId"] for e in found["Events"]]
    assert ids == [record["eventID"]]  # the 2020 record is older than LookupEvents' 90 days


def test_malformed_files_and_records_are_reported_with_their_line(
    own_server: Server, account: str, tmp_path: Path
) -> None:
    good = records_of(STRATUS[0])
    (tmp_path / "a-broken.json").write_text('{"Records": [\n  {"eventName": "x"},\n  oops\n]}')
    (tmp_path / "b-not-a-log.json").write_text('{"something": "else"}')
    (tmp_path / "c-bad-gzip.json.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    mixed = [good[0], {"eventName": "NoTime"}, good[1], "not an object"]
    (tmp_path / "d-mixed.json").write_text(json.dumps(mixed, indent=2))
    result = run_import(own_server, account, str(tmp_path))
    assert result.returncode == 1
    out = result.stdout
    assert "a-broken.json:3: file skipped: not valid JSON" in out
    assert "b-not-a-log.json:1: file skipped: not a CloudTrail log file" in out
    assert "c-bad-gzip.json.gz: file skipped: not a valid gzip file" in out
    lines = json.dumps(mixed, indent=2).splitlines()
    no_time = next(i for i, line in enumerate(lines) if '"eventName": "NoTime"' in line)  # its "{" is the line before
    assert f"d-mixed.json:{no_time}: skipped record 2: missing or empty eventID" in out
    assert "skipped record 4: a record must be a JSON object" in out
    assert "Imported 2 records from 4 files" in out


def test_import_from_s3(own_server: Server, account: str, s3_endpoint: str) -> None:
    s3 = boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    s3.create_bucket(Bucket="org-trail")
    for path in STRATUS[:5]:
        key = f"logs/AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/01/{path.stem}.json.gz"
        s3.put_object(Bucket="org-trail", Key=key, Body=gzip.compress(path.read_bytes()))
    s3.put_object(Bucket="org-trail", Key="elsewhere/x.json.gz", Body=gzip.compress(b"[]"))
    result = run_import(own_server, account, "s3://org-trail/logs/", "--s3-endpoint-url", s3_endpoint)
    expected = sum(len(records_of(p)) for p in STRATUS[:5])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Imported {expected} records from 5 files" in result.stdout


def test_records_of_odd_shapes_are_imported() -> None:
    """Fields LookupEvents and trail selectors read may hold anything in a foreign log file."""
    recent = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    base = {"eventTime": recent, "eventSource": "s3.amazonaws.com", "awsRegion": "us-east-1"}
    base |= {"recipientAccountId": "123456789012", "eventName": "PutObject"}
    odd = [
        {**base, "eventID": "1", "resources": ["arn:aws:s3:::b"], "userIdentity": "root"},
        {**base, "eventID": "2", "resources": {"ARN": "x"}, "userIdentity": {"userName": 7}, "readOnly": "yes"},
        {**base, "eventID": "3", "resources": [{"ARN": ["not", "text"], "type": None}]},
    ]
    with Trailbridge(None) as tb:
        result = tb.importer.import_file("odd.json", json.dumps(odd).encode())
        assert (result.records, result.skipped, result.error) == (3, [], None)
        assert len(tb.cloudtrail().lookup_events()["Events"]) == 3


def test_a_file_is_imported_whole_or_not_at_all() -> None:
    recent = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    where = {"eventTime": recent, "recipientAccountId": "123456789012", "awsRegion": "us-east-1"}
    records = [{**record, **where} for record in records_of(STRATUS[0])]
    data = json.dumps(records).encode()
    with Trailbridge(None) as tb:
        calls = 0
        router = tb.engine.router
        route = router.record

        def failing(*args: Any, **kwargs: Any) -> int:
            nonlocal calls
            calls += 1
            if calls == 3:
                raise OSError("disk full")
            return route(*args, **kwargs)

        router.record = failing  # type: ignore[method-assign]
        with pytest.raises(OSError):
            tb.importer.import_file("f", data)
        lookup = tb.cloudtrail()
        assert lookup.lookup_events()["Events"] == []  # nothing of the file is kept
        router.record = route  # type: ignore[method-assign]
        result = tb.importer.import_file("f", data)
        assert result.records == len(records) and not result.duplicate
        assert len(lookup.lookup_events()["Events"]) == len(records)
        assert tb.importer.import_file("f", data).duplicate
        assert tb.importer.import_file("f.gz", gzip.compress(data)).duplicate  # the same file, compressed
        assert gc.isenabled()  # the import paused the collector, and a failed import resumed it too


def test_a_file_imported_before_is_imported_again_only_when_asked() -> None:
    recent = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    where = {"eventTime": recent, "recipientAccountId": "123456789012", "awsRegion": "us-east-1"}
    records = [{**record, **where} for record in records_of(STRATUS[0])]
    data = json.dumps(records).encode()
    with Trailbridge(None) as tb:
        events = tb.events()
        bus = events.create_event_bus(Name="audit")["EventBusArn"]
        pattern = json.dumps({"detail-type": ["AWS API Call via CloudTrail"]})
        rule = events.put_rule(Name="all", EventBusName="audit", EventPattern=pattern)["RuleArn"]
        queue = tb.sqs().create_queue(QueueName="q")["QueueUrl"].rsplit("/", 1)[1]
        target = {"Id": "q", "Arn": f"arn:aws:sqs:us-east-1:123456789012:{queue}"}
        events.put_targets(Rule="all", EventBusName="audit", Targets=[target])
        assert tb.importer.import_file("f", data).records == len(records)  # into the default bus
        assert tb.importer.import_file("f", data, bus).duplicate
        again = tb.importer.import_file("f", data, bus, again=True)
        assert not again.duplicate and again.records == len(records)
        assert again.rules[rule] == len(
            [r for r in records if not r["eventName"].startswith(("Get", "List", "Describe"))]
        )
        assert len(tb.cloudtrail().lookup_events(MaxResults=50)["Events"]) == min(50, 2 * len(records))


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_the_collector_pause_ends_with_the_last_import_and_collects_during_long_overlaps() -> None:
    pause = _CollectorPause(longest=3600)
    with pytest.raises(OSError), pause():
        assert not gc.isenabled()
        raise OSError("the import failed")
    assert gc.isenabled()
    gc.disable()  # a process that runs without the collector keeps it off
    try:
        with pause():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()

    overlapping = _CollectorPause(longest=0)
    with overlapping():
        with overlapping():
            cycle = weakref.ref(_Cycle())
            assert cycle() is not None  # garbage, which only the collector can free
        assert cycle() is None  # the pause had lasted `longest`: the first import to end collected
        assert not gc.isenabled()  # the other import goes on, paused
    assert gc.isenabled()


def test_the_import_endpoint_answers_bad_input_clearly(server: Server, account: str) -> None:
    scope = f"{account}/20260101/us-east-1/cloudtrail/aws4_request"
    auth = {"Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=unsigned"}
    url = server.url + "/_trailbridge/import?name=x.json"
    answer = server.http.request("POST", url, body=b"\x1f\x8b garbage", headers=auth)
    assert answer.status == 200 and json.loads(answer.data)["error"]["message"].startswith("not a valid gzip file")
    answer = server.http.request("POST", url + "&eventBus=arn:aws:sqs:us-east-1:1:q", body=b"[]", headers=auth)
    assert answer.status == 400 and json.loads(answer.data)["__type"] == "ValidationException"
    other = f"arn:aws:events:us-east-1:{int(account) + 1}:event-bus/default"
    answer = server.http.request("POST", url + f"&eventBus={other}", body=b"[]", headers=auth)
    assert answer.status == 400 and json.loads(answer.data)["__type"] == "AccessDeniedException"


def test_import_stops_clearly_when_the_server_is_away(account: str, tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("[]")
    command = [sys.executable, "-m", "trailbridge", "trail", "import", str(tmp_path), "--endpoint-url"]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": account, "AWS_SECRET_ACCESS_KEY": "x"}
    result = subprocess.run(
        [*command, f"http://127.0.0.1:{free_port()}"], capture_output=True, text=True, env=env, check=False
    )
    assert (
        result.returncode == 1
        and "cannot reach the server" in result.stderr
        and "run the same command again" in result.stderr
    )
