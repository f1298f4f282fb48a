"""Delivery benchmark: durable acceptance, delivery throughput, and acceptance-to-invocation latency.

    python3 bench/delivery.py [--events N] [--quick]

Prints one table and one JSON line. Everything runs on a file-backed data directory (SQLite WAL,
synchronous=NORMAL: survives a killed process). Targets on the 2-core machine (issue 3): >= 10,000
events/s accepted durably, >= 5,000 events/s delivered to a function target, p99 <= 50 ms from
acceptance to invocation at 1,000 events/s offered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import tempfile
import time
from pathlib import Path

from trailbridge.runtime import Trailbridge
from trailbridge.settings import Settings
from trailbridge.storage.ports import Scope

RULES = 100
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:sink"


def entry(i: int) -> dict:
    detail = {"eventName": f"Op{i % RULES}", "requestParameters": {"bucketName": f"bucket-{i}"}}
    return {"Source": "bench.app", "DetailType": "AWS API Call", "Detail": json.dumps(detail)}


def setup(tb: Trailbridge, target_arn: str) -> None:
    events = tb.events()
    for i in range(RULES):
        pattern = {"source": ["bench.app"], "detail": {"eventName": [f"Op{i}"]}}
        events.put_rule(Name=f"rule-{i}", EventPattern=json.dumps(pattern))
        events.put_targets(Rule=f"rule-{i}", Targets=[{"Id": "t", "Arn": target_arn}])


def put(tb: Trailbridge, count: int) -> float:
    """Seconds to put `count` events in batches of 10."""
    events = tb.events()
    batches = [[entry(i + j) for j in range(10)] for i in range(0, count, 10)]
    started = time.perf_counter()
    for batch in batches:
        events.put_events(Entries=batch)
    return time.perf_counter() - started


def drain(tb: Trailbridge) -> float:
    started = time.perf_counter()
    tb.start()
    while tb.pending_deliveries():
        time.sleep(0.005)
    return time.perf_counter() - started


def accept_and_deliver(count: int, target: str, http_url: str | None) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as directory:
        tb = Trailbridge(Path(directory))
        tb.functions.register("sink", lambda event: None)
        arn = FUNCTION
        if http_url is not None:
            api = tb.destinations()
            connection = api.create_connection(
                Name="c",
                AuthorizationType="API_KEY",
                AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}},
            )["ConnectionArn"]
            arn = api.create_api_destination(
                Name="d", ConnectionArn=connection, InvocationEndpoint=http_url, HttpMethod="POST"
            )["ApiDestinationArn"]
            # AWS caps one destination at 300 requests/s; lift the cap to measure trailbridge itself.
            doc = tb.engine.resources.get(arn)
            assert doc is not None
            doc["InvocationRateLimitPerSecond"] = 1_000_000
            tb.engine.resources.put(Scope("api-destination", "123456789012", "us-east-1"), "d", arn, doc)
        setup(tb, arn)
        accept = put(tb, count)
        deliver = drain(tb)
        tb.close()
    return count / accept, count / deliver


def latency(rate: int, seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        tb = Trailbridge(Path(directory), Settings())
        tb.functions.register("sink", lambda event: None)
        setup(tb, FUNCTION)
        tb.start()
        events = tb.events()
        interval = 10 / rate
        start = time.perf_counter()
        for tick in range(int(seconds * rate / 10)):
            events.put_events(Entries=[entry(tick * 10 + j) for j in range(10)])
            delay = start + (tick + 1) * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        while tb.pending_deliveries():
            time.sleep(0.01)
        result = tb.metrics.latency()
        tb.close()
    return result


async def _serve(port_queue: multiprocessing.Queue) -> None:
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                await reader.readexactly(length)
                writer.write(reply)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port_queue.put(server.sockets[0].getsockname()[1])
    await server.serve_forever()


def _server_main(port_queue: multiprocessing.Queue) -> None:
    asyncio.run(_serve(port_queue))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--quick", action="store_true", help="10,000 events, 2 s latency run")
    args = parser.parse_args()
    count = 10_000 if args.quick else args.events
    ports: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=_server_main, args=(ports,), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{ports.get(timeout=10)}/hook"
    accepted, to_function = accept_and_deliver(count, "function", None)
    _, to_http = accept_and_deliver(count // 5, "http", url)
    lat = latency(1000, 2 if args.quick else 10)
    server.terminate()
    rows = [
        ("accepted durably by put_events (batches of 10), ev/s", f"{accepted:,.0f}", ">= 10,000"),
        (f"delivered to a function target ({RULES} rules), ev/s", f"{to_function:,.0f}", ">= 5,000"),
        (f"delivered to a loopback HTTP target ({RULES} rules), ev/s", f"{to_http:,.0f}", "-"),
        ("acceptance-to-invocation p50 at 1,000 ev/s, ms", f"{lat['p50'] * 1000:.1f}", "-"),
        ("acceptance-to-invocation p99 at 1,000 ev/s, ms", f"{lat['p99'] * 1000:.1f}", "<= 50"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>10}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>10}  {target}")
    print(
        json.dumps({"accepted_per_s": accepted, "function_per_s": to_function, "http_per_s": to_http, "latency_s": lat})
    )


if __name__ == "__main__":
    main()
