"""One kill trial for record durability: management calls from several clients against `trailbridge serve`,
a SIGKILL in the middle, a restart on the same data, and the request IDs of the calls that were answered
compared with those LookupEvents finds; and the rules the store kept compared with the calls recorded, since
a change is kept only with its record (`tests/security/test_kill_trials.py` runs a few, `bench/kill_trials.py`
twenty)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import urllib3
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.server import FAST_ENV, free_port

ACCOUNT = "123456789012"
CLIENTS = 8


@dataclass
class Outcome:
    answered: set[str] = field(default_factory=set)  # request IDs of calls answered 200
    recorded: set[str] = field(default_factory=set)  # request IDs of PutRule records found after the restart
    kept: set[str] = field(default_factory=set)  # the Description (one per call) of each rule after the restart
    recorded_changes: set[str] = field(default_factory=set)  # the Description of each PutRule recorded

    @property
    def missing(self) -> set[str]:
        return self.answered - self.recorded

    @property
    def unrecorded_changes(self) -> set[str]:
        """Calls whose change the store kept (answered or not) without their record."""
        return self.kept - self.recorded_changes


def _serve(data: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "trailbridge", "serve", "--port", str(port), "--data", str(data)]
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **FAST_ENV})
    url, http, deadline = f"http://127.0.0.1:{port}", urllib3.PoolManager(), time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"trailbridge serve exited: {log.read_text()}")
        try:
            if http.request("GET", url + "/health", retries=False).status == 200:
                return process, url
        except urllib3.exceptions.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("trailbridge serve did not start")


def _client(service: str, url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=ACCOUNT,
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
    )


def _calls(
    url: str, number: int, outcome: Outcome, lock: threading.Lock, started: threading.Event, stop: threading.Event
) -> None:
    events = _client("events", url)
    for i in range(1_000_000):
        if stop.is_set():
            return
        try:  # 30 names per client: 240 rules, below the 300 a bus may hold
            answer = events.put_rule(
                Name=f"kill-{number}-{i % 30}", EventPattern='{"source": ["kill"]}', Description=f"call {number}-{i}"
            )
        except ClientError:  # an error answer (the server is failing): not answered, go on
            continue
        except Exception:  # the server is gone: the trial's calls end here
            return
        with lock:
            outcome.answered.add(answer["ResponseMetadata"]["RequestId"])
        started.set()


def _recorded(url: str, outcome: Outcome) -> None:
    cloudtrail = _client("cloudtrail", url)
    pages = cloudtrail.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "PutRule"}]
    )
    for page in pages:
        for event in page["Events"]:
            record = json.loads(event["CloudTrailEvent"])
            outcome.recorded.add(str(record["requestID"]))
            outcome.recorded_changes.add(str(record["requestParameters"]["description"]))
    for page in _client("events", url).get_paginator("list_rules").paginate(NamePrefix="kill-"):
        outcome.kept.update(str(rule["Description"]) for rule in page["Rules"])


def kill_trial(directory: Path, run_seconds: float) -> Outcome:
    """Calls from `CLIENTS` threads for `run_seconds` from the first answer (making eight clients takes a
    loaded machine longer than the shortest trial), SIGKILL, restart, and what was found."""
    data, log = directory / "data", directory / "server.log"
    process, url = _serve(data, log)
    outcome, lock, started, stop = Outcome(), threading.Lock(), threading.Event(), threading.Event()
    threads = [threading.Thread(target=_calls, args=(url, n, outcome, lock, started, stop)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    started.wait(60)
    time.sleep(run_seconds)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    stop.set()
    for thread in threads:
        thread.join(30)
    process, url = _serve(data, log)
    try:
        _recorded(url, outcome)
    finally:
        process.terminate()
        process.wait(30)
    return outcome
