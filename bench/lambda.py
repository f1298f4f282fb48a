"""Lambda through `trailbridge serve`: invoke latency (cold and warm) and rule-to-function throughput, in one run.

    pip install -e '.[bench]' && python3 bench/lambda.py [--colds 20] [--warms 500] [--events 10000]
        [--connections 8] [--source CHECKOUT] [--quick]

No peer runs here: moto's Lambda and LocalStack both run functions in Docker containers, and the bench asks
`docker info` whether a Docker daemon answers. Where none does (this machine), each number is printed beside a
floor measured in the same run: warm invoke beside a no-op call to the same server (ListFunctions, same
client), a cold start beside starting the bare runtime (`python3 -c pass`, `node -e 0`, with only PATH in
their environment, as a worker gets little more), rule-to-function deliveries beside the same PutEvents load
delivered by a rule to an SQS queue. Even where Docker answers, no peer is run yet: the ratios are the floors'.

One server (TRAILBRIDGE_LAMBDA_MAX_WORKERS=4), set up with boto3's `lambda` client as the aws CLI would:
CreateFunction with a zip for a Python (python3.12) and a Node.js (nodejs20.x) function, then, per function:
- cold: Invoke RequestResponse right after CreateFunction, then after each UpdateFunctionConfiguration that
  changes an environment variable (so a new worker must start); the client's time for the Invoke call, and the
  REPORT line's Init Duration (asked with LogType=Tail);
- warm: sequential Invoke RequestResponse calls of a small payload on the warm worker; p50/p99.
Then rule-to-function throughput: a rule on source `bench.lambda` targets the Python function (with
AddPermission for events.amazonaws.com and the rule's SourceArn); 4 concurrent invokes first, so the 4
workers are warm; then N events by PutEvents (batches of 10 on C keep-alive connections). Deliveries are
counted by the function itself: each invocation appends the event's id to a file of its worker's own under a
temporary directory named in the function's environment; events/s = distinct ids delivered / the time from
the first PutEvents until the last id appears (polled every 0.05 s; unchanged for 2 s is settled). The floor:
the same N events to a rule on source `bench.sqs` with an SQS target, counted by ApproximateNumberOfMessages.

Printed: one table and the ratios, then one JSON line. Targets (issue 17, printed, not asserted): warm
RequestResponse p50 <= 5 ms, Python cold start <= 300 ms, >= 1,000 events/s delivered to a warm Python
function.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import boto3
from botocore.config import Config

from bench.server import ACCOUNT, percentile, running

WORKERS = 4
ROLE = f"arn:aws:iam::{ACCOUNT}:role/bench"
PYTHON_HANDLER = """\
import os


def handler(event, context):
    directory = os.environ.get("COUNT_DIR")
    if directory and event.get("source") == "bench.lambda":
        with open(os.path.join(directory, str(os.getpid())), "a") as ids:
            ids.write(event["id"] + "\\n")
    return {"echo": event}
