"""Pattern-matching throughput: trailbridge vs moto vs LocalStack vs parsing alone, in one run.

Events are the real CloudTrail records of ../shared/corpora/cloudtrail wrapped in EventBridge's
"AWS API Call via CloudTrail" envelope, as bytes. Rules are generated security rules drawn from
those records (exact eventSource/eventName, prefix on userAgent, anything-but on userIdentity.type,
cidr on sourceIPAddress, wildcard on ARNs, numeric, exists:false on errorCode, $or).

Every engine sees the same bytes and pays for its own parsing. moto and LocalStack evaluate rules
one by one, so they are measured on a time budget (a sample of the events at high rule counts).

A second generator (`mix_rule`) draws rule sets where one operator dominates in turn: in each rule of
the mix that operator is the condition that tells the rule apart (eventName case-insensitively or by
a case-insensitive prefix/suffix, a wildcard on userIdentity.arn, a cidr on sourceIPAddress, a numeric
band, anything-but, exists, $or), beside the envelope every rule names and the conditions security
rules add everywhere (anything-but on userIdentity.type, errorCode absent). Half of every mix is for
calls that never happen (names, principals, addresses and sizes no recorded call has); the other
half is drawn from the recorded calls of an eventName chosen uniformly (`by_name`), as a rule set
covers the calls it watches, not in proportion to how often they happen. `realistic` mixes them as
one rule set might: one rule in nine of each kind. Only trailbridge runs these mixes;
`--large` adds the realistic set at 100,000 rules.

    pip install -e '.[bench]' && python bench/patterns.py [--quick] [--large] [--mixes-only]
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
MIX_TARGETS = (
    "every mix: >= 80% of parse-alone at 1,000 rules, >= 50% at 10,000, >= 5,000 rules added/s, "
    "<= 2 KB per rule at 10,000; realistic at 100,000: >= 20%"
)
MIX_COUNTS = (1_000, 10_000)


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


def _never(text: str, rng: random.Random) -> str:
    """A variant of a recorded value that no recorded call has."""
    return f"{text}{rng.choice(['Ex', 'V2', 'Legacy', 'Batch'])}{rng.randrange(1000)}"


def _mixed_case(text: str, rng: random.Random) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)


def _arn_wildcard(arn: str, rng: random.Random) -> str:
    escaped = arn.replace("\\", "\\\\").replace("*", "\\*")
    parts = escaped.split(":")
    shapes = [
        lambda: ":".join([*parts[:4], "*", *parts[5:]]),  # any account
        lambda: "*" + escaped[len(escaped) // 2 :],  # any ARN ending so
        lambda: escaped[: max(8, len(escaped) * 2 // 3)] + "*",  # any ARN starting so
        lambda: "*:" + parts[-1].split("/")[0] + "/*" + escaped[-4:],  # a kind of principal, a name's end
        lambda: "arn:aws:*:" + escaped.split("/", 1)[-1][:12] + "*",  # a path inside
    ]
    return rng.choice(shapes)()


def _ip_block(ip: str, rng: random.Random) -> str:
    parts = ip.split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        return f"2001:db8:{rng.randrange(65536):x}::/48"
    bits = rng.choice([16, 24, 28, 32]) if rng.random() < 0.7 else rng.randrange(8, 32)
    return f"{ip}/{min(bits, 31)}"


def _distinguishing(kind: str, record: dict[str, Any], never: bool, rng: random.Random) -> dict[str, Any]:
    """The condition that tells a rule of this kind apart, on the record (or on a call that never happens)."""
    name = str(record["eventName"])
    name = _never(name, rng) if never else name
    identity = record.get("userIdentity") or {}
    if kind == "equals-ignore-case":
        return {"eventName": [{"equals-ignore-case": _mixed_case(name, rng)}]}
    if kind == "prefix-ic":
        cut = name[: max(4, len(name) - rng.randrange(4))] if not never else name
        return {"eventName": [{"prefix": {"equals-ignore-case": _mixed_case(cut, rng)}}]}
    if kind == "suffix-ic":
        cut = name[-max(5, len(name) - rng.randrange(4)) :]
        return {"eventName": [{"suffix": {"equals-ignore-case": _mixed_case(cut, rng)}}]}
    if kind == "wildcard":
        arn = str(identity.get("arn") or "arn:aws:iam::123456789012:user/nobody")
        return {"userIdentity": {"arn": [{"wildcard": _arn_wildcard(_never(arn, rng) if never else arn, rng)}]}}
    if kind == "cidr":
        ip = str(record.get("sourceIPAddress", "10.0.0.1"))
        ip = f"198.18.{rng.randrange(256)}.{rng.randrange(256)}" if never else ip
        return {"sourceIPAddress": [{"cidr": _ip_block(ip, rng)}]}
    if kind == "numeric":
        field, value = rng.choice(_NUMBERS) if _NUMBERS else ("requestParameters.maxResults", 50)
        low = value * (1000 if never else rng.uniform(0.5, 1.0))
        top, inner = field.split(".", 1)
        return {top: {inner: [{"numeric": [">=", round(low, 2), "<", round(low * 2 + 1, 2)]}]}}
    if kind == "anything-but":
        service = str(record["eventSource"])
        return {
            "eventSource": [_never(service, rng) if never else service],
            "eventName": [{"anything-but": {"prefix": rng.sample(["Describe", "List", "Get", "Head"], 2)}}],
        }
    if kind == "exists":
        paths = [k for k in record.get("requestParameters") or {} if isinstance(k, str) and "." not in k]
        key = rng.choice(paths or _PARAMETERS or ["name"])
        found: dict[str, Any] = {"requestParameters": {key: [{"exists": True}]}}
        found["errorCode"] = [{"exists": rng.random() < 0.3}]
        if never:  # a parameter some call has, on a service that has no such call
            found["eventSource"] = [_never(str(record["eventSource"]), rng)]
        return found
    if kind == "exact":
        return {"eventName": [name]}
    first, second = rng.sample([k for k in MIXES if k not in ("$or", "realistic")], 2)
    return {"$or": [_distinguishing(first, record, never, rng), _distinguishing(second, record, never, rng)]}


MIXES = (
    "equals-ignore-case",
    "prefix-ic",
    "suffix-ic",
    "wildcard",
    "cidr",
    "numeric",
    "anything-but",
    "exists",
    "$or",
    "realistic",
)
_REALISTIC = (
    "equals-ignore-case",
    "wildcard",
    "cidr",
    "anything-but",
    "numeric",
    "exists",
    "$or",
    "exact",
    "prefix-ic",
)
_NUMBERS: list[tuple[str, float]] = []  # (path under detail, a recorded value), filled by main
_PARAMETERS: list[str] = []  # the names of recorded requestParameters, filled by main


def mix_rule(mix: str, record: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """One rule of a mix: the envelope, the mix's distinguishing condition, and common extras."""
    kind = rng.choice(_REALISTIC) if mix == "realistic" else mix
    detail = _distinguishing(kind, record, rng.random() < 0.5, rng)
    if rng.random() < 0.4:
        detail.setdefault("userIdentity", {})["type"] = [{"anything-but": ["AWSService", "AWSAccount"]}]
    if rng.random() < 0.3 and "errorCode" not in detail:
        detail["errorCode"] = [{"exists": False}]
    service = str(record["eventSource"]).split(".")[0]
    return {"source": [f"aws.{service}"], "detail-type": ["AWS API Call via CloudTrail"], "detail": detail}


