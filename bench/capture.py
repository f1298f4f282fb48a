"""Capture: the audit middleware's overhead, and `trailbridge trail import` throughput, in one run.

1. Middleware overhead. The same trivial Starlette endpoint (GET /ping -> "ok") is served by uvicorn bare;
   behind a pass-through middleware that does nothing (the floor of any middleware's cost, and a gauge of the
   noise); behind `AuditMiddleware` with a `ServerSink` to a receiver that only counts; and to a running
   `trailbridge serve`. Each app process is pinned to CPU 0 (taskset), the load generator and the trailbridge
   server to the other CPUs, so the app's numbers reflect its own work (the sink's thread included). Load: N
   keep-alive connections for S seconds, the apps in turn, R rounds; printed: requests/s and p50/p99 latency
   (medians of the rounds), and the overhead. Target (issue 6): the middleware adds at most 5% to the
   endpoint's latency under load. When `wrk` is installed (Debian's package), each app is also loaded by wrk
   with 2 connections: the aiohttp generator tops out below the bare app's capacity, so only wrk shows the
   app's own cost in full.
2. Import. F gzipped log files of real CloudTrail records (../shared/corpora/cloudtrail, fresh eventIDs,
   recent times so LookupEvents keeps them) go through `trailbridge trail import` into a server whose default
   bus holds 100 security rules with targets. Printed: records/s (the command's whole run), the median of
   `--imports` runs. Target: >= 20,000.

    pip install -e '.[bench]' && python bench/capture.py [--seconds 5] [--connections 32] [--rounds 3] [--imports 3]
    [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from statistics import median
from typing import Any

import aiohttp
import boto3
from patterns import records, rule_for  # bench/patterns.py: the corpus and its security-rule generator
from server import free_port, percentile, running

ACCOUNT = "123456789012"
APP = """
import sys
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from trailbridge.capture import AuditMiddleware, ServerSink

async def ping(request):
    return PlainTextResponse("ok")

class PassThrough:  # the least a middleware can be: the floor of any middleware's overhead
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        await self.app(scope, receive, send)

app = Starlette(routes=[Route("/ping", ping)])
if sys.argv[2] == "empty":
    app = PassThrough(app)
elif sys.argv[2]:
    app = AuditMiddleware(app, ServerSink(sys.argv[2], spool=sys.argv[3]), event_source="orders.example.com")
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


