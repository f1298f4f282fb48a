"""Cluster benchmark: one node on SQLite, one node on PostgreSQL, two nodes on one PostgreSQL, in one run.

    python3 bench/cluster.py [--events N] [--quick] [--postgres URL] [--kill-trials N]

For each setup: durable PutEvents acceptance through the Python API (batches of 10, one client thread per node,
every node putting at once), delivery throughput to a function target (every node's dispatcher draining the
one queue), and acceptance-to-invocation latency at 1,000 events/s offered (split across the nodes; the worst
node's p99). Prints one table with each setup's ratio to one SQLite node, and one JSON line. Targets on the
2-core machine (issue 14): SQLite unchanged (>= 10,000 events/s accepted), PostgreSQL one node >= 5,000
events/s accepted, two nodes not slower than one.

`--kill-trials N` then runs N trials of `tests/support/cluster_trial.py` (two `trailbridge serve` nodes, PutEvents
load on both, SIGKILL of one): every event that got an EventId must reach the queue; duplicates are counted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg

from bench.delivery import FUNCTION, entry, setup
from trailbridge.runtime import Trailbridge
from trailbridge.settings import Settings

RATE = 1_000  # events/s offered, all nodes together, for the latency run
LATENCY = "bench.latency"  # the latency run's events, which one rule of their own delivers
LATENCY_RULE = "arn:aws:events:us-east-1:123456789012:rule/latency"


def _node(
    data: str, database: str, barrier: Barrier, count: int, offset: int, seconds: float, rate: float
) -> dict[str, Any]:
    """One node: put `count` events, then drain with every node, then offer `rate` events/s for `seconds`."""
    tb = Trailbridge(Path(data), Settings(database=database))
    tb.functions.register("sink", lambda event: None)
    events = tb.events()
    batches = [[entry(offset + i + j) for j in range(10)] for i in range(0, count, 10)]
    barrier.wait()
    started = time.perf_counter()
    for batch in batches:
        events.put_events(Entries=batch)
    accept = time.perf_counter() - started
    barrier.wait()  # every node has put its share: now every dispatcher drains the queue
    started = time.perf_counter()
    tb.start()
    while tb.pending_deliveries():
        time.sleep(0.005)
    deliver = time.perf_counter() - started
    barrier.wait()
    interval, started = 10 / rate, time.perf_counter()
    for tick in range(int(seconds * rate / 10)):
        events.put_events(Entries=[{**entry(offset + count + tick * 10 + j), "Source": LATENCY} for j in range(10)])
        delay = started + (tick + 1) * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    while tb.pending_deliveries():
        time.sleep(0.01)
    latency = tb.metrics.latency(LATENCY_RULE)  # this run's deliveries only, not those the drain made late
    barrier.wait()  # no node stops its dispatcher while another may still hand it deliveries
    tb.close()
    return {"accept": accept, "deliver": deliver, "latency": latency}


def _run_node(args: tuple[Any, ...], results: Any) -> None:
    results.put(_node(*args))


@contextmanager
def _database(base: str | None) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server `base` names (dropped afterwards); "" for SQLite."""
    if base is None:
        yield ""
        return
    name = f"trailbridge_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure(nodes: int, postgres: str | None, count: int, seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory, _database(postgres) as database:
        root = Path(directory)
        first = root / "node-0"
        tb = Trailbridge(first, Settings(database=database))
        setup(tb, FUNCTION)
        tb.events().put_rule(Name="latency", EventPattern=json.dumps({"source": [LATENCY]}))
        tb.events().put_targets(Rule="latency", Targets=[{"Id": "t", "Arn": FUNCTION}])
        tb.close()
        context = multiprocessing.get_context("fork")
        barrier, results = context.Barrier(nodes), context.Queue()
        share = count // nodes
        processes = [
            context.Process(
                target=_run_node,
                args=(
                    (str(root / f"node-{n}"), database, barrier, share, n * 10_000_000, seconds, RATE / nodes),
                    results,
                ),
            )
            for n in range(nodes)
        ]
        for process in processes:
            process.start()
        found = [results.get(timeout=600) for _ in processes]
        for process in processes:
            process.join(60)
    return {
        "accepted_per_s": share * nodes / max(r["accept"] for r in found),
        "delivered_per_s": share * nodes / max(r["deliver"] for r in found),
        "p50_ms": max(r["latency"].get("p50", 0.0) for r in found) * 1000,
        "p99_ms": max(r["latency"].get("p99", 0.0) for r in found) * 1000,
    }


def kill_trials(postgres: str, trials: int) -> dict[str, int]:
    from tests.support.cluster_trial import cluster_kill_trial, summary

    total = {"accepted": 0, "missing": 0, "duplicates": 0}
    for number in range(1, trials + 1):
        with tempfile.TemporaryDirectory() as directory, _database(postgres) as database:
            found = summary(cluster_kill_trial(database, Path(directory), random.uniform(1.0, 3.0)))
        print(f"kill trial {number}: {found}", flush=True)
        total = {key: total[key] + found[key] for key in total}
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--quick", action="store_true", help="10,000 events, 2 s latency runs")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--kill-trials", type=int, default=0)
    args = parser.parse_args()
    count, seconds = (10_000, 2.0) if args.quick else (args.events, 10.0)
    setups = [
        ("one node, SQLite", 1, None),
        ("one node, PostgreSQL", 1, args.postgres),
        ("two nodes, one PostgreSQL", 2, args.postgres),
    ]
    measured = {name: measure(nodes, postgres, count, seconds) for name, nodes, postgres in setups}
    base = measured["one node, SQLite"]
    width = max(len(name) for name in measured)
    columns = f"{'accepted ev/s':>13} {'ratio':>6}  {'delivered ev/s':>14} {'ratio':>6}  {'p50 ms':>7} {'p99 ms':>7}"
    print(f"{'setup':<{width}}  {columns}")
    for name, m in measured.items():
        print(
            f"{name:<{width}}  {m['accepted_per_s']:>13,.0f} {m['accepted_per_s'] / base['accepted_per_s']:>6.2f}  "
            f"{m['delivered_per_s']:>14,.0f} {m['delivered_per_s'] / base['delivered_per_s']:>6.2f}  "
            f"{m['p50_ms']:>7.1f} {m['p99_ms']:>7.1f}"
        )
    print("targets: SQLite >= 10,000 accepted; PostgreSQL one node >= 5,000 accepted; two nodes >= one node")
    report: dict[str, Any] = {"setups": measured}
    if args.kill_trials:
        report["kill_trials"] = kill_trials(args.postgres, args.kill_trials)
        print(f"{args.kill_trials} kill trials: {report['kill_trials']}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
