"""Pattern-matching throughput: trailbridge vs moto vs LocalStack vs parsing alone, in one run.

Events are the real CloudTrail records of ../shared/corpora/cloudtrail wrapped in EventBridge's
"AWS API Call via CloudTrail" envelope, as bytes. Rules are generated security rules drawn from
those records (exact eventSource/eventName, prefix on userAgent, anything-but on userIdentity.type,
cidr on sourceIPAddress, wildcard on ARNs, numeric, exists:false on errorCode, $or).

Every engine sees the same bytes and pays for its own parsing. moto and LocalStack evaluate rules
one by one, so they are measured on a time budget (a sample of the events at high rule counts).

    pip install -e '.[bench]' && python bench/patterns.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from trailbridge.patterns import Matcher

CORPORA = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "cloudtrail"
RULE_COUNTS = (10, 100, 1_000, 10_000)
TARGETS = "events/s >= 50% of parse-alone at 1,000 rules, >= 40% at 10,000; >= 100x LocalStack at 1,000"


def records() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted((CORPORA / "stratus-red-team").glob("*.json")):
        found.extend(json.loads(path.read_text()))
    for path in sorted((CORPORA / "traildiscover").rglob("*.json.cloudtrail")):
        data = json.loads(path.read_text())
        found.extend(data.get("Records", [data]) if isinstance(data, dict) else data)
    for line in (CORPORA / "panther-rule-tests" / "aws_cloudtrail_rule_tests.jsonl").read_text().splitlines():
        log = json.loads(line).get("log", {})
        found.append({k: v for k, v in log.items() if not k.startswith("p_")})
    return [r for r in found if isinstance(r, dict) and r.get("eventSource") and r.get("eventName")]


def envelope(record: dict[str, Any]) -> bytes:
    service = str(record["eventSource"]).split(".")[0]
    return orjson.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "AWS API Call via CloudTrail",
            "source": f"aws.{service}",
            "account": record.get("recipientAccountId", "123456789012"),
            "time": record.get("eventTime", "2026-01-01T00:00:00Z"),
            "region": record.get("awsRegion", "us-east-1"),
            "resources": [],
            "detail": record,
        }
    )


def rule_for(record: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    detail: dict[str, Any] = {"eventSource": [record["eventSource"]], "eventName": [record["eventName"]]}
    extras: list[Callable[[], None]] = [
        lambda: detail.update(userAgent=[{"prefix": str(record.get("userAgent", "aws-cli"))[:6]}]),
        lambda: detail.update(userIdentity={"type": [{"anything-but": ["AWSService", "AWSAccount"]}]}),
        lambda: detail.update(sourceIPAddress=[{"cidr": f"{rng.randrange(1, 224)}.0.0.0/8"}]),
        lambda: detail.update(resources={"ARN": [{"wildcard": f"arn:aws:{rng.choice(['iam', 's3', 'ec2'])}:*"}]}),
        lambda: detail.update(requestParameters={"maxResults": [{"numeric": [">", 0, "<=", 1000]}]}),
        lambda: detail.update(errorCode=[{"exists": False}]),
        lambda: detail.update({"$or": [{"readOnly": [False]}, {"errorCode": [{"exists": True}]}]}),
    ]
    for extra in rng.sample(extras, rng.randint(1, 3)):
        extra()
    service = str(record["eventSource"]).split(".")[0]
    return {"source": [f"aws.{service}"], "detail-type": ["AWS API Call via CloudTrail"], "detail": detail}


def rate(run: Callable[[bytes], object], events: list[bytes], budget: float) -> float:
    """Events per second, over whole passes (or a prefix of one, for slow engines) within `budget`."""
    done, start = 0, time.perf_counter()
    while True:
        for event in events:
            run(event)
            done += 1
            if done % 16 == 0 and time.perf_counter() - start > budget:
                return done / (time.perf_counter() - start)
        if time.perf_counter() - start > budget / 2:
            return done / (time.perf_counter() - start)


def peers(rules: list[dict[str, Any]]) -> dict[str, Callable[[bytes], object]]:
    found: dict[str, Callable[[bytes], object]] = {}
    try:
        from moto.events.models import EventPattern

        moto_rules = [EventPattern.load(json.dumps(r)) for r in rules]
        found["moto"] = lambda e: [p.matches_event(orjson.loads(e)) for p in moto_rules]
    except ImportError as exc:
        print(f"moto unavailable ({exc}); pip install -e '.[bench]'", file=sys.stderr)
    try:
        from localstack.services.events.event_rule_engine import EventPatternCompiler, EventRuleEngine

        compiler, engine = EventPatternCompiler(), EventRuleEngine()
        ls_rules = [compiler.compile_event_pattern(r) for r in rules]
        found["localstack"] = lambda e: [engine.evaluate_pattern_on_event(c, orjson.loads(e)) for c in ls_rules]
    except ImportError as exc:
        print(f"LocalStack engine unavailable ({exc}); pip install -e '.[bench]'", file=sys.stderr)
    return found


def build(rules: list[dict[str, Any]]) -> tuple[Matcher, float, float]:
    """The matcher, seconds to add the rules, and bytes allocated per rule.

    The timed build comes first, without tracemalloc's overhead; the memory is measured on a
    second build of the same rules."""
    texts = [orjson.dumps(r).decode() for r in rules]
    gc.collect()
    start = time.perf_counter()
    matcher = Matcher()
    for index, text in enumerate(texts):
        matcher.add(f"rule-{index}", text)
    seconds = time.perf_counter() - start
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    traced = Matcher()
    for index, text in enumerate(texts):
        traced.add(f"rule-{index}", text)
    per_rule = (tracemalloc.get_traced_memory()[0] - before) / len(rules)
    tracemalloc.stop()
    del traced
    return matcher, seconds, per_rule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter time budgets")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    budget = 0.6 if args.quick else 2.0
    rng = random.Random(args.seed)
    source = records()
    events = [envelope(r) for r in source]
    rng.shuffle(events)
    print(f"{len(events)} CloudTrail events, {sum(map(len, events)) // len(events)} bytes on average")
    parse = rate(orjson.loads, events, budget)
    rows = []
    for count in RULE_COUNTS:
        rules = [rule_for(rng.choice(source), rng) for _ in range(count)]
        matcher, add_seconds, per_rule = build(rules)
        ours = rate(matcher.matches, events, budget)
        matched = sum(len(matcher.matches(e)) for e in events) / len(events)
        row: dict[str, Any] = {
            "rules": count,
            "parse_eps": round(parse),
            "trailbridge_eps": round(ours),
            "pct_of_parse": round(100 * ours / parse, 1),
            "add_seconds": round(add_seconds, 3),
            "bytes_per_rule": round(per_rule),
            "matches_per_event": round(matched, 2),
        }
        for name, run in peers(rules).items():
            theirs = rate(run, events, budget)
            row[f"{name}_eps"] = round(theirs, 1)
            row[f"x_{name}"] = round(ours / theirs, 1)
        rows.append(row)
    print_table(rows)
    print(json.dumps({"bench": "patterns", "targets": TARGETS, "rows": rows}))


def print_table(rows: list[dict[str, Any]]) -> None:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    print(" | ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(row.get(c, "")).rjust(w) for c, w in zip(columns, widths, strict=True)))


if __name__ == "__main__":
    main()
