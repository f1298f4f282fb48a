"""Step Functions: executions of a 10-state Pass/Choice machine, trailbridge serve vs moto's server, in one run.

    pip install -e '.[bench]' && python3 bench/stepfunctions.py [--seconds 5] [--connections 16] [--quick]

The machine: P1 C1 P2 C2 P3 C3 P4 C4 P5 P6 (six Pass states, each setting one field, and four Choice states on
`$.n`), every state visited once: 10 state transitions per execution. Each server gets it through boto3 as a
STANDARD and as an EXPRESS machine. moto's server runs no execution by default (it accepts StartExecution
and the execution stays RUNNING); with {"stepfunctions": {"execute_state_machine": true}} (POST
/moto-api/config) it runs the first execution of the process and answers every later StartExecution 500
(moto 5.2: a deepcopy of the state machine meets a lock). So for moto the bench first runs that one execution
with the setting on (its transition latency, from its history) and prints its answer to a second one, then
turns the setting off for the runs below, which measure what moto's default accepts. Measured per server:

- STANDARD: StartExecution (JSON protocol, an unverified Authorization header, unique names) on N keep-alive
  connections for S seconds: started/s (answered 200). Then completed: once no execution is RUNNING (polled,
  up to 20 s), the SUCCEEDED ones (ListExecutions, paged) over the time from the first start to the latest
  stopDate; transitions/s = completed/s x 10. What did not finish is printed as such, never counted;
- transition latency: in the histories of up to 100 of those executions (GetExecutionHistory), the time from
  one state's *StateEntered event to the next one's (9 per execution); p50/p99. And, per execution,
  (stopDate - startDate) / 10; p50/p99. Both under the saturating load, so they include its queueing;
- EXPRESS: StartSyncExecution on N connections for S seconds: executions/s answered SUCCEEDED, call p50/p99
  (boto3 sends it to the `sync-` host prefix: one call through boto3 with Config(inject_host_prefix=False)
  first checks the SDK's path). What a server answers instead is printed.

Then, in this process, the driver alone (SQLite in a temporary directory, no HTTP): ExecutionsService
StartExecution of E executions, then `Driver.run_once()` until none is due: starts/s, and the SUCCEEDED ones
per second of stepping (and of starting and stepping).

Printed: a table, the ratios trailbridge / moto where moto ran, the targets (issue 19: >= 500 STANDARD
executions/s completed durably, >= 5,000 state transitions/s) and whether each is met; then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import boto3
import urllib3
from botocore.config import Config
from botocore.exceptions import ClientError

from bench.server import ACCOUNT, percentile, running

ROLE = f"arn:aws:iam::{ACCOUNT}:role/bench"
TRANSITIONS = 10
SAMPLED = 100  # histories read for the transition latency
SETTLE_SECONDS = 20.0  # how long the STANDARD executions may take to finish after the last start
TARGET_EXECUTIONS, TARGET_TRANSITIONS = 500, 5_000
HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    "Authorization": f"AWS4-HMAC-SHA256 Credential={ACCOUNT}/20260101/us-east-1/states/aws4_request, "
    "SignedHeaders=host;x-amz-date;x-amz-target, Signature=0",
    "X-Amz-Date": "20260101T000000Z",
}


def machine() -> dict[str, Any]:
    names = ["P1", "C1", "P2", "C2", "P3", "C3", "P4", "C4", "P5", "P6"]
    states: dict[str, Any] = {}
    for i, name in enumerate(names):
        follows = names[i + 1] if i + 1 < len(names) else None
        if name.startswith("C"):
            rule = {"Variable": "$.n", "NumericGreaterThan": 0, "Next": follows}
            states[name] = {"Type": "Choice", "Choices": [rule]}
        else:
            states[name] = {"Type": "Pass", "Result": i, "ResultPath": f"$.{name.lower()}"}
            states[name] |= {"Next": follows} if follows else {"End": True}
    return {"Comment": "bench: 6 Pass, 4 Choice", "StartAt": names[0], "States": states}


def client(url: str, **config: Any) -> Any:
    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=ACCOUNT,
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 3}, **config),
    )


def set_up(url: str) -> tuple[str, str]:
    """The STANDARD and EXPRESS machines' ARNs."""
    sfn, definition = client(url), json.dumps(machine())
    arns = [
        sfn.create_state_machine(name=f"bench-{kind.lower()}", definition=definition, roleArn=ROLE, type=kind)[
            "stateMachineArn"
        ]
        for kind in ("STANDARD", "EXPRESS")
    ]
    return arns[0], arns[1]