RECEIVER = """
import sys
import orjson
from aiohttp import web

received = 0

async def records(request):
    global received
    document = orjson.loads(await request.read())  # cheap: it shares a CPU with the load generator
    count = len(document["Requests"]) + len(document["Records"])
    received += count
    return web.json_response({"accepted": count, "rejected": []})

async def count(request):
    return web.json_response({"received": received})

app = web.Application(client_max_size=64 * 1024 * 1024)
app.add_routes([web.post("/_trailbridge/records", records), web.get("/count", count)])
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


@contextmanager
def receiver() -> Iterator[str]:
    """A stand-in for the server that only counts the records sent to it (pinned off the app's CPU)."""
    port = free_port()
    command = [*pinned(other_cpus()), sys.executable, "-c", RECEIVER, str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        asyncio.run(wait_up(f"http://127.0.0.1:{port}/count"))
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


def received(url: str) -> float:
    with urllib.request.urlopen(url + "/count") as answer:
        return float(json.load(answer)["received"])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pinned(cpus: str) -> tuple[str, ...]:
    return ("taskset", "-c", cpus) if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else ()


def other_cpus() -> str:
    return f"1-{(os.cpu_count() or 2) - 1}"


@contextmanager
def app(endpoint: str, spool: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    command = [*pinned("0"), sys.executable, "-c", APP, str(port), endpoint, spool]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/ping"
    try:
        asyncio.run(wait_up(url))
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(30)


async def wait_up(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(400):
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


async def load(url: str, seconds: float, connections: int) -> tuple[float, list[float]]:
    """Requests/s and latencies with `connections` requests always in flight."""
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(connections * 20):  # warm up the connections and the app
            async with session.get(url) as response:
                await response.read()
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.get(url) as response:
                    await response.read()
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies


async def paced(url: str, rate: float, seconds: float) -> tuple[float, list[float]]:
    """Latencies at a fixed offered load (an open loop: requests start on schedule, whatever came back)."""
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:

        async def one() -> None:
            started = time.perf_counter()
            async with session.get(url) as response:
                await response.read()
            latencies.append(time.perf_counter() - started)

        tasks = []
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        achieved = len(latencies) / (time.perf_counter() - start)
    return achieved, latencies


def overhead(seconds: float, connections: int, rounds: int, share: float) -> dict[str, dict[str, float]]:
    """Per app: saturated requests/s; at `share` of the bare app's capacity, p50/p99 latency and the app's CPU
    time per request (medians of the rounds). "audited" sends to a receiver that only counts records, so the
    other CPU stays free for the load generator; "audited+server" sends to a real trailbridge server; "empty"
    is the app behind a middleware that does nothing but pass the call on."""
    rows: dict[str, list[dict[str, float]]] = {"bare": [], "empty": [], "audited": [], "audited+server": []}
    offered = 0.0
    with (
        tempfile.TemporaryDirectory() as data,
        off_the_apps_cpu(),
        running("trailbridge", data, pinned(other_cpus())) as server,
        receiver() as counter,
    ):
        spool = str(Path(data) / "spool.jsonl")
        for _ in range(rounds):
            for name, target in (("bare", ""), ("empty", "empty"), ("audited", counter), ("audited+server", server)):
                with app(target, spool) as (url, pid):
                    capacity, _ = asyncio.run(load(url, seconds, connections))
                    offered = offered or capacity * share
                    time.sleep(2)  # let the sink work off what the saturated run left, then measure steady state
                    cpu = cpu_seconds(pid)
                    achieved, latencies = asyncio.run(paced(url, offered, seconds))
                    cpu = cpu_seconds(pid) - cpu
                    row = {
                        "capacity": capacity,
                        "achieved": achieved,
                        "p50_ms": percentile(latencies, 0.5),
                        "p99_ms": percentile(latencies, 0.99),
                        "cpu_us": cpu / len(latencies) * 1e6,
                    }
                    if shutil.which("wrk"):
                        time.sleep(2)
                        row |= wrk(url, seconds, 2)
                rows[name].append(row)
        time.sleep(1)  # the last batches: the sink flushes every 0.2 s, the recorder every 50 ms
        kept, counted = count_records(Path(data)), received(counter)
        spooled = len(Path(spool).read_bytes().splitlines()) if Path(spool).exists() else 0
    summary = {name: {key: median(row[key] for row in found) for key in found[0]} for name, found in rows.items()}
    summary["audited"]["records"] = counted
    summary["audited+server"]["records"] = kept
    summary["audited"]["spooled"] = summary["audited+server"]["spooled"] = spooled
    return summary


@contextmanager
def off_the_apps_cpu() -> Iterator[None]:
    """This process (the load generator) keeps off the app's CPU 0 meanwhile. Only meanwhile: processes it
    starts inherit its CPUs, and the import's server must have them all, as it would on its own."""
    every = os.sched_getaffinity(0)
    if pinned("0"):
        os.sched_setaffinity(0, set(range(1, os.cpu_count() or 2)))
    try:
        yield
    finally:
        os.sched_setaffinity(0, every)


def wrk(url: str, seconds: float, connections: int) -> dict[str, float]:
    """Requests/s and p50/p99 latency (µs) from wrk (a load generator in C, far faster than the app), with a
    few connections kept busy: the app's own cost per request shows in full."""
    command = [*pinned(other_cpus()), "wrk", "-t1", f"-c{connections}", f"-d{max(int(seconds), 1)}s", "--latency", url]
    text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    units = {"us": 1.0, "ms": 1e3, "s": 1e6}

    def latency(label: str) -> float:
        value = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
        return float(value.group(1)) * units[value.group(2)] if value else float("nan")

    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    return {
        "wrk_rps": float(rate.group(1)) if rate else float("nan"),
        "wrk_p50_us": latency("50%"),
        "wrk_p99_us": latency("99%"),
    }


def count_records(data: Path) -> float:
    """How many /ping records the server keeps (read from its database, which WAL lets us share)."""
    with sqlite3.connect(data / "trailbridge.sqlite3") as db:
        query = (
            "SELECT count(*) FROM trail_lookup JOIN trail_terms ON trail_terms.id = trail_lookup.term"
            " WHERE key = 'EventSource' AND value = 'orders.example.com'"
        )
        return float(db.execute(query).fetchone()[0])


def client(service: str, url: str) -> Any:
    return boto3.client(
        service, endpoint_url=url, region_name="us-east-1", aws_access_key_id=ACCOUNT, aws_secret_access_key="x"
    )


def write_logs(folder: Path, files: int, per_file: int, age: float = 3600) -> int:
    """Log files as CloudTrail writes them: each covers its own stretch of time, in order, the last ending
    `age` seconds ago; about 3 records a second."""
    corpus = records()
    start = time.time() - age - files * per_file / 3
    written = 0
    for index in range(files):
        batch = []
        for j in range(per_file):
            record = dict(corpus[(index * per_file + j) % len(corpus)])
            at = start + (index * per_file + j) / 3
            record.update(
                eventID=str(uuid.uuid4()),
                eventTime=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)),
                recipientAccountId=ACCOUNT,
                awsRegion="us-east-1",
            )
            batch.append(record)
        path = folder / "AWSLogs" / ACCOUNT / "CloudTrail" / "us-east-1" / f"{index:05d}.json.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(json.dumps({"Records": batch}).encode(), compresslevel=6))
        written += len(batch)
    return written


def import_rate(files: int, per_file: int, age: float = 3600) -> dict[str, float]:
    """Records/s of `trailbridge trail import` into a server with 100 rules; records `age` seconds old (an
    hour: LookupEvents keeps them; a year: past its 90 days, they are routed but not kept)."""
    with tempfile.TemporaryDirectory() as data, running("trailbridge", data) as endpoint:
        events, sqs = client("events", endpoint), client("sqs", endpoint)
        sqs.create_queue(QueueName="alerts")
        rng = random.Random(7)
        corpus = records()
        for i in range(100):
            events.put_rule(Name=f"rule-{i}", EventPattern=json.dumps(rule_for(rng.choice(corpus), rng)))
            target = {"Id": "q", "Arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:alerts"}
            events.put_targets(Rule=f"rule-{i}", Targets=[target])
        folder = Path(data) / "logs"
        total = write_logs(folder, files, per_file, age)
        command = [*pinned(other_cpus()), sys.executable, "-m", "trailbridge", "trail", "import", str(folder)]
        command += ["--endpoint-url", endpoint]
        environment = {**os.environ, "AWS_ACCESS_KEY_ID": ACCOUNT, "AWS_SECRET_ACCESS_KEY": "x"}
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
        elapsed = time.perf_counter() - started
        if result.returncode != 0 or f"Imported {total:,} records" not in result.stdout:
            raise RuntimeError(f"import failed: {result.stdout}\n{result.stderr}")
    rate = total / elapsed
    return {"records": total, "seconds": elapsed, "records_per_s": rate, "rule_matches": matches(result.stdout)}


def matches(report: str) -> float:
    """The total of the import's "Records by rule matched" table."""
    table = report.split("Records by rule matched:\n", 1)[1].split("\n\n", 1)[0]
    counts = [line.split()[0].replace(",", "") for line in table.splitlines() if line.strip()]
    return float(sum(int(count) for count in counts if count.isdigit()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--share", type=float, default=0.25, help="paced load, as a share of bare capacity")
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--per-file", type=int, default=5_000)
    parser.add_argument("--imports", type=int, default=3, help="imports of each kind (the median is printed)")
    parser.add_argument("--quick", action="store_true", help="a short run: 2 s, 1 round, 10 files, 1 import")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.files, args.imports = 2, 1, 10, 1
    summary = overhead(args.seconds, args.connections, args.rounds, args.share)
    bare = summary["bare"]
    print(
        f"Middleware overhead: GET /ping on uvicorn, the app on CPU 0; saturated with {args.connections} "
        f"connections, then paced at {args.share:.0%} of the bare app's capacity; {args.seconds:g} s each, "
        f"medians of {args.rounds} rounds"
    )
    print(f"{'app':<16}{'saturated req/s':>16}{'paced req/s':>13}{'p50 ms':>9}{'p99 ms':>9}{'CPU us/req':>12}")
    for name, row in summary.items():
        print(
            f"{name:<16}{row['capacity']:>16,.0f}{row['achieved']:>13,.0f}{row['p50_ms']:>9.3f}"
            f"{row['p99_ms']:>9.3f}{row['cpu_us']:>12.1f}"
        )
    if "wrk_rps" in bare:
        print(f"\nwith wrk, 2 connections ({args.seconds:g} s, medians of {args.rounds} rounds)")
        print(f"{'app':<16}{'requests/s':>12}{'p50 us':>9}{'p99 us':>9}")
        for name, row in summary.items():
            print(f"{name:<16}{row['wrk_rps']:>12,.0f}{row['wrk_p50_us']:>9.0f}{row['wrk_p99_us']:>9.0f}")
    for name in ("empty", "audited", "audited+server"):
        row = summary[name]
        print(
            f"{name}: latency p50 {(row['p50_ms'] / bare['p50_ms'] - 1) * 100:+.1f}%, "
            f"p99 {(row['p99_ms'] / bare['p99_ms'] - 1) * 100:+.1f}% (target: at most +5%); "
            f"CPU per request {(row['cpu_us'] / bare['cpu_us'] - 1) * 100:+.1f}%; "
            f"saturated throughput {(row['capacity'] / bare['capacity'] - 1) * 100:+.1f}%"
            + (
                f"; {row['records']:,.0f} records delivered, {row['spooled']:,.0f} left in the spool"
                if name != "empty"
                else ""
            )
        )
        if "wrk_rps" in row:
            print(
                f"{name} with wrk: p50 {(row['wrk_p50_us'] / bare['wrk_p50_us'] - 1) * 100:+.1f}%, "
                f"requests/s {(row['wrk_rps'] / bare['wrk_rps'] - 1) * 100:+.1f}%"
            )
    for label, age in (("an hour old (kept for LookupEvents)", 3600.0), ("a year old (not kept)", 365 * 86400.0)):
        runs = sorted((import_rate(args.files, args.per_file, age) for _ in range(args.imports)), key=rate)
        imported = runs[len(runs) // 2]
        print(
            f"\nImport, records {label}: {imported['records']:,.0f} records in {args.files} .json.gz files, "
            f"100 rules: {rate(imported):,.0f} records/s, the median of {len(runs)} imports "
            f"({', '.join(f'{rate(run):,.0f}' for run in runs)}; {imported['seconds']:.1f} s, "
            f"{imported['rule_matches']:,.0f} rule matches; target >= 20,000 records/s)"
        )


def rate(run: dict[str, float]) -> float:
    return run["records_per_s"]


if __name__ == "__main__":
    main()
