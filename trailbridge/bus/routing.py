"""The in-memory routing table: per bus, one compiled Matcher over its enabled rules, and each rule's
compiled targets. Rebuilt from the store at start (or when another process changed the configuration);
otherwise updated rule by rule as rules and targets change, never per event.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trailbridge.patterns import Matcher, compile_pattern
from trailbridge.transform import TargetInput, compile_target_input

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
_READ_ONLY_PREFIXES = ("List", "Get", "Describe")
_STS_EXCEPTIONS = frozenset({"GetFederationToken", "GetSessionToken"})
DEFAULT_MAX_ATTEMPTS = 185
DEFAULT_MAX_AGE = 86_400


@dataclass(frozen=True)
class Target:
    id: str
    arn: str
    spec: Mapping[str, Any]  # as PutTargets gave it
    input: TargetInput
    max_attempts: int
    max_age: int
    dead_letter_arn: str | None

    @classmethod
    def compile(cls, spec: Mapping[str, Any]) -> Target:
        retry = spec.get("RetryPolicy") or {}
        dead_letter = (spec.get("DeadLetterConfig") or {}).get("Arn")
        return cls(
            id=spec["Id"],
            arn=spec["Arn"],
            spec=spec,
            input=compile_target_input(spec),
            max_attempts=retry.get("MaximumRetryAttempts", DEFAULT_MAX_ATTEMPTS),
            max_age=retry.get("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE),
            dead_letter_arn=dead_letter,
        )


@dataclass
class Rule:
    arn: str
    name: str
    bus_arn: str
    state: str
    pattern: str | None
    schedule: str | None
    creator: str | None = None  # the account that created the rule (another than its own on a granted bus)
    targets: dict[str, Target] = field(default_factory=dict)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Rule:
        rule = cls(
            arn=doc["Arn"],
            name=doc["Name"],
            bus_arn=doc["EventBusArn"],
            state=doc["State"],
            pattern=doc.get("EventPattern"),
            schedule=doc.get("ScheduleExpression"),
            creator=doc.get("CreatedBy"),
        )
        rule.targets = {spec["Id"]: Target.compile(spec) for spec in doc.get("Targets", [])}
        return rule

    def delivers(self, event: Mapping[str, Any]) -> bool:
        """Under ENABLED, read-only CloudTrail calls (List*, Get*, Describe*) are not delivered."""
        if self.state != "ENABLED" or event.get("detail-type") != CLOUDTRAIL_DETAIL_TYPE:
            return True
        detail = event.get("detail")
        if not isinstance(detail, dict):
            return True
        name = detail.get("eventName")
        if not isinstance(name, str) or not name.startswith(_READ_ONLY_PREFIXES):
            return True
        return name in _STS_EXCEPTIONS and detail.get("eventSource") == "sts.amazonaws.com"


class BusRoutes:
    """One bus: its matcher (enabled rules with a pattern) and all its rules."""

    def __init__(self) -> None:
        self.matcher = Matcher()
        self.rules: dict[str, Rule] = {}

    def put(self, rule: Rule) -> None:
        self.rules[rule.arn] = rule
        self.matcher.remove(rule.arn)
        if rule.pattern is not None and rule.state != "DISABLED":
            self.matcher.add_compiled(rule.arn, compile_pattern(rule.pattern).branches)

    def delete(self, rule_arn: str) -> None:
        self.rules.pop(rule_arn, None)
        self.matcher.remove(rule_arn)

    def route(self, event: Mapping[str, Any]) -> list[Rule]:
        """The rules that deliver this event, in a stable order."""
        arns = sorted(str(arn) for arn in self.matcher.matches(event))
        return [rule for arn in arns if (rule := self.rules[arn]).targets and rule.delivers(event)]


class RoutingTable:
    """Thread-safe with a lock of its own, so that matching needs no other lock (PutEvents matches before
    it takes the store's lock to write, and a configuration change does not wait for a match)."""

    def __init__(self) -> None:
        self.buses: dict[str, BusRoutes] = {}
        self.rules: dict[str, Rule] = {}
        self._lock = threading.Lock()

    def load(self, rule_docs: Iterable[Mapping[str, Any]]) -> None:
        rules = [Rule.from_doc(doc) for doc in rule_docs]
        with self._lock:
            self.buses.clear()
            self.rules.clear()
            for rule in rules:
                self._put(rule)

    def put(self, rule: Rule) -> None:
        with self._lock:
            self._put(rule)

    def _put(self, rule: Rule) -> None:
        self.buses.setdefault(rule.bus_arn, BusRoutes()).put(rule)
        self.rules[rule.arn] = rule

    def delete(self, rule_arn: str) -> None:
        with self._lock:
            rule = self.rules.pop(rule_arn, None)
            if rule is not None:
                self.buses[rule.bus_arn].delete(rule_arn)

    def route(self, bus_arn: str, event: Mapping[str, Any]) -> list[Rule]:
        with self._lock:
            routes = self.buses.get(bus_arn)
            return routes.route(event) if routes is not None else []
