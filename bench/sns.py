"""SNS Publish fanning out to SQS: trailbridge serve vs moto's server, in one run.

    pip install -e '.[bench]' && python3 bench/sns.py [--seconds 5] [--connections 16] [--quick]

Each server gets the same set-up through boto3: one topic and 10 queues, each subscribed to it (protocol sqs,
the queue's ARN); queues 0-4 have the filter policy {"kind": ["a"]} on MessageAttributes, queues 5-9 none;
the odd ones take raw message delivery. Half of the published messages have kind=a (10 deliveries each), half
kind=b (5 deliveries each).

Measured, per server, in this order:
- paced publish-to-queue latency: 500 publishes/s for a few seconds, each with a unique id in its text; two
  tasks long-poll ReceiveMessage (JSON protocol) on queue 5 (unfiltered, JSON notifications) and delete what
  they take; for each publish, the time from sending it until its message is received; p50/p99, and how many
  never arrived within 10 s of the last publish answered. The load is open: a server slower than 500/s
  (moto) answers late and the run lasts until it has answered every publish. Then every queue is purged;
- saturation: the same fixed Publish request bodies (query protocol, an unverified Authorization header naming
  the account and service sns) on N keep-alive connections for S seconds: publishes/s answered 200, p50/p99;
- deliveries/s: the messages the saturation put in the 10 queues (ApproximateNumberOfMessages summed, less
  what was there before; printed beside the count the filter policies call for) divided by the time from its
  first publish until that sum stops growing (polled every 0.1 s; unchanged for 1 s is settled).

Printed: one table and the ratio trailbridge / moto for publishes/s, then one JSON line.
Targets (issue 16, printed, not asserted): >= 2,000 publishes/s accepted durably, p99 publish-to-queue
<= 100 ms, >= 10x moto.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import boto3

from bench.server import ACCOUNT, percentile, running

QUEUES = 10
FILTERED = range(5)  # queues with {"kind": ["a"]}
WATCHED = 5  # the unfiltered queue the paced run receives from
PACED_RATE = 500  # publishes/s
GRACE = 10.0  # seconds after the last paced publish to wait for its message
UNFILTERED = QUEUES - len(FILTERED)


def _auth(service: str) -> dict[str, str]:
    """An Authorization header naming the account and service (not verified: the servers run without --auth)."""
    scope = f"{ACCOUNT}/20260101/us-east-1/{service}/aws4_request"
    return {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host;x-amz-date, Signature=0",
        "X-Amz-Date": "20260101T000000Z",
    }


PUBLISH_HEADERS = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", **_auth("sns")}


def _sqs_headers(operation: str) -> dict[str, str]:
    return {"X-Amz-Target": f"AmazonSQS.{operation}", "Content-Type": "application/x-amz-json-1.0", **_auth("sqs")}


def _client(url: str, service: str) -> Any:
    return boto3.client(
        service, endpoint_url=url, region_name="us-east-1", aws_access_key_id=ACCOUNT, aws_secret_access_key="x"
    )


def set_up(url: str) -> tuple[str, list[str]]:
    """The topic's ARN and the queues' URLs."""
    sns, sqs = _client(url, "sns"), _client(url, "sqs")
    topic = sns.create_topic(Name="bench")["TopicArn"]
    queue_urls = []
    for i in range(QUEUES):
        queue_url = sqs.create_queue(QueueName=f"fanout-{i}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes = {"RawMessageDelivery": "true" if i % 2 else "false"}
        if i in FILTERED:
            attributes["FilterPolicy"] = json.dumps({"kind": ["a"]})
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes)
        queue_urls.append(queue_url)
    return topic, queue_urls


def publish_body(topic: str, message: str, kind: str) -> bytes:
    fields = {
        "Action": "Publish",
        "Version": "2010-03-31",
        "TopicArn": topic,
        "Message": message,
        "MessageAttributes.entry.1.Name": "kind",
        "MessageAttributes.entry.1.Value.DataType": "String",
        "MessageAttributes.entry.1.Value.StringValue": kind,
    }
    return urlencode(fields).encode()


async def publish(session: aiohttp.ClientSession, url: str, body: bytes) -> float:
    started = time.perf_counter()
    async with session.post(url + "/", data=body, headers=PUBLISH_HEADERS) as response:
        answer = await response.read()
    if response.status != 200:
        raise RuntimeError(f"Publish failed: {response.status} {answer[:300]!r}")
    return time.perf_counter() - started


async def sqs_call(session: aiohttp.ClientSession, url: str, operation: str, params: dict[str, Any]) -> Any:
    async with session.post(url + "/", data=json.dumps(params).encode(), headers=_sqs_headers(operation)) as response:
        answer = await response.read()
    if response.status != 200:
        raise RuntimeError(f"{operation} failed: {response.status} {answer[:300]!r}")
    return json.loads(answer) if answer else {}


async def saturate(url: str, topic: str, seconds: float, connections: int) -> tuple[float, list[float], int, float]:
    """Publishes/s answered 200, their latencies, the deliveries they call for (kind=a: every queue, kind=b: the
    unfiltered ones) and when the first was sent, `connections` requests always in flight."""
    bodies = [publish_body(topic, f"saturating message {i}", "ab"[i % 2]) for i in range(64)]
    latencies: list[float] = []
    expected = 0
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:

        async def worker(offset: int) -> None:
            nonlocal expected
            i = offset
            while time.perf_counter() < deadline:
                latencies.append(await publish(session, url, bodies[i % len(bodies)]))
                expected += QUEUES if i % 2 == 0 else UNFILTERED
                i += connections

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(connections)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies, expected, started


async def paced(url: str, topic: str, queue_url: str, seconds: float) -> tuple[list[float], int]:
    """Publish-to-queue latencies at PACED_RATE publishes/s, and how many messages never arrived."""
    count = int(seconds * PACED_RATE)
    bodies = [publish_body(topic, f"paced message id-{i:07d}", "ab"[i % 2]) for i in range(count)]
    sent: dict[int, float] = {}
    arrived: dict[int, float] = {}
    finished = asyncio.Event()
    id_pattern = re.compile(r"id-(\d{7})")
    async with aiohttp.ClientSession() as publishing, aiohttp.ClientSession() as receiving:
        deletes: list[asyncio.Task[Any]] = []

        async def receiver() -> None:
            ask = {"QueueUrl": queue_url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1}
            while not finished.is_set():
                answer = await sqs_call(receiving, url, "ReceiveMessage", ask)
                now = time.perf_counter()
                messages = answer.get("Messages") or []
                for message in messages:
                    found = id_pattern.search(message["Body"])
                    if found:
                        arrived.setdefault(int(found.group(1)), now)
                if len(arrived) == count:
                    finished.set()
                if messages:
                    entries = [{"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(messages)]
                    batch = {"QueueUrl": queue_url, "Entries": entries}
                    deletes.append(asyncio.create_task(sqs_call(receiving, url, "DeleteMessageBatch", batch)))

        async def send(i: int) -> None:
            sent[i] = time.perf_counter()
            await publish(publishing, url, bodies[i])

        receivers = [asyncio.create_task(receiver()) for _ in range(2)]
        interval = 1 / PACED_RATE
        publishes = []
        start = time.perf_counter()
        for i in range(count):
            delay = start + i * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            publishes.append(asyncio.create_task(send(i)))
        await asyncio.gather(*publishes)
        try:
            await asyncio.wait_for(finished.wait(), GRACE)
        except TimeoutError:
            finished.set()
        await asyncio.gather(*receivers)
        await asyncio.gather(*deletes)
    latencies = [arrived[i] - sent[i] for i in arrived if i in sent]
    return latencies, count - len(latencies)


def queued(sqs: Any, queue_urls: list[str]) -> int:
    total = 0
    for queue_url in queue_urls:
        found = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
        total += int(found["Attributes"]["ApproximateNumberOfMessages"])
    return total


def settled(sqs: Any, queue_urls: list[str], since: float, saturation_end: float) -> tuple[int, float]:
    """The messages in the queues once their sum stops growing (unchanged for a second), and when it was first
    seen at that value (the end of the saturation if the first poll already saw it)."""
    last, reached = queued(sqs, queue_urls), saturation_end
    unchanged_since = time.perf_counter()
    while time.perf_counter() - unchanged_since < 1.0 and time.perf_counter() - since < 120:
        time.sleep(0.1)
        now = queued(sqs, queue_urls)
        if now != last:
            last, reached = now, time.perf_counter()
            unchanged_since = reached
    return last, reached


def measure(name: str, seconds: float, connections: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data_dir, running(name, data_dir) as url:
        topic, queue_urls = set_up(url)
        sqs = _client(url, "sqs")
        # The paced run first, so the backlog of deliveries the saturating run leaves does not weigh on it.
        steady, lost = asyncio.run(paced(url, topic, queue_urls[WATCHED], min(seconds, 5)))
        for queue_url in queue_urls:  # what the paced run left, so the saturation starts on empty queues
            sqs.purge_queue(QueueUrl=queue_url)
        before = queued(sqs, queue_urls)
        rate, latencies, expected, first = asyncio.run(saturate(url, topic, seconds, connections))
        end = time.perf_counter()
        total, reached = settled(sqs, queue_urls, first, end)
    delivered = total - before
    return {
        "server": name,
        "publishes_per_s": rate,
        "publishes": len(latencies),
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "delivered": delivered,
        "expected_deliveries": expected,
        "deliveries_per_s": delivered / (reached - first),
        "paced_p50_ms": percentile(steady, 0.5),
        "paced_p99_ms": percentile(steady, 0.99),
        "paced_lost": lost,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="2 s per server and run")
    args = parser.parse_args()
    seconds = 2 if args.quick else args.seconds
    results = [measure(name, seconds, args.connections) for name in ("trailbridge", "moto")]
    print(
        f"SNS Publish -> {QUEUES} SQS queues ({len(FILTERED)} filtered), {args.connections} connections, "
        f"{seconds:g} s; publish-to-queue at {PACED_RATE}/s for {min(seconds, 5):g} s"
    )
    print(
        f"{'server':<12} {'publishes/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'deliveries/s':>13} "
        f"{'delivered':>16} {'@500/s p50':>11} {'@500/s p99':>11} {'lost':>5}"
    )
    for r in results:
        delivered = f"{r['delivered']:,}/{r['expected_deliveries']:,}"
        print(
            f"{r['server']:<12} {r['publishes_per_s']:>11,.0f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} "
            f"{r['deliveries_per_s']:>13,.0f} {delivered:>16} {r['paced_p50_ms']:>11.1f} "
            f"{r['paced_p99_ms']:>11.1f} {r['paced_lost']:>5}"
        )
    ratio = results[0]["publishes_per_s"] / results[1]["publishes_per_s"]
    print(
        f"trailbridge / moto: {ratio:.1f}x publishes/s   "
        "(targets: >= 2,000 publishes/s accepted durably, p99 publish-to-queue <= 100 ms, >= 10x moto)"
    )
    print(json.dumps({"results": results, "ratio": ratio}))


if __name__ == "__main__":
    main()
