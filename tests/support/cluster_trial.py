"""One kill trial for a cluster: two `trailbridge serve` nodes on one PostgreSQL database, PutEvents load on
both, a SIGKILL of one in the middle, and every event that got an `EventId` looked for in the queue the rule
delivers to (`tests/test_cluster.py` runs one, `bench/cluster.py --kill-trials 10` ten)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.server import Server

CLIENTS_PER_NODE = 3
LEASE_SECONDS = 2.0  # how long the killed node's deliveries stay its own before the other takes them


@dataclass
class Outcome:
    accepted: set[str] = field(default_factory=set)  # EventIds PutEvents answered
    delivered: dict[str, int] = field(default_factory=dict)  # EventId -> how many times it reached the queue

    @property
    def missing(self) -> set[str]:
        return self.accepted - set(self.delivered)

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self.delivered.values())


def nodes(database: str, key_file: Path, count: int = 2) -> list[Server]:
    """`count` nodes on `database`, sharing the secret key, with a short delivery lease."""
    env = {"TRAILBRIDGE_DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS)}
    started: list[Server] = []
    try:
        for _ in range(count):
            started.append(Server("--database", database, "--secret-key-file", str(key_file), env=env))
    except BaseException:
        for node in started:
            node.stop()
        raise
    return started


def _load(node: Server, outcome: Outcome, lock: threading.Lock, stop: threading.Event, number: int) -> None:
    events = node.client("events", connect_timeout=2, read_timeout=10)
    for i in range(1_000_000):
        if stop.is_set():
            return
        entries = [
            {"Source": "cluster", "DetailType": "load", "Detail": json.dumps({"n": f"{number}-{i}-{j}"})}
            for j in range(5)
        ]
        try:
            answer = events.put_events(Entries=entries)
        except Exception:  # the node is gone (or failing): these calls end here
            return
        with lock:
            outcome.accepted.update(entry["EventId"] for entry in answer["Entries"] if "EventId" in entry)


def _drain(node: Server, queue_url: str, outcome: Outcome, deadline: float) -> None:
    """Receive (and delete) until every accepted event arrived, or the deadline."""
    sqs = node.client("sqs")
    while outcome.missing and time.monotonic() < deadline:
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages = answer.get("Messages", [])
        for message in messages:
            event_id = json.loads(message["Body"])["id"]
            outcome.delivered[event_id] = outcome.delivered.get(event_id, 0) + 1
        if messages:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )


def _route(node: Server) -> str:
    """A queue and a rule that sends every load event to it; the queue's URL."""
    queue_url: str = node.client("sqs").create_queue(QueueName="cluster")["QueueUrl"]
    events = node.client("events")
    events.put_rule(Name="cluster", EventPattern='{"source": ["cluster"]}')
    arn = "arn:aws:sqs:us-east-1:123456789012:cluster"
    events.put_targets(Rule="cluster", Targets=[{"Id": "queue", "Arn": arn}])
    return queue_url


def cluster_kill_trial(database: str, directory: Path, run_seconds: float) -> Outcome:
    """Load on both nodes for `run_seconds`, SIGKILL the first, load on the other a little longer, then drain."""
    first, second = nodes(database, directory / "secret.key")
    try:
        queue_url = _route(first)
        outcome, lock, stop = Outcome(), threading.Lock(), threading.Event()
        threads = [
            threading.Thread(target=_load, args=(node, outcome, lock, stop, n * 10 + k))
            for n, node in enumerate((first, second))
            for k in range(CLIENTS_PER_NODE)
        ]
        for thread in threads:
            thread.start()
        time.sleep(run_seconds)
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait()
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join(30)
        _drain(second, queue_url, outcome, time.monotonic() + LEASE_SECONDS * 5 + 20)
        return outcome
    finally:
        first.stop()
        second.stop()


def summary(outcome: Outcome) -> dict[str, Any]:
    return {"accepted": len(outcome.accepted), "missing": len(outcome.missing), "duplicates": outcome.duplicates}
