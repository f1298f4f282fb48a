"""Every AWS API on one endpoint: calls/s through `trailbridge serve` and through moto's own server, in one run.

    pip install -e '.[bench]' && python bench/aws.py [--seconds 5] [--connections 16] [--quick]

The calls: STS GetCallerIdentity (query protocol; moto's STS behind trailbridge), EC2 DescribeInstances (the EC2
protocol, moto's EC2 behind trailbridge, 10 instances), S3 PutObject and GetObject of 4 KB objects (REST-XML;
trailbridge's own durable S3). Each is sent as the same fixed request on N keep-alive connections for a few
seconds. trailbridge runs twice: with no trail, and with a logging trail whose selectors take management events
and S3 data events (so every call above also goes to its log files). moto records nothing; it is the peer.

Printed: calls/s per call and setup, the cost of the trail (1 - with / without), and trailbridge / moto.
Targets (issue 15): a logging trail costs at most 20% of the throughput; S3 PutObject of 4 KB >= 1,000
objects/s, durable (SQLite, synchronous commits: an answered PutObject survives a crash).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import boto3

from bench.server import ACCOUNT, percentile, running

BUCKET, TRAIL_BUCKET = "bench-objects", "bench-trail"
OBJECT = b"x" * 4096
KEYS = 1_000  # objects GetObject reads in turn (PutObject writes them first)


def _auth(service: str) -> dict[str, str]:
    """An Authorization header naming the account and service (not verified: the servers run without --auth)."""
    scope = f"{ACCOUNT}/20260101/us-east-1/{service}/aws4_request"
    return {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host;x-amz-date, Signature=0",
        "X-Amz-Date": "20260101T000000Z",
    }


_FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
# call -> (method, path for request i, body, headers)
CALLS: dict[str, Callable[[int], tuple[str, str, bytes, dict[str, str]]]] = {
    "sts GetCallerIdentity": lambda i: (
        "POST",
        "/",
        b"Action=GetCallerIdentity&Version=2011-06-15",
        {**_FORM, **_auth("sts")},
    ),
    "ec2 DescribeInstances": lambda i: (
        "POST",
        "/",
        b"Action=DescribeInstances&Version=2016-11-15",
        {**_FORM, **_auth("ec2")},
    ),
    "s3 PutObject 4 KB": lambda i: (
        "PUT",
        f"/{BUCKET}/key-{i % KEYS}",
        OBJECT,
        {"x-amz-content-sha256": "UNSIGNED-PAYLOAD", **_auth("s3")},
    ),
    "s3 GetObject 4 KB": lambda i: (
        "GET",
        f"/{BUCKET}/key-{i % KEYS}",
        b"",
        {"x-amz-content-sha256": "UNSIGNED-PAYLOAD", **_auth("s3")},
    ),
}


def _client(url: str, service: str) -> Any:
    return boto3.client(
        service, endpoint_url=url, region_name="us-east-1", aws_access_key_id=ACCOUNT, aws_secret_access_key="x"
    )


def set_up(url: str, trail: bool) -> None:
    """The bucket and instances every setup has; `trail`: a logging trail of management and S3 data events."""
    s3 = _client(url, "s3")
    s3.create_bucket(Bucket=BUCKET)
    for i in range(KEYS):
        s3.put_object(Bucket=BUCKET, Key=f"key-{i}", Body=OBJECT)
    ec2 = _client(url, "ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=10, MaxCount=10)
    if trail:
        s3.create_bucket(Bucket=TRAIL_BUCKET)
        cloudtrail = _client(url, "cloudtrail")
        cloudtrail.create_trail(Name="bench", S3BucketName=TRAIL_BUCKET)
        selectors = [
            {"Name": "management", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]},
            {
                "Name": "objects",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                ],
            },
        ]
        cloudtrail.put_event_selectors(TrailName="bench", AdvancedEventSelectors=selectors)
        cloudtrail.start_logging(Name="bench")


async def saturate(url: str, call: str, seconds: float, connections: int) -> tuple[float, list[float]]:
    """Calls/s answered 2xx and their latencies, `connections` requests always in flight."""
    make = CALLS[call]
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:

        async def worker(offset: int) -> None:
            i = offset
            while time.perf_counter() < deadline:
                method, path, body, headers = make(i)
                started = time.perf_counter()
                async with session.request(method, url + path, data=body, headers=headers) as response:
                    answer = await response.read()
                if response.status >= 300:
                    raise RuntimeError(f"{call}: {response.status} {answer[:300]!r}")
                latencies.append(time.perf_counter() - started)
                i += connections

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(connections)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies


def measure(server: str, trail: bool, seconds: float, connections: int) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as data_dir, running(server, data_dir) as url:
        set_up(url, trail)
        for call in CALLS:
            rate, latencies = asyncio.run(saturate(url, call, seconds, connections))
            setup = f"{server}{' + trail' if trail else ''}"
            rows.append({"setup": setup, "call": call, "per_s": rate, "p50_ms": percentile(latencies, 0.5)})
            rows[-1]["p99_ms"] = percentile(latencies, 0.99)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="2 s per call")
    args = parser.parse_args()
    seconds = 2 if args.quick else args.seconds
    rows = [
        *measure("trailbridge", False, seconds, args.connections),
        *measure("trailbridge", True, seconds, args.connections),
        *measure("moto", False, seconds, args.connections),
    ]
    rate = {(row["setup"], row["call"]): row["per_s"] for row in rows}
    print(f"calls/s through one endpoint, {args.connections} connections, {seconds:g} s per call")
    print(f"{'call':<24} {'trailbridge':>12} {'+ trail':>10} {'trail cost':>11} {'moto':>10} {'tb / moto':>10}")
    summary = []
    for call in CALLS:
        alone, trailed, moto = (rate[(setup, call)] for setup in ("trailbridge", "trailbridge + trail", "moto"))
        cost, ratio = 1 - trailed / alone, alone / moto
        summary.append({"call": call, "trail_cost": cost, "trailbridge_over_moto": ratio})
        print(f"{call:<24} {alone:>12,.0f} {trailed:>10,.0f} {cost:>10.0%} {moto:>10,.0f} {ratio:>9.2f}x")
    print("targets: a logging trail costs <= 20%; s3 PutObject 4 KB >= 1,000/s (durable)")
    print(json.dumps({"rows": rows, "summary": summary}))


if __name__ == "__main__":
    main()
