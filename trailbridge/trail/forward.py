"""CloudTrail -> EventBridge and log files: while a trail logs in a region, each record its selectors admit
waits for the trail's next log file, and goes to the default bus of the record's region in AWS's envelope
(`detail-type` from `eventType`, `source` `aws.<service>`, `detail` the record)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from trailbridge.bus.router import Router
from trailbridge.clock import Clock
from trailbridge.domain.arns import bus_arn
from trailbridge.domain.ids import NewId
from trailbridge.storage.ports import Forwarding, NewPending, Resources, Store, Trails
from trailbridge.trail.selectors import admits, may_select_data

DETAIL_TYPES = {
    "AwsApiCall": "AWS API Call via CloudTrail",
    "AwsConsoleSignIn": "AWS Console Sign In via CloudTrail",
    "AwsServiceEvent": "AWS Service Event via CloudTrail",
    "AwsConsoleAction": "AWS Console Action via CloudTrail",
    "AwsCloudTrailInsight": "AWS Insight via CloudTrail",
}
# Event sources whose EventBridge `source` is not aws.<first label of eventSource>.
_SOURCES = {"monitoring.amazonaws.com": "aws.cloudwatch", "signin.amazonaws.com": "aws.signin"}


def event_source(record: Mapping[str, Any]) -> str:
    """`aws.<service>` for an AWS service; a source outside AWS (`orders.example.com`, from the capture
    middleware or PutAuditEvents) is the event's `source` as it is, since `aws.` is AWS's own prefix."""
    source = str(record["eventSource"])
    if not source.endswith(".amazonaws.com"):
        return source
    return _SOURCES.get(source) or "aws." + source.split(".", 1)[0]


def cloudtrail_event(record: Mapping[str, Any], event_id: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id,
        "detail-type": DETAIL_TYPES.get(str(record.get("eventType")), "AWS API Call via CloudTrail"),
        "source": event_source(record),
        "account": record["recipientAccountId"],
        "time": record["eventTime"],
        "region": record["awsRegion"],
        "resources": [],
        "detail": dict(record),
    }


def _logs_in(trail: Mapping[str, Any], account: str, region: str) -> bool:
    return str(trail["TrailARN"]).split(":")[4] == account and (
        trail["HomeRegion"] == region or bool(trail.get("IsMultiRegionTrail"))
    )


class Forwarder:
    def __init__(
        self,
        store: Store,
        trails: Trails,
        forwarding: Forwarding,
        resources: Resources,
        router: Router,
        clock: Clock,
        new_id: NewId,
    ) -> None:
        self.new_id = new_id
        self.store, self.trails, self.forwarding = store, trails, forwarding
        self.resources, self.router, self.clock = resources, router, clock
        self._cache: tuple[int, list[dict[str, Any]]] = (-1, [])  # (config version, logging trails)

    def logging_trails(self) -> list[dict[str, Any]]:
        """The trails now logging (re-read only when the configuration changed)."""
        version = self.resources.version()
        if version != self._cache[0]:
            trails = [doc for doc in self.resources.all_of_kind("trail") if doc.get("IsLogging")]
            self._cache = (version, trails)
        return self._cache[1]

    def logs_data_events(self, account: str, region: str) -> bool:
        """Whether a trail logging in this account and region may select data events."""
        return any(_logs_in(t, account, region) and may_select_data(t) for t in self.logging_trails())

    def forward(self, records: list[dict[str, Any]]) -> int:
        """Live records (call inside the transaction that keeps them): each one a logging trail admits waits
        for that trail's next log file and for `deliver_pending` to put it on its region's default bus; how
        many wait for that."""
        trails = self.logging_trails()
        if not trails:
            return 0
        admitted = [orjson.dumps(record) for record in records if self.to_trails(record, trails)]
        self.forwarding.add(admitted)
        return len(admitted)

    def deliver_pending(self, limit: int) -> tuple[int, int]:
        """Put up to `limit` of the records `forward` left on their default buses: routed outside the store's
        lock, then written with their deliveries in one transaction that removes them (a record another
        process took first is skipped); how many records were taken, and how many deliveries they made."""
        waiting = self.forwarding.next(limit)
        if not waiting:
            return 0, 0
        self.router.refresh()
        routed = []
        for each in waiting:
            record = orjson.loads(each.record)
            event = cloudtrail_event(record, self.new_id())
            routed.append((each.seq, event, self.router.route(self.default_bus(record), event, {})))
        made, now = 0, self.clock.now()
        with self.store.transaction():
            for seq, event, rules in routed:
                if self.forwarding.take(seq):
                    made += self.router.write_routed(event, rules, now, {})
        return len(waiting), made

    def to_trails(self, record: Mapping[str, Any], trails: list[dict[str, Any]]) -> bool:
        """Queue the record for the next log file of each of the logging `trails` that admits it (inside a
        transaction); whether any did."""
        account, region = record["recipientAccountId"], record["awsRegion"]
        logging = [t for t in trails if _logs_in(t, account, region) and admits(t, record)]
        if logging:
            body, now = orjson.dumps(record), self.clock.now()
            self.trails.add([NewPending(t["TrailARN"], region, now, body) for t in logging])
        return bool(logging)

    def default_bus(self, record: Mapping[str, Any]) -> str:
        """The ARN of the default bus of the record's account and region, created if it is not there yet."""
        account, region = record["recipientAccountId"], record["awsRegion"]
        self.router.ensure_default_bus(account, region)
        return bus_arn(account, region, "default")