"""
NODE_HANDLER = "exports.handler = async (event) => ({ echo: event });\n"
INIT = re.compile(r"Init Duration: ([0-9.]+) ms")
PUT_HEADERS = {
    "X-Amz-Target": "AWSEvents.PutEvents",
    "Content-Type": "application/x-amz-json-1.1",
    "Authorization": f"AWS4-HMAC-SHA256 Credential={ACCOUNT}/20260101/us-east-1/events/aws4_request, "
    "SignedHeaders=host;x-amz-date;x-amz-target, Signature=0",
    "X-Amz-Date": "20260101T000000Z",
}


def docker_answers() -> bool:
    """Whether a Docker daemon answers (what moto's Lambda and LocalStack need to run a function)."""
    try:
        return subprocess.run(["docker", "info"], check=False, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """`values` in os.environ (the server started inside inherits them), restored after."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def client(url: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=ACCOUNT,
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, max_pool_connections=WORKERS * 2),
    )


def zipped(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def create(aws: Any, name: str, runtime: str, file: str, text: str, variables: dict[str, str]) -> str:
    handler = file.split(".", maxsplit=1)[0] + ".handler"
    answer = aws.create_function(
        FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler, Code={"ZipFile": zipped(file, text)},
        Environment={"Variables": variables}, Timeout=30, MemorySize=256,
    )  # fmt: skip
    return str(answer["FunctionArn"])


def invoke(aws: Any, name: str, payload: bytes, tail: bool = False) -> tuple[float, str]:
    """The client's time for one RequestResponse Invoke, and its log tail when asked."""
    started = time.perf_counter()
    answer = aws.invoke(FunctionName=name, Payload=payload, LogType="Tail" if tail else "None")
    answer["Payload"].read()
    elapsed = time.perf_counter() - started
    if answer.get("FunctionError"):
        raise RuntimeError(f"{name} failed: {answer}")
    return elapsed, base64.b64decode(answer.get("LogResult", "")).decode()


def timed(call: Callable[[], object], count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def cold_starts(aws: Any, name: str, count: int) -> tuple[list[float], list[float]]:
    """Client times and Init Durations (s) of `count` first invokes: after CreateFunction, then each after an
    environment change."""
    totals, inits = [], []
    for generation in range(count):
        if generation:
            aws.update_function_configuration(FunctionName=name, Environment={"Variables": {"GEN": str(generation)}})
        elapsed, tail = invoke(aws, name, b'{"cold": true}', tail=True)
        found = INIT.search(tail)
        if found is None:
            raise RuntimeError(f"{name}: invoke {generation} after a change was not a cold start:\n{tail}")
        totals.append(elapsed)
        inits.append(float(found.group(1)) / 1000)
    return totals, inits


def measure_function(aws: Any, name: str, runtime: str, colds: int, warms: int) -> dict[str, Any]:
    file, text = ("app.py", PYTHON_HANDLER) if runtime.startswith("python") else ("index.js", NODE_HANDLER)
    create(aws, name, runtime, file, text, {"GEN": "0"})
    totals, inits = cold_starts(aws, name, colds)
    invoke(aws, name, b"{}")
    warm = timed(lambda: invoke(aws, name, b'{"n": 1}'), warms)
    return {
        "function": name,
        "runtime": runtime,
        "cold_p50_ms": percentile(totals, 0.5),
        "cold_p99_ms": percentile(totals, 0.99),
        "init_p50_ms": percentile(inits, 0.5),
        "warm_p50_ms": percentile(warm, 0.5),
        "warm_p99_ms": percentile(warm, 0.99),
        "colds": len(totals),
        "warms": len(warm),
    }


def process_start(argv: list[str], count: int) -> float:
    """p50 (ms) of starting and ending `argv`, in an environment as bare as a worker's (an inherited
    NODE_EXTRA_CA_CERTS, for one, makes node read every CA certificate first: twice the start)."""
    bare = {"PATH": os.environ.get("PATH", os.defpath)}
    return percentile(timed(lambda: subprocess.run(argv, check=True, env=bare), count), 0.5)


def put_body(source: str, batch: int) -> bytes:
    entries = [
        {"Source": source, "DetailType": "bench", "Detail": json.dumps({"n": batch * 10 + j})} for j in range(10)
    ]
    return json.dumps({"Entries": entries}).encode()


async def put_events(url: str, source: str, events: int, connections: int) -> float:
    """Send `events` events of `source` (batches of 10, `connections` in flight); when the first was sent."""
    batches = iter(range(events // 10))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:

        async def sender() -> None:
            for batch in batches:
                async with session.post(url + "/", data=put_body(source, batch), headers=PUT_HEADERS) as answer:
                    text = await answer.read()
                if answer.status != 200 or json.loads(text).get("FailedEntryCount"):
                    raise RuntimeError(f"PutEvents failed: {answer.status} {text[:200]!r}")

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(connections)))
    return started


def settle(count: Callable[[], int], expected: int, since: float, quiet: float = 2.0) -> tuple[int, float]:
    """`count()` once it reaches `expected` or stops growing for `quiet` s, and when it reached that value."""
    last, reached = count(), time.perf_counter()
    while last < expected and time.perf_counter() - reached < quiet and time.perf_counter() - since < 300:
        time.sleep(0.05)
        now = count()
        if now != last:
            last, reached = now, time.perf_counter()
    return last, reached


def delivered_ids(directory: Path) -> int:
    ids: set[str] = set()
    for path in directory.iterdir():
        ids.update(path.read_text().split())
    return len(ids)


def rule_to(url: str, source: str, target_arn: str) -> str:
    events = client(url, "events")
    rule = events.put_rule(Name=f"to-{source.split('.')[1]}", EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=f"to-{source.split('.')[1]}", Targets=[{"Id": "t", "Arn": target_arn}])
    return str(rule["RuleArn"])


def function_throughput(url: str, events: int, connections: int, count_dir: Path) -> dict[str, Any]:
    aws = client(url, "lambda")
    arn = create(aws, "sink", "python3.12", "app.py", PYTHON_HANDLER, {"COUNT_DIR": str(count_dir)})
    rule_arn = rule_to(url, "bench.lambda", arn)
    aws.add_permission(
        FunctionName="sink", StatementId="events", Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com", SourceArn=rule_arn,
    )  # fmt: skip

    async def warm_up() -> None:
        await asyncio.gather(*(asyncio.to_thread(invoke, aws, "sink", b"{}") for _ in range(WORKERS * 4)))

    asyncio.run(warm_up())
    first = asyncio.run(put_events(url, "bench.lambda", events, connections))
    answered = time.perf_counter()
    delivered, reached = settle(lambda: delivered_ids(count_dir), events, first)
    return {"delivered": delivered, "per_s": delivered / (reached - first), "accepted_s": answered - first}


def queue_throughput(url: str, events: int, connections: int) -> dict[str, Any]:
    sqs = client(url, "sqs")
    queue_url = sqs.create_queue(QueueName="sink")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule_to(url, "bench.sqs", arn)

    def queued() -> int:
        found = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(found["Attributes"]["ApproximateNumberOfMessages"])

    first = asyncio.run(put_events(url, "bench.sqs", events, connections))
    answered = time.perf_counter()
    delivered, reached = settle(queued, events, first)
    return {"delivered": delivered, "per_s": delivered / (reached - first), "accepted_s": answered - first}


def measure(colds: int, warms: int, events: int, connections: int, source: str | None) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as data_dir,
        tempfile.TemporaryDirectory() as count_dir,
        environment(TRAILBRIDGE_LAMBDA_MAX_WORKERS=str(WORKERS)),
        running("trailbridge", data_dir, source=source) as url,
    ):
        aws = client(url, "lambda")
        functions = [
            measure_function(aws, "py", "python3.12", colds, warms),
            measure_function(aws, "js", "nodejs20.x", colds, warms),
        ]
        no_op = percentile(timed(aws.list_functions, warms), 0.5)
        to_function = function_throughput(url, events, connections, Path(count_dir))
        to_queue = queue_throughput(url, events, connections)
    floors = {
        "list_functions_p50_ms": no_op,
        "python_start_ms": process_start([sys.executable, "-c", "pass"], colds),
        "node_start_ms": process_start(["node", "-e", "0"], colds),
    }
    return {"functions": functions, "floors": floors, "to_function": to_function, "to_queue": to_queue}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--colds", type=int, default=20, help="cold starts per function")
    parser.add_argument("--warms", type=int, default=500, help="warm invokes per function")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="5 cold starts, 100 warm invokes, 2,000 events")
    parser.add_argument("--source", help="a checkout of another trailbridge commit to run instead of this one")
    args = parser.parse_args()
    colds, warms, events = (5, 100, 2000) if args.quick else (args.colds, args.warms, args.events)
    peer = docker_answers()
    result = measure(colds, warms, events, args.connections, args.source)
    floors, functions = result["floors"], result["functions"]
    print(
        f"Lambda through trailbridge serve, {WORKERS} workers; {colds} cold starts and {warms} warm invokes per "
        f"function; {events:,} events by PutEvents, {args.connections} connections"
    )
    peers = "a Docker daemon answers, but" if peer else "no Docker daemon answers (moto's Lambda, LocalStack need one):"
    print(f"peers: {peers} ratios against floors of this run")
    print(
        f"{'function':<16} {'cold p50 ms':>11} {'cold p99 ms':>11} {'init p50 ms':>11} {'start floor':>11} "
        f"{'warm p50 ms':>11} {'warm p99 ms':>11} {'no-op p50':>9}"
    )
    no_op = floors["list_functions_p50_ms"]
    for r, start in zip(functions, (floors["python_start_ms"], floors["node_start_ms"]), strict=True):
        print(
            f"{r['runtime']:<16} {r['cold_p50_ms']:>11.1f} {r['cold_p99_ms']:>11.1f} {r['init_p50_ms']:>11.1f} "
            f"{start:>11.1f} {r['warm_p50_ms']:>11.2f} {r['warm_p99_ms']:>11.2f} {no_op:>9.2f}"
        )
    to_function, to_queue = result["to_function"], result["to_queue"]
    print(f"{'rule ->':<16} {'delivered':>11} {'events/s':>11} {'PutEvents s':>11}")
    for label, r in (("python function", to_function), ("SQS queue", to_queue)):
        print(f"{label:<16} {r['delivered']:>11,} {r['per_s']:>11,.0f} {r['accepted_s']:>11.2f}")
    python, node = functions
    ratios = {
        "python_cold_vs_start": python["cold_p50_ms"] / floors["python_start_ms"],
        "node_cold_vs_start": node["cold_p50_ms"] / floors["node_start_ms"],
        "python_warm_vs_no_op": python["warm_p50_ms"] / floors["list_functions_p50_ms"],
        "node_warm_vs_no_op": node["warm_p50_ms"] / floors["list_functions_p50_ms"],
        "function_vs_queue_events": to_function["per_s"] / to_queue["per_s"],
    }
    print(
        "ratios: cold / process start {python_cold_vs_start:.1f}x (python) {node_cold_vs_start:.1f}x (node); "
        "warm / no-op call {python_warm_vs_no_op:.2f}x (python) {node_warm_vs_no_op:.2f}x (node); "
        "function / queue deliveries {function_vs_queue_events:.2f}x".format(**ratios)
    )
    targets = {
        "warm_p50_le_5ms": python["warm_p50_ms"] <= 5 and node["warm_p50_ms"] <= 5,
        "python_cold_le_300ms": python["cold_p50_ms"] <= 300,
        "events_ge_1000_per_s": to_function["per_s"] >= 1000 and to_function["delivered"] == events,
    }
    shown = ", ".join(f"{name} {'met' if met else 'NOT met'}" for name, met in targets.items())
    print(f"targets: {shown}")
    print(json.dumps({**result, "ratios": ratios, "targets": targets, "docker": peer}))


if __name__ == "__main__":
    main()