def by_name(source: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The recorded calls grouped by eventName."""
    names: dict[str, list[dict[str, Any]]] = {}
    for record in source:
        names.setdefault(str(record["eventName"]), []).append(record)
    return list(names.values())


def recorded_numbers(source: list[dict[str, Any]]) -> list[tuple[str, float]]:
    found = []
    for record in source:
        for top in ("requestParameters", "additionalEventData"):
            for key, value in (record.get(top) or {}).items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and "." not in key:
                    found.append((f"{top}.{key}", float(value)))
    return found


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
    parser.add_argument("--large", action="store_true", help="also the realistic mix at 100,000 rules")
    parser.add_argument("--mixes-only", action="store_true", help="only the operator mixes")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    budget = 0.6 if args.quick else 2.0
    rng = random.Random(args.seed)
    source = records()
    events = [envelope(r) for r in source]
    rng.shuffle(events)
    print(f"{len(events)} CloudTrail events, {sum(map(len, events)) // len(events)} bytes on average")
    parse = rate(orjson.loads, events, budget)
    if not args.mixes_only:
        rows = [peer_row(count, source, events, parse, budget, rng) for count in RULE_COUNTS]
        print_table(rows)
        print(json.dumps({"bench": "patterns", "targets": TARGETS, "rows": rows}))
    _NUMBERS.extend(recorded_numbers(source))
    _PARAMETERS.extend(sorted({k for r in source for k in r.get("requestParameters") or {} if "." not in k}))
    counts = [(mix, count) for mix in MIXES for count in MIX_COUNTS]
    if args.large:
        counts.append(("realistic", 100_000))
    mix_rows = []
    names = by_name(source)
    for mix, count in counts:
        rules = [mix_rule(mix, rng.choice(rng.choice(names)), rng) for _ in range(count)]
        mix_rows.append({"mix": mix, **measure(rules, events, parse, budget)})
        print_table(mix_rows[-1:])
    print_table(mix_rows)
    print(json.dumps({"bench": "patterns-mixes", "targets": MIX_TARGETS, "rows": mix_rows}))


def measure(rules: list[dict[str, Any]], events: list[bytes], parse: float, budget: float) -> dict[str, Any]:
    matcher, add_seconds, per_rule = build(rules)
    ours = rate(matcher.matches, events, budget)
    matched = sum(len(matcher.matches(e)) for e in events) / len(events)
    return {
        "rules": len(rules),
        "parse_eps": round(parse),
        "trailbridge_eps": round(ours),
        "pct_of_parse": round(100 * ours / parse, 1),
        "rules_added_per_s": round(len(rules) / add_seconds),
        "bytes_per_rule": round(per_rule),
        "matches_per_event": round(matched, 2),
    }


def peer_row(
    count: int, source: list[dict[str, Any]], events: list[bytes], parse: float, budget: float, rng: random.Random
) -> dict[str, Any]:
    rules = [rule_for(rng.choice(source), rng) for _ in range(count)]
    row = measure(rules, events, parse, budget)
    for name, run in peers(rules).items():
        theirs = rate(run, events, budget)
        row[f"{name}_eps"] = round(theirs, 1)
        row[f"x_{name}"] = round(row["trailbridge_eps"] / theirs, 1)
    return row


def print_table(rows: list[dict[str, Any]]) -> None:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    print(" | ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(row.get(c, "")).rjust(w) for c, w in zip(columns, widths, strict=True)))


if __name__ == "__main__":
    main()