async def call(session: aiohttp.ClientSession, url: str, operation: str, body: bytes) -> tuple[int, bytes, float]:
    started = time.perf_counter()
    headers = {**HEADERS, "X-Amz-Target": f"AWSStepFunctions.{operation}"}
    async with session.post(url + "/", data=body, headers=headers) as response:
        answer = await response.read()
    return response.status, answer, time.perf_counter() - started


async def saturate(
    url: str, operation: str, arn: str, seconds: float, connections: int
) -> tuple[float, list[float], int, list[str], float]:
    """Answers/s that succeeded, their latencies, how many did not (and the first such answer), and the wall
    clock time of the first request."""
    latencies: list[float] = []
    refused: list[str] = []
    deadline = time.perf_counter() + seconds
    wall = time.time()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:

        async def worker(offset: int) -> None:
            i = 0
            while time.perf_counter() < deadline:
                body = json.dumps({"stateMachineArn": arn, "name": f"e-{offset}-{i}", "input": '{"n": 1}'})
                status, answer, latency = await call(session, url, operation, body.encode())
                ok = status == 200 and (
                    operation != "StartSyncExecution" or json.loads(answer)["status"] == "SUCCEEDED"
                )
                if ok:
                    latencies.append(latency)
                else:
                    refused.append(f"{status} {' '.join(answer[:300].decode(errors='replace').split())[:160]}")
                i += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(connections)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies, len(refused), refused[:1], wall


