"""PutEvents over HTTP: trailbridge serve vs moto's server, in one run.

Each server gets the same set-up through boto3 (a queue, 100 rules each with that queue as target; the
events match one rule each), then the same load from an async generator: batches of 10 entries on N
concurrent keep-alive connections. Printed per server: events/s accepted (every entry answered with an
EventId), p50/p99 request latency under that load, and (trailbridge only: moto cannot sustain it)
p50/p99 at a paced 1,000 events/s, measured first; then the ratio.
Targets (issue 4): >= 5,000 events/s accepted durably, >= 10x moto, p99 <= 50 ms at 1,000 events/s.

    pip install -e '.[bench]' && python bench/server.py [--seconds 10] [--connections 32] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import boto3
import urllib3

RULES = 100
ACCOUNT = "123456789012"
HEADERS = {
    "X-Amz-Target": "AWSEvents.PutEvents",
    "Content-Type": "application/x-amz-json-1.1",
    "Authorization": f"AWS4-HMAC-SHA256 Credential={ACCOUNT}/20260101/us-east-1/events/aws4_request, "
    "SignedHeaders=host;x-amz-date;x-amz-target, Signature=0",
    "X-Amz-Date": "20260101T000000Z",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(name: str, data_dir: str, prefix: tuple[str, ...] = (), source: str | None = None) -> Iterator[str]:
    """A server process; `prefix` goes before its command (e.g. taskset -c 1 to pin it); `source`, a checkout
    of another trailbridge commit to run instead of this one (for a comparison in one run)."""
    port = free_port()
    if name == "trailbridge":
        command = [*prefix, sys.executable, "-m", "trailbridge", "serve", "--port", str(port), "--data", data_dir]
        command += ["--log-level", "WARNING"]
    else:
        command = [os.path.join(os.path.dirname(sys.executable), "moto_server"), "-p", str(port)]
    env = {**os.environ, "PYTHONPATH": source} if source else None
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    http = urllib3.PoolManager()
    for _ in range(200):
        try:
            http.request("GET", url + ("/health" if name == "trailbridge" else "/moto-api/"), retries=False)
            break
        except urllib3.exceptions.HTTPError:
            time.sleep(0.05)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(30)


def set_up(url: str) -> None:
    common = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": ACCOUNT}
    common["aws_secret_access_key"] = "x"
    sqs, events = boto3.client("sqs", **common), boto3.client("events", **common)
    queue_url = sqs.create_queue(QueueName="sink")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for i in range(RULES):
        pattern = {"source": ["bench.app"], "detail": {"eventName": [f"Op{i}"]}}
        events.put_rule(Name=f"rule-{i}", EventPattern=json.dumps(pattern))
        events.put_targets(Rule=f"rule-{i}", Targets=[{"Id": "q", "Arn": arn}])


def body(batch: int) -> bytes:
    entries = [
        {"Source": "bench.app", "DetailType": "call", "Detail": json.dumps({"eventName": f"Op{(batch + j) % RULES}"})}
        for j in range(10)
    ]
    return json.dumps({"Entries": entries}).encode()


async def post(session: aiohttp.ClientSession, url: str, payload: bytes) -> float:
    started = time.perf_counter()
    async with session.post(url + "/", data=payload, headers=HEADERS) as response:
        answer = await response.read()
    if response.status != 200 or json.loads(answer).get("FailedEntryCount"):
        raise RuntimeError(f"PutEvents failed: {response.status} {answer[:200]!r}")
    return time.perf_counter() - started


async def saturate(url: str, seconds: float, connections: int) -> tuple[float, list[float]]:
    """Events/s accepted and request latencies, `connections` requests always in flight."""
    payloads = [body(i) for i in range(64)]
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker(offset: int) -> None:
            i = offset
            while time.perf_counter() < deadline:
                latencies.append(await post(session, url, payloads[i % len(payloads)]))
                i += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(connections)))
        elapsed = time.perf_counter() - started
    return len(latencies) * 10 / elapsed, latencies


async def paced(url: str, events_per_second: int, seconds: float) -> list[float]:
    """Request latencies at a fixed offered load (batches of 10)."""
    interval = 10 / events_per_second
    payload = body(0)
    async with aiohttp.ClientSession() as session:
        tasks = []
        start = time.perf_counter()
        for i in range(int(seconds * events_per_second / 10)):
            delay = start + i * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(session, url, payload)))
        return list(await asyncio.gather(*tasks))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def measure(name: str, seconds: float, connections: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data_dir, running(name, data_dir) as url:
        set_up(url)
        # The paced run first, so the backlog of deliveries the saturating run leaves does not weigh on it.
        steady = asyncio.run(paced(url, 1000, min(seconds, 5))) if name == "trailbridge" else []
        rate, latencies = asyncio.run(saturate(url, seconds, connections))
    return {
        "server": name,
        "accepted_per_s": rate,
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "paced_p50_ms": percentile(steady, 0.5),
        "paced_p99_ms": percentile(steady, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="3 s per server")
    args = parser.parse_args()
    seconds = 3 if args.quick else args.seconds
    results = [measure(name, seconds, args.connections) for name in ("trailbridge", "moto")]
    print(f"PutEvents over HTTP, batches of 10, {args.connections} connections, {RULES} rules -> one queue")
    print(f"{'server':<12} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'@1k/s p50':>10} {'@1k/s p99':>10}")
    for r in results:
        print(
            f"{r['server']:<12} {r['accepted_per_s']:>10,.0f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} "
            f"{r['paced_p50_ms']:>10.1f} {r['paced_p99_ms']:>10.1f}"
        )
    ratio = results[0]["accepted_per_s"] / results[1]["accepted_per_s"]
    print(f"trailbridge / moto: {ratio:.1f}x   (targets: >= 5,000 events/s, >= 10x moto, p99 <= 50 ms at 1,000/s)")
    print(json.dumps({"results": results, "ratio": ratio}))


if __name__ == "__main__":
    main()
