"""CloudTrail benchmark: records/s recorded and routed, call-to-target latency, LookupEvents latency.

1. Against `trailbridge serve` with a logging trail and 100 rules on `aws.events` API calls (one of them
   delivering to a queue): management calls (`PutRule` updates) from 16 concurrent connections for N seconds,
   each recorded, kept for LookupEvents and routed to the default bus: calls/s.
2. Call-to-target latency (measured first): `PutRule` calls paced at 200/s; each call's record reaches the
   queue; latency is the queue's receipt time minus the moment the call returned (long polling).
3. LookupEvents over a store of `--records` records (written straight through the recorder): p50/p99 of
   a lookup by EventName, by Username, and unfiltered, 50 results each.

    python bench/trail.py [--quick] [--records 1000000] [--baseline DIR]

`--baseline DIR` (a checkout of an earlier commit with its C core built, e.g. `git worktree add DIR <commit>`
and `python3 setup.py build_ext --inplace` there) measures calls/s of that commit too, in the same run, in
alternating rounds, and prints the ratio: how issue 13's durable records (a call waits for its record's
commit) compare with records written after the answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server import ACCOUNT, running

from trailbridge.runtime import Trailbridge
from trailbridge.settings import Settings
from trailbridge.storage.backends import open_ports
from trailbridge.storage.ports import Bucket

HEADERS = {
    "Content-Type": "application/x-amz-json-1.1",
    "X-Amz-Target": "AWSEvents.PutRule",
    "Authorization": f"AWS4-HMAC-SHA256 Credential={ACCOUNT}/20260101/us-east-1/events/aws4_request, "
    "SignedHeaders=host, Signature=0",
}


def clients(url: str) -> dict[str, Any]:
    common = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": ACCOUNT}
    common["aws_secret_access_key"] = "x"
    return {name: boto3.client(name, **common) for name in ("events", "sqs", "cloudtrail")}


def make_bucket(data_dir: str, source: str | None) -> None:
    """The trail's bucket, in the server's store (opened beside it); for a baseline from before trail buckets
    moved into the store, a folder in its data directory (opening its store here would migrate it)."""
    if source is not None:
        (Path(data_dir) / "buckets" / "bench").mkdir(parents=True, exist_ok=True)
        return
    ports = open_ports(Settings(), Path(data_dir))
    try:
        ports.objects.create_bucket(Bucket("bench", ACCOUNT, "us-east-1", time.time(), {}))
    finally:
        ports.store.close()


def set_up(url: str, data_dir: str, source: str | None = None) -> str:
    make_bucket(data_dir, source)
    api = clients(url)
    api["cloudtrail"].create_trail(Name="bench", S3BucketName="bench")
    api["cloudtrail"].start_logging(Name="bench")
    queue = api["sqs"].create_queue(QueueName="calls")["QueueUrl"]
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:calls"
    for i in range(100):
        pattern = {"source": ["aws.events"], "detail": {"requestParameters": {"name": [f"watched-{i}"]}}}
        api["events"].put_rule(Name=f"rule-{i}", EventPattern=json.dumps(pattern))
        api["events"].put_targets(Rule=f"rule-{i}", Targets=[{"Id": "q", "Arn": arn}])
    return str(queue)


def put_rule_body(name: str) -> bytes:
    return json.dumps({"Name": name, "EventPattern": '{"source": ["bench.none"]}'}).encode()


async def throughput(url: str, seconds: float, connections: int) -> float:
    deadline = time.perf_counter() + seconds
    calls = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:

        async def worker(n: int) -> None:
            nonlocal calls
            while time.perf_counter() < deadline:
                name = f"watched-{(n * 7 + calls) % 100}"
                async with session.post(url + "/", data=put_rule_body(name), headers=HEADERS) as response:
                    await response.read()
                    assert response.status == 200, response.status
                calls += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(connections)))
        return calls / (time.perf_counter() - started)


def latency(url: str, queue_url: str, rate: int, seconds: float) -> list[float]:
    api = clients(url)
    api["sqs"].purge_queue(QueueUrl=queue_url)
    returned: dict[str, float] = {}
    latencies: list[float] = []
    calling = threading.Event()
    calling.set()

    def receive() -> None:
        reader = clients(url)["sqs"]
        drain_until = float("inf")
        while time.perf_counter() < drain_until and (calling.is_set() or len(latencies) < len(returned)):
            if not calling.is_set() and drain_until == float("inf"):
                drain_until = time.perf_counter() + 10
            answer = reader.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            now = time.perf_counter()
            messages = answer.get("Messages", [])
            for message in messages:
                token = json.loads(message["Body"])["detail"]["requestParameters"].get("description")
                if token in returned:
                    latencies.append(now - returned[token])
            if messages:
                entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
                reader.delete_message_batch(QueueUrl=queue_url, Entries=entries)

    reader = threading.Thread(target=receive)
    reader.start()
    events = api["events"]
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        token = uuid.uuid4().hex
        events.put_rule(Name=f"watched-{i % 100}", EventPattern='{"source": ["x"]}', Description=token)
        returned[token] = time.perf_counter()
    calling.clear()
    reader.join()
    return latencies


def lookup_latency(records: int) -> dict[str, tuple[float, float]]:
    with tempfile.TemporaryDirectory() as directory:
        tb = Trailbridge(Path(directory))
        tb.start()  # the recorder's thread writes in batches
        base = time.time() - records * 0.01
        template = {
            "eventVersion": "1.11",
            "eventSource": "events.amazonaws.com",
            "awsRegion": "us-east-1",
            "recipientAccountId": ACCOUNT,
            "readOnly": False,
            "eventType": "AwsApiCall",
        }
        for i in range(records):
            stamp = base + i * 0.01
            record = {
                **template,
                "eventID": str(uuid.UUID(int=i)),
                "eventName": f"Op{i % 200}",
                "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp)),
                "userIdentity": {"type": "IAMUser", "userName": f"user-{i % 1000}", "accessKeyId": f"AK{i % 1000}"},
            }
            tb.recorder.record(stamp, record)
        tb.recorder.stop()  # writes what is left
        trail = tb.cloudtrail(ACCOUNT, "us-east-1")
        queries = {
            "by EventName": {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "Op7"}]},
            "by Username": {"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "user-42"}]},
            "unfiltered": {},
        }
        results = {}
        for name, params in queries.items():
            samples = []
            for _ in range(50):
                started = time.perf_counter()
                found = trail.lookup_events(MaxResults=50, **params)
                samples.append(time.perf_counter() - started)
                assert len(found["Events"]) == 50
            samples.sort()
            results[name] = (statistics.median(samples) * 1000, samples[int(0.99 * len(samples))] * 1000)
        tb.close()
    return results


def calls_per_second(seconds: float, source: str | None) -> float:
    with tempfile.TemporaryDirectory() as data_dir, running("trailbridge", data_dir, source=source) as url:
        set_up(url, data_dir, source)
        return asyncio.run(throughput(url, seconds, 16))


def compare(baseline: str, seconds: float, rounds: int = 3) -> None:
    """calls/s of this tree and of `baseline`, alternating, each its best of `rounds`."""
    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(calls_per_second(seconds, None))
        theirs.append(calls_per_second(seconds, baseline))
    print(f"calls/s, best of {rounds}: this tree {max(ours):,.0f}, baseline {max(theirs):,.0f}", end=" ")
    print(f"(ratio {max(ours) / max(theirs):.2f}; rounds {[round(n) for n in ours]} vs {[round(n) for n in theirs]})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="3 s runs, 100,000 records")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--baseline", help="a checkout of another commit to compare calls/s with")
    args = parser.parse_args()
    seconds = 3 if args.quick else 10
    records = 100_000 if args.quick else args.records
    with tempfile.TemporaryDirectory() as data_dir, running("trailbridge", data_dir) as url:
        queue = set_up(url, data_dir)
        # Latency first, so the backlog of deliveries the saturating run leaves does not weigh on it.
        samples = sorted(latency(url, queue, 200, seconds))
        calls = asyncio.run(throughput(url, seconds, 16))
    if args.baseline:
        compare(args.baseline, seconds)
    lookups = lookup_latency(records)
    p50 = samples[len(samples) // 2] * 1000 if samples else float("nan")
    p99 = samples[int(0.99 * (len(samples) - 1))] * 1000 if samples else float("nan")
    print(f"management calls recorded and routed (100 rules), calls/s: {calls:,.0f}")
    count = len(samples)
    print(f"call-to-target latency at 200 calls/s: p50 {p50:.1f} ms, p99 {p99:.1f} ms ({count} calls; p99 < 1 s)")
    for name, (q50, q99) in lookups.items():
        print(f"LookupEvents {name} over {records:,} records: p50 {q50:.2f} ms, p99 {q99:.2f} ms")
    print(json.dumps({"calls_per_s": calls, "latency_ms": [p50, p99], "lookup_ms": lookups, "records": records}))


if __name__ == "__main__":
    main()