def listed(sfn: Any, arn: str, status: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for page in sfn.get_paginator("list_executions").paginate(
        stateMachineArn=arn, statusFilter=status, PaginationConfig={"PageSize": 1000}
    ):
        found.extend(page["executions"])
    return found


def settled(sfn: Any, arn: str) -> bool:
    """Whether every execution of the machine finished within SETTLE_SECONDS."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        if not sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING", maxResults=1)["executions"]:
            return True
        time.sleep(0.2)
    return False


def moto_runs(url: str) -> dict[str, Any]:
    """What moto's server runs with {"execute_state_machine": true}: one execution of the machine, to its end
    (its transition latency from its history), then its answer to a second StartExecution; the setting is
    turned off again after (the throughput runs use moto's default, which accepts starts and runs nothing)."""
    http, sfn = urllib3.PoolManager(), client(url)
    config = {"stepfunctions": {"execute_state_machine": True}}
    http.request("POST", url + "/moto-api/config", body=json.dumps(config))
    try:
        arn = sfn.create_state_machine(name="bench-probe", definition=json.dumps(machine()), roleArn=ROLE)
        first = sfn.start_execution(stateMachineArn=arn["stateMachineArn"], name="first", input='{"n": 1}')
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            found = sfn.describe_execution(executionArn=first["executionArn"])
            if found["status"] != "RUNNING":
                break
            time.sleep(0.05)
        ran: dict[str, Any] = {"first_status": found["status"]}
        if found["status"] == "SUCCEEDED":
            gaps = entered_gaps(sfn, first["executionArn"])
            ran |= {"transition_p50_ms": percentile(gaps, 0.5), "transition_p99_ms": percentile(gaps, 0.99)}
            ran["run_per_transition_ms"] = (found["stopDate"] - found["startDate"]).total_seconds() * 100
        try:
            sfn.start_execution(stateMachineArn=arn["stateMachineArn"], name="second", input='{"n": 1}')
            ran["second_start"] = "accepted"
        except ClientError as exc:
            ran["second_start"] = str(exc).splitlines()[0][:120]
        return ran
    finally:
        config["stepfunctions"]["execute_state_machine"] = False
        http.request("POST", url + "/moto-api/config", body=json.dumps(config))


def entered_gaps(sfn: Any, execution_arn: str) -> list[float]:
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    entered: list[datetime] = [e["timestamp"] for e in events if e["type"].endswith("StateEntered")]
    return [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(entered)]


def standard(url: str, arn: str, seconds: float, connections: int) -> dict[str, Any]:
    sfn = client(url)
    rate, latencies, failed, first_refusal, wall = asyncio.run(
        saturate(url, "StartExecution", arn, seconds, connections)
    )
    done = settled(sfn, arn)
    succeeded = listed(sfn, arn, "SUCCEEDED")
    result: dict[str, Any] = {
        "started": len(latencies),
        "started_per_s": rate,
        "start_p50_ms": percentile(latencies, 0.5),
        "start_p99_ms": percentile(latencies, 0.99),
        "start_refused": failed,
        "start_refusal": first_refusal,
        "all_finished": done,
        "succeeded": len(succeeded),
        "still_running": 0 if done else len(listed(sfn, arn, "RUNNING")),
    }
    if not succeeded:
        return result
    last = max(e["stopDate"].timestamp() for e in succeeded)
    result["completed_per_s"] = len(succeeded) / (last - wall)
    result["transitions_per_s"] = result["completed_per_s"] * TRANSITIONS
    per_execution = [(e["stopDate"] - e["startDate"]).total_seconds() / TRANSITIONS for e in succeeded]
    result["run_per_transition_p50_ms"] = percentile(per_execution, 0.5)
    result["run_per_transition_p99_ms"] = percentile(per_execution, 0.99)
    step = max(1, len(succeeded) // SAMPLED)
    gaps = [gap for e in succeeded[::step][:SAMPLED] for gap in entered_gaps(sfn, e["executionArn"])]
    result["transition_p50_ms"] = percentile(gaps, 0.5)
    result["transition_p99_ms"] = percentile(gaps, 0.99)
    return result


def express(url: str, arn: str, seconds: float, connections: int) -> dict[str, Any]:
    sfn = client(url, inject_host_prefix=False)
    try:
        checked = sfn.start_sync_execution(stateMachineArn=arn, input='{"n": 1}')["status"]
    except Exception as exc:  # what the server answers instead is the result
        return {"sdk_check": f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"}
    rate, latencies, failed, first_refusal, _ = asyncio.run(
        saturate(url, "StartSyncExecution", arn, seconds, connections)
    )
    return {
        "sdk_check": checked,
        "executions_per_s": rate,
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "refused": failed,
        "refusal": first_refusal,
    }


def measure(name: str, seconds: float, connections: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data_dir, running(name, data_dir) as url:
        standard_arn, express_arn = set_up(url)
        return {
            "server": name,
            "runs": moto_runs(url) if name == "moto" else None,
            "standard": standard(url, standard_arn, seconds, connections),
            "express": express(url, express_arn, seconds, connections),
        }


def in_process(count: int) -> dict[str, Any]:
    """The driver without HTTP: `count` executions started through the service, then stepped to their end."""
    from trailbridge.runtime import Trailbridge
    from trailbridge.services.states import ExecutionsService, MachinesService
    from trailbridge.services.states.driver import Driver

    with tempfile.TemporaryDirectory() as data_dir:
        tb = Trailbridge(Path(data_dir))
        try:
            made = MachinesService(tb.engine, ACCOUNT, "us-east-1").create_state_machine(
                name="bench", definition=json.dumps(machine()), roleArn=ROLE
            )
            executions, driver = ExecutionsService(tb.engine, ACCOUNT, "us-east-1"), Driver(tb.engine)
            began = time.perf_counter()
            for i in range(count):
                executions.start_execution(stateMachineArn=made["stateMachineArn"], name=f"e-{i}", input='{"n": 1}')
            started = time.perf_counter()
            while driver.run_once():
                pass
            stepped = time.perf_counter()
            succeeded, more = 0, dict[str, str]()
            while True:
                listing = executions.list_executions(
                    stateMachineArn=made["stateMachineArn"], statusFilter="SUCCEEDED", maxResults=1000, **more
                )
                succeeded += len(listing["executions"])
                if not listing.get("nextToken"):
                    break
                more = {"nextToken": listing["nextToken"]}
        finally:
            tb.close()
    return {
        "executions": count,
        "succeeded": succeeded,
        "starts_per_s": count / (started - began),
        "completions_per_s": succeeded / (stepped - started),
        "end_to_end_per_s": succeeded / (stepped - began),
    }


def _number(value: Any, form: str = ",.0f") -> str:
    return format(value, form) if isinstance(value, int | float) else "-"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--executions", type=int, default=2000, help="started and stepped in process")
    parser.add_argument("--quick", action="store_true", help="2 s per server and run, 500 in process")
    args = parser.parse_args()
    seconds = 2 if args.quick else args.seconds
    count = 500 if args.quick else args.executions
    results = [measure(name, seconds, args.connections) for name in ("trailbridge", "moto")]
    local = in_process(count)
    print(f"Step Functions, 10-state Pass/Choice machine, {args.connections} connections, {seconds:g} s per run")
    print(
        f"{'server':<12} {'started/s':>9} {'done/s':>7} {'trans/s':>8} {'trans p50':>9} {'trans p99':>9} "
        f"{'run/10 p50':>10} {'run/10 p99':>10} {'express/s':>9} {'sync p50':>8} {'sync p99':>8}"
    )
    for r in results:
        s, e = r["standard"], r["express"]
        print(
            f"{r['server']:<12} {_number(s['started_per_s']):>9} {_number(s.get('completed_per_s')):>7} "
            f"{_number(s.get('transitions_per_s')):>8} {_number(s.get('transition_p50_ms'), '.1f'):>9} "
            f"{_number(s.get('transition_p99_ms'), '.1f'):>9} {_number(s.get('run_per_transition_p50_ms'), '.1f'):>10} "
            f"{_number(s.get('run_per_transition_p99_ms'), '.1f'):>10} {_number(e.get('executions_per_s')):>9} "
            f"{_number(e.get('p50_ms'), '.1f'):>8} {_number(e.get('p99_ms'), '.1f'):>8}"
        )
        if r["runs"] is not None:
            ran = r["runs"]
            print(
                f"  {r['server']} with execute_state_machine: its first execution {ran['first_status']} "
                f"(transition p50 {_number(ran.get('transition_p50_ms'), '.1f')} ms, p99 "
                f"{_number(ran.get('transition_p99_ms'), '.1f')} ms, start to end / 10 "
                f"{_number(ran.get('run_per_transition_ms'), '.1f')} ms); a second StartExecution: "
                f"{ran['second_start']}. So the runs above use moto's default, which runs no execution"
            )
        if s["start_refused"]:
            print(f"  {r['server']}: {s['start_refused']} StartExecution refused, e.g. {s['start_refusal'][0]}")
        if not s["all_finished"]:
            print(
                f"  {r['server']}: {s['still_running']} of {s['started']} STANDARD executions still RUNNING "
                f"{SETTLE_SECONDS:g} s after the last start (not counted); {s['succeeded']} SUCCEEDED"
            )
        if "executions_per_s" not in e:
            print(f"  {r['server']}: StartSyncExecution cannot run: {e['sdk_check']}")
        elif e["refused"]:
            print(f"  {r['server']}: {e['refused']} StartSyncExecution not SUCCEEDED, e.g. {e['refusal'][0]}")
    print(
        f"in process (driver, SQLite, no HTTP): {local['executions']} executions "
        f"({local['succeeded']} SUCCEEDED), {local['starts_per_s']:,.0f} "
        f"starts/s, {local['completions_per_s']:,.0f} completions/s ({local['end_to_end_per_s']:,.0f}/s start "
        f"to end, {local['end_to_end_per_s'] * TRANSITIONS:,.0f} transitions/s)"
    )
    ours, moto = results[0]["standard"], results[1]["standard"]
    for key, label in (("started_per_s", "started/s"), ("completed_per_s", "completed/s")):
        if moto.get(key):
            print(f"trailbridge / moto: {ours.get(key, 0) / moto[key]:.1f}x STANDARD {label}")
        else:
            print(f"trailbridge / moto: no ratio of STANDARD {label} (moto has no figure)")
    if "executions_per_s" in results[1]["express"] and "executions_per_s" in results[0]["express"]:
        ratio = results[0]["express"]["executions_per_s"] / results[1]["express"]["executions_per_s"]
        print(f"trailbridge / moto: {ratio:.1f}x EXPRESS executions/s")
    completed = ours.get("completed_per_s", 0.0)
    met = {
        "executions": completed >= TARGET_EXECUTIONS,
        "transitions": completed * TRANSITIONS >= TARGET_TRANSITIONS,
    }
    print(
        f"targets over HTTP: >= {TARGET_EXECUTIONS} STANDARD executions/s completed durably: {completed:,.0f} "
        f"({'met' if met['executions'] else 'NOT met'}); >= {TARGET_TRANSITIONS:,} state transitions/s: "
        f"{completed * TRANSITIONS:,.0f} ({'met' if met['transitions'] else 'NOT met'})"
    )
    print(json.dumps({"results": results, "in_process": local, "met": met}, default=str))


if __name__ == "__main__":
    main()
