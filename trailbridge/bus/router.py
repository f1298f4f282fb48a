"""PutEvents and scheduled rules: turn events into durable deliveries.

An entry is accepted only once it is durable: the event and every delivery its matching rules trigger
are written in one transaction before `put_events` returns. The dispatcher is then woken to deliver.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import orjson

from trailbridge.bus.envelope import EntryError, build_event, check_request_size, scheduled_event
from trailbridge.bus.routing import RoutingTable, Rule
from trailbridge.bus.schedule import parse_schedule
from trailbridge.clock import Clock
from trailbridge.domain.access import Access, authorize
from trailbridge.domain.arns import bus_arn, bus_name_of, parse_arn
from trailbridge.domain.ids import NewId
from trailbridge.errors import AccessDeniedError, InvalidInputError, NotFoundError
from trailbridge.metrics import Metrics
from trailbridge.settings import Settings
from trailbridge.storage.ports import Deliveries, NewDelivery, NewEvent, Resources, Schedules, Scope, Store

_BUS_CACHE = 10_000  # bus documents kept per configuration version
Lineage = dict[str, int]  # rule ARN -> how many times this event chain has passed through it
# The chain of the event a function target is handling: events it puts continue that chain.
CURRENT_LINEAGE: ContextVar[Lineage | None] = ContextVar("trailbridge_lineage", default=None)


def bus_scope(account: str, region: str) -> Scope:
    return Scope("bus", account, region)


def default_bus_doc(account: str, region: str, now: float) -> dict[str, Any]:
    return {
        "Name": "default",
        "Arn": bus_arn(account, region, "default"),
        "CreationTime": now,
        "LastModifiedTime": now,
    }


class Router:
    def __init__(
        self,
        store: Store,
        resources: Resources,
        deliveries: Deliveries,
        schedules: Schedules,
        clock: Clock,
        metrics: Metrics,
        settings: Settings,
        new_id: NewId,
    ) -> None:
        self.store, self.resources, self.deliveries, self.schedules = store, resources, deliveries, schedules
        self.clock, self.metrics, self.settings, self.new_id = clock, metrics, settings, new_id
        self.table = RoutingTable()
        self._version = -1
        self._buses: dict[tuple[str, str, str], dict[str, Any]] = {}  # (account, region, name) -> document
        self._listeners: list[Callable[[], None]] = []

    def on_accept(self, listener: Callable[[], None]) -> None:
        """Call `listener` after new deliveries are committed (the dispatcher's wake-up)."""
        self._listeners.append(listener)

    # -- configuration ------------------------------------------------------------------------

    @contextmanager
    def changing(self) -> Iterator[None]:
        """A configuration change: one transaction, after which the table is in step with the store.

        The store's lock is the only lock: the table changes only while it is held, so whoever holds it
        (a PutEvents group commit, the scheduler) sees a consistent table."""
        with self.store.transaction():
            self.refresh(lock=True)  # no other node changes the configuration until this one is written
            yield
            self._version = self.resources.version()
            self._buses.clear()

    def refresh(self, *, lock: bool = False) -> None:
        """Reload the table if some other process changed the configuration."""
        with self.store.locked():
            version = self.resources.version(lock=lock)
            if version != self._version:
                self.table.load(self.resources.all_of_kind("rule"))
                self._buses.clear()
                self._version = version

    def _bus(self, account: str, region: str, name: str) -> dict[str, Any] | None:
        """A bus's document, as of the table's configuration version (read once per version)."""
        key = (account, region, name)
        doc = self._buses.get(key)
        if doc is None:
            with self.store.locked():  # so a change that clears the cache cannot be undone by a stale read
                doc = self.resources.by_name(bus_scope(account, region), name)
                if doc is not None:  # names that do not exist are not kept: anyone may ask for any name
                    if len(self._buses) >= _BUS_CACHE:
                        self._buses.clear()
                    self._buses[key] = doc
        return doc

    def current_rules(self) -> Mapping[str, Rule]:
        """The rules by ARN, reloaded first if another process changed the configuration."""
        self.refresh()
        return self.table.rules

    def ensure_default_bus(self, account: str, region: str) -> None:
        if self._bus(account, region, "default") is None:
            with self.changing():
                doc = default_bus_doc(account, region, self.clock.now())
                self.resources.put(bus_scope(account, region), "default", doc["Arn"], doc)

    def rule_saved(self, doc: Mapping[str, Any]) -> None:
        """Call inside `changing()` after a rule document is written."""
        rule = Rule.from_doc(doc)
        self.table.put(rule)
        now = self.clock.now()
        later = None if rule.schedule is None else parse_schedule(rule.schedule, float(doc.get("CreatedAt", now)))
        self._schedule(rule.arn, later.next_after(now) if later is not None else None)

    def rule_deleted(self, rule_arn: str) -> None:
        self.table.delete(rule_arn)
        self.schedules.delete(rule_arn)

    # -- events -------------------------------------------------------------------------------

    def put_events(
        self,
        account: str,
        region: str,
        entries: list[Mapping[str, Any]],
        *,
        lineage: Lineage | None = None,
        trusted: bool = False,
    ) -> dict[str, Any]:
        """PutEvents: AWS's answer, each entry with an EventId or an ErrorCode/ErrorMessage."""
        check_request_size(entries)
        self.refresh()
        self.ensure_default_bus(account, region)
        now = self.clock.now()
        chain = lineage if lineage is not None else CURRENT_LINEAGE.get() or {}
        # Matching runs here, under no lock but the routing table's; the group commit only writes.
        accepted = [self._accept(entry, account, region, now, chain, trusted) for entry in entries]

        stored = [self._stored(*routed, now, chain) for _, routed in accepted if routed is not None]

        def write_all() -> list[dict[str, Any]]:
            self.deliveries.add(stored)
            return [result for result, _ in accepted]

        results = self.store.combined(write_all)  # durable when it returns
        self.wake()
        failed = sum(1 for result in results if "ErrorCode" in result)
        return {"FailedEntryCount": failed, "Entries": results}

    def _accept(
        self, entry: Mapping[str, Any], account: str, region: str, now: float, lineage: Lineage, trusted: bool
    ) -> tuple[dict[str, Any], tuple[dict[str, Any], list[Rule]] | None]:
        """AWS's answer for one entry, and the event with the rules it is delivered to (None if refused, or
        dropped: as AWS, an entry for a bus that does not exist gets an EventId and its event goes nowhere; it
        is counted in DroppedEvents under the bus's ARN)."""
        try:
            target_bus, missing = self._bus_for(entry, account, region, trusted)
            event_id = self.new_id()
            event = build_event(entry, event_id, account, region, now, trusted=trusted)
        except EntryError as exc:
            return {"ErrorCode": exc.code, "ErrorMessage": exc.message}, None
        if missing:
            self.metrics.add("DroppedEvents", target_bus)
            return {"EventId": event_id}, None
        return {"EventId": event_id}, (event, self.route(target_bus, event, lineage))

    def _bus_for(self, entry: Mapping[str, Any], account: str, region: str, trusted: bool) -> tuple[str, bool]:
        """The ARN of the bus an entry names, and whether that bus is missing. trailbridge's own entries (a bus
        target, a function's destination) fail on a missing bus: that delivery is dead-lettered."""
        try:
            owner, bus_region, name = bus_name_of(entry.get("EventBusName") or "default")
        except InvalidInputError as exc:
            raise EntryError("InvalidArgument", exc.message) from None
        owner, bus_region = owner or account, bus_region or region
        if bus_region != region:
            raise EntryError("InvalidArgument", f"Event bus {name} is not in region {region}.")
        doc = self._bus(owner, bus_region, name)
        if doc is None and trusted:
            raise EntryError("ResourceNotFoundException", f"Event bus {name} does not exist.")
        if doc is None:
            return bus_arn(owner, bus_region, name), True
        if not trusted:
            try:
                authorize(Access(account, "events:PutEvents", doc["Arn"]), doc.get("Policy"))
            except AccessDeniedError as exc:
                raise EntryError("AccessDeniedException", exc.message) from None
        return str(doc["Arn"]), False

    def record(
        self,
        bus: str,
        event: dict[str, Any],
        ingested: float,
        lineage: Lineage,
        matched: Counter[str] | None = None,
    ) -> int:
        """Route one event and write it with its deliveries (call inside a transaction); how many deliveries
        that made. `matched`, when given, counts the ARN of each rule that delivers the event."""
        rules = self.route(bus, event, lineage)
        if matched is not None:
            matched.update(rule.arn for rule in rules)
        return self.write_routed(event, rules, ingested, lineage)

    def route(self, bus: str, event: Mapping[str, Any], lineage: Lineage) -> list[Rule]:
        """The rules that deliver the event, less those its chain has passed through too often."""
        rules = []
        for rule in self.table.route(bus, event):
            if lineage.get(rule.arn, 0) >= self.settings.max_rule_hops:
                self.metrics.add("LoopsStopped", rule.arn)
                continue
            self.metrics.add("MatchedEvents", rule.arn)
            self.metrics.add("TriggeredRules", rule.arn)
            rules.append(rule)
        return rules

    def write_routed(self, event: dict[str, Any], rules: list[Rule], ingested: float, lineage: Lineage) -> int:
        """Write an event with a delivery to each target of the rules it was routed to (call inside a
        transaction); how many deliveries that made."""
        stored = self._stored(event, rules, ingested, lineage)
        self.deliveries.add([stored])
        return len(stored.deliveries)

    def redrive(self, rule_arn: str, target_arn: str, event: Mapping[str, Any]) -> str:
        """Deliver a dead-lettered event again to the rule's targets of `target_arn` only (the rule's other
        targets and the bus's other rules had it), as the rule delivers, under a new id (the original may still
        be in the delivery queue); the new id. NotFoundError when the rule or such a target is gone. The caller
        decides who may (the console: a key that may describe the rule and delete the dead-letter message)."""
        self.refresh()
        rule = self.table.rules.get(rule_arn)
        if rule is None:
            raise NotFoundError(f"Rule {rule_arn} does not exist.")
        targets = [target for target in rule.targets.values() if target.arn == target_arn]
        if not targets:
            raise NotFoundError(f"Rule {rule.name} has no target {target_arn}.")
        now = self.clock.now()
        again = {**event, "id": self.new_id()}
        new = [NewDelivery(rule.arn, target.id, target.arn, now) for target in targets]
        with self.store.transaction():
            self.deliveries.add([NewEvent(again["id"], orjson.dumps(again), now, "{}", new)])
        self.wake()
        return str(again["id"])

    def enqueue(self, event: NewEvent) -> None:
        """Write an event whose deliveries were chosen elsewhere (an SNS message, one delivery per
        subscription) inside the caller's transaction; `wake` once it is committed."""
        self.deliveries.add([event])

    def _stored(self, event: dict[str, Any], rules: list[Rule], ingested: float, lineage: Lineage) -> NewEvent:
        """An event as the delivery queue stores it, with a delivery to each target of the rules it was routed to."""
        new = [NewDelivery(rule.arn, t.id, t.arn, ingested) for rule in rules for t in rule.targets.values()]
        body = orjson.dumps(event) if new else b""  # an event without a delivery is not stored
        return NewEvent(event["id"], body, ingested, orjson.dumps(lineage).decode() if new else "", new)

    def fire_schedules(self) -> float | None:
        """Fire every scheduled rule that is due (a missed tick fires once); the next due time, if any."""
        now = self.clock.now()
        fired = False
        with self.store.transaction():
            self.refresh()
            for due in self.schedules.claim_due(now):
                fired |= self._fire(due.rule_arn, due.due, now)
                self._reschedule(due.rule_arn, now)
        if fired:
            self.wake()
        return self.schedules.next_fire()

    def _fire(self, rule_arn: str, fire_time: float, now: float) -> bool:
        rule = self.table.rules.get(rule_arn)
        if rule is None or rule.state == "DISABLED" or not rule.targets:
            return False
        arn = parse_arn(rule_arn)
        event = scheduled_event(self.new_id(), arn.account, arn.region, rule_arn, fire_time)
        self.metrics.add("TriggeredRules", rule_arn)
        return self.write_routed(event, [rule], now, {}) > 0

    def _reschedule(self, rule_arn: str, now: float) -> None:
        rule = self.table.rules.get(rule_arn)
        doc = self.resources.get(rule_arn)
        if rule is None or rule.schedule is None or doc is None:
            self._schedule(rule_arn, None)
        else:
            self._schedule(rule_arn, parse_schedule(rule.schedule, float(doc.get("CreatedAt", now))).next_after(now))

    def _schedule(self, rule_arn: str, next_fire: float | None) -> None:
        """Fire the rule next at `next_fire`, or never again (None: no schedule, or a one-time one done)."""
        if next_fire is None:
            self.schedules.delete(rule_arn)
        else:
            self.schedules.set(rule_arn, next_fire)

    def wake(self) -> None:
        """Tell the listeners (the dispatcher) that new deliveries are committed."""
        for listener in self._listeners:
            listener()
