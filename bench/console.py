"""The console's pages, server time: what each page asks of `trailbridge serve` when it opens, with 300 rules
(each with a target) on the default bus and N recorded calls.

    python3 bench/console.py [--rules 300] [--records 1000000] [--repeat 5]

One server. Set-up: the rules by boto3 (PutRule, PutTargets), then N CloudTrail records through
`POST /_trailbridge/records` (batches of 5,000; records of 20 event names over 8 sources, an hour apart in
total), so LookupEvents reads a store of N + the set-up's calls. A console session (GET /console/, its cookie and
CSRF token) then opens each page as its JavaScript does, the calls made one after another on one keep-alive
connection through `POST /console/api/SERVICE` (each call made again on the server's own API, as in use):

- html: GET /console/ (the page and its session);
- rules: ListEventBuses, ListRules (every page of them); and, as its own line, the Targets column: one
  ListTargetsByRule per rule shown (the list shows 50 rules a page), made on 6 connections as a browser does
  (its wall time), and the same for all the rules at once (what a list of every rule on one page would cost);
- create: ListEventBuses, LookupEvents (up to 4 pages of 50, for the eventSource values seen), ListQueues,
  LookupEvents by EventSource (up to 4 pages of 50, the eventName values of the service shown first,
  cloudtrail.amazonaws.com); and, as its own line, choosing a service of many recorded calls (sqs.amazonaws.com,
  an eighth of them): that LookupEvents by EventSource;
- history: LookupEvents (50), then with an EventName filter;
- sandbox: LookupEvents (up to 4 pages of 50), POST /console/sandbox/test;
- deliveries: ListEventBuses, ListRules, POST /console/deliveries (DescribeRule as the key, then the rule's
  counters per minute), ListTargetsByRule; and, as its own line, the rules list's last delivery status: one
  POST /console/deliveries per rule shown, on 6 connections;
- topics, functions, machines: ListTopics (SNS, query protocol) and ListFunctions (Lambda, rest-json) by name
  through `POST /console/api/SERVICE/OPERATION` (botocore writes and reads them on the server), and
  ListStateMachines.

The set-up also puts one event per rule on the bus (so each rule has its delivery counters) and makes 20 topics
and a state machine.

Each page's time is the client's time for its calls over loopback (an upper bound of the server's), the median
of `--repeat` openings. Target (issue 20, printed, not asserted): every page under 200 ms.
Printed: one table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3
import urllib3

from bench.server import ACCOUNT, running

TARGET_MS = 200.0
BATCH = 5_000
SOURCES = [f"{name}.amazonaws.com" for name in ("sqs", "sns", "events", "s3", "lambda", "logs", "kms", "iam")]
NAMES = [f"Operation{i}" for i in range(20)]
BROWSER_CONNECTIONS = 6
RULES_PER_PAGE = 50  # console.js's RULES_PER_PAGE
TARGETS = {
    "events": "AWSEvents.",
    "sqs": "AmazonSQS.",
    "cloudtrail": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.",
    "stepfunctions": "AWSStepFunctions.",
}


def records(start: int, count: int, base: float) -> list[dict[str, Any]]:
    out = []
    for i in range(start, start + count):
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + i * 3600 / 1_000_000))
        out.append(
            {
                "eventVersion": "1.09",
                "userIdentity": {"type": "IAMUser", "accountId": ACCOUNT, "userName": f"user{i % 7}"},
                "eventTime": when,
                "eventSource": SOURCES[i % len(SOURCES)],
                "eventName": NAMES[i % len(NAMES)],
                "awsRegion": "us-east-1",
                "sourceIPAddress": "192.0.2.1",
                "userAgent": "bench",
                "requestParameters": {"n": i},
                "responseElements": None,
                "requestID": f"req-{i}",
                "eventID": f"00000000-0000-4000-8000-{i:012d}",
                "readOnly": False,
                "eventType": "AwsApiCall",
                "managementEvent": True,
                "recipientAccountId": ACCOUNT,
                "eventCategory": "Management",
            }
        )
    return out


def set_up(url: str, rules: int, count: int) -> None:
    common = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": ACCOUNT}
    sqs = boto3.client("sqs", **common, aws_secret_access_key="x")
    events = boto3.client("events", **common, aws_secret_access_key="x")
    sqs.create_queue(QueueName="sink")
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:sink"
    for i in range(rules):
        events.put_rule(Name=f"rule-{i}", EventPattern=json.dumps({"source": ["bench"], "detail": {"n": [i]}}))
        events.put_targets(Rule=f"rule-{i}", Targets=[{"Id": "q", "Arn": arn}])
    for first in range(0, rules, 10):  # one event per rule: its delivery counters
        entries = [
            {"Source": "bench", "DetailType": "d", "Detail": json.dumps({"n": i})}
            for i in range(first, min(first + 10, rules))
        ]
        events.put_events(Entries=entries)
    sns = boto3.client("sns", **common, aws_secret_access_key="x")
    for i in range(20):
        sns.create_topic(Name=f"topic-{i}")
    states = boto3.client("stepfunctions", **common, aws_secret_access_key="x")
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    role = f"arn:aws:iam::{ACCOUNT}:role/bench"
    states.create_state_machine(name="bench", definition=json.dumps(definition), roleArn=role)
    http = urllib3.PoolManager()
    base = time.time() - 2 * 3600
    for start in range(0, count, BATCH):
        body = json.dumps({"Records": records(start, min(BATCH, count - start), base)}).encode()
        answer = http.request("POST", url + "/_trailbridge/records", body=body, retries=False)
        if answer.status != 200 or json.loads(answer.data)["rejected"]:
            raise SystemExit(f"records not accepted: {answer.status} {answer.data[:300]!r}")


class Session:
    """A console session: its cookie and CSRF token, and one keep-alive connection."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = urllib3.HTTPConnectionPool("127.0.0.1", int(url.rsplit(":", 1)[1]), maxsize=BROWSER_CONNECTIONS)
        self.open_page()

    def open_page(self) -> None:
        page = self.http.request("GET", "/console/", retries=False)
        self.cookie = page.headers["set-cookie"].split(";")[0]
        found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.data.decode())
        assert found is not None
        self.token = found.group(1)

    def call(self, service: str, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Cookie": self.cookie, "X-CSRF-Token": self.token, "X-Amz-Target": TARGETS[service] + operation}
        answer = self.http.request(
            "POST", f"/console/api/{service}", body=json.dumps(body).encode(), headers=headers, retries=False
        )
        if answer.status != 200:
            raise SystemExit(f"{operation}: {answer.status} {answer.data[:300]!r}")
        result: dict[str, Any] = json.loads(answer.data)
        return result

    def every(self, service: str, operation: str, body: dict[str, Any], key: str, pages: int = 20) -> list[Any]:
        items, token = [], None
        for _ in range(pages):
            answer = self.call(service, operation, {**body, **({"NextToken": token} if token else {})})
            items.extend(answer.get(key, []))
            token = answer.get("NextToken")
            if not token:
                break
        return items

    def by_name(self, service: str, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._post(f"/console/api/{service}/{operation}", body)

    def deliveries(self, rule: str) -> dict[str, Any]:
        return self._post("/console/deliveries", {"Rule": rule, "Minutes": 60})

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Cookie": self.cookie, "X-CSRF-Token": self.token}
        answer = self.http.request("POST", path, body=json.dumps(body).encode(), headers=headers, retries=False)
        if answer.status != 200:
            raise SystemExit(f"{path}: {answer.status} {answer.data[:300]!r}")
        result: dict[str, Any] = json.loads(answer.data)
        return result

    def sandbox(self, pattern: str, event: str) -> None:
        headers = {"Cookie": self.cookie, "X-CSRF-Token": self.token}
        body = json.dumps({"pattern": pattern, "event": event}).encode()
        answer = self.http.request("POST", "/console/sandbox/test", body=body, headers=headers, retries=False)
        assert answer.status == 200, answer.data


def rules_page(session: Session) -> None:
    session.every("events", "ListEventBuses", {}, "EventBuses")
    rules = session.every("events", "ListRules", {"EventBusName": "default"}, "Rules")
    assert len(rules) >= 1


def targets_column(session: Session, shown: int | None) -> float:
    """The wall time (ms) of one ListTargetsByRule per rule shown (None: every rule) on the browser's 6
    connections."""
    rules = session.every("events", "ListRules", {"EventBusName": "default"}, "Rules")[:shown]
    started = time.perf_counter()
    with ThreadPoolExecutor(BROWSER_CONNECTIONS) as pool:
        list(pool.map(lambda r: session.call("events", "ListTargetsByRule", {"Rule": r["Name"]}), rules))
    return (time.perf_counter() - started) * 1000


def create_page(session: Session) -> None:
    session.every("events", "ListEventBuses", {}, "EventBuses")
    session.every("cloudtrail", "LookupEvents", {"MaxResults": 50}, "Events", pages=4)
    session.every("sqs", "ListQueues", {}, "QueueUrls")
    operations(session, "cloudtrail.amazonaws.com")


def operations(session: Session, source: str) -> None:
    """The wizard's Specific operation(s) of a service: the eventName values of its recorded calls."""
    by_source = [{"AttributeKey": "EventSource", "AttributeValue": source}]
    session.every("cloudtrail", "LookupEvents", {"MaxResults": 50, "LookupAttributes": by_source}, "Events", pages=4)


def pick_service(session: Session) -> None:
    operations(session, SOURCES[0])


def history_page(session: Session) -> None:
    session.call("cloudtrail", "LookupEvents", {"MaxResults": 50})
    by_name = [{"AttributeKey": "EventName", "AttributeValue": NAMES[3]}]
    session.call("cloudtrail", "LookupEvents", {"MaxResults": 50, "LookupAttributes": by_name})


def sandbox_page(session: Session) -> None:
    events = session.every("cloudtrail", "LookupEvents", {"MaxResults": 50}, "Events", pages=4)
    event = json.dumps({"source": "aws.sqs", "detail": json.loads(events[0]["CloudTrailEvent"])})
    session.sandbox(json.dumps({"source": ["aws.sqs"], "detail": {"eventName": [NAMES[0]]}}), event)


def deliveries_page(session: Session) -> None:
    session.every("events", "ListEventBuses", {}, "EventBuses")
    rules = session.every("events", "ListRules", {"EventBusName": "default"}, "Rules")
    assert session.deliveries(rules[0]["Name"])["Series"], "the rule has no delivery counters"
    session.call("events", "ListTargetsByRule", {"Rule": rules[0]["Name"]})


def last_status_column(session: Session) -> float:
    """The wall time (ms) of the rules list's last delivery status: one POST /console/deliveries per rule
    shown, on the browser's 6 connections."""
    rules = session.every("events", "ListRules", {"EventBusName": "default"}, "Rules")[:RULES_PER_PAGE]
    started = time.perf_counter()
    with ThreadPoolExecutor(BROWSER_CONNECTIONS) as pool:
        list(pool.map(lambda r: session.deliveries(r["Name"]), rules))
    return (time.perf_counter() - started) * 1000


def topics_page(session: Session) -> None:
    assert len(session.by_name("sns", "ListTopics", {})["Topics"]) == 20


def functions_page(session: Session) -> None:
    session.by_name("lambda", "ListFunctions", {"MaxItems": 50})


def machines_page(session: Session) -> None:
    assert session.call("stepfunctions", "ListStateMachines", {})["stateMachines"]


def timed(work: Callable[[], None], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=int, default=300)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data, running("trailbridge", data) as url:
        started = time.perf_counter()
        set_up(url, args.rules, args.records)
        setup_s = time.perf_counter() - started
        session = Session(url)
        pages: dict[str, float] = {"html": timed(session.open_page, args.repeat)}
        for name, work in (
            ("rules", rules_page),
            ("create", create_page),
            ("create: pick sqs", pick_service),
            ("history", history_page),
            ("sandbox", sandbox_page),
            ("deliveries", deliveries_page),
            ("topics", topics_page),
            ("functions", functions_page),
            ("machines", machines_page),
        ):
            pages[name] = timed(partial(work, session), args.repeat)
        columns = {f"rules: Targets, {RULES_PER_PAGE} shown": RULES_PER_PAGE, "(Targets of all rules)": None}
        for label, count in columns.items():
            pages[label] = statistics.median(targets_column(session, count) for _ in range(args.repeat))
        label = f"rules: last status, {RULES_PER_PAGE}"
        pages[label] = statistics.median(last_status_column(session) for _ in range(args.repeat))
    shown = f"{args.rules} rules with a target each, {args.records:,} recorded calls (set-up {setup_s:.0f} s)"
    print(f"console pages, {shown}")
    print(f"{'page':<24}{'ms (median of ' + str(args.repeat) + ')':>20}{'target':>10}")
    for name, ms in pages.items():
        print(f"{name:<24}{ms:>20.1f}{'ok' if ms < TARGET_MS else 'OVER':>10}")
    print(json.dumps({"bench": "console", "rules": args.rules, "records": args.records, "ms": pages}))


if __name__ == "__main__":
    main()
