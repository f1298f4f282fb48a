"""Amazon EventBridge's operations for one account and region: buses, rules, targets, PutEvents,
TestEventPattern, tags. Connections and API destinations are in `services.destinations`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trailbridge.bus.envelope import valid_test_event
from trailbridge.bus.router import bus_scope
from trailbridge.bus.schedule import parse_schedule
from trailbridge.delivery.queues import is_fifo
from trailbridge.delivery.targets import NEEDS_ROLE, SUPPORTED, check_target, target_kind
from trailbridge.domain.access import Access, authorize
from trailbridge.domain.arns import bus_arn, bus_name_of, parse_arn, rule_arn
from trailbridge.errors import (
    AccessDeniedError,
    AlreadyExistsError,
    InvalidInputError,
    LimitExceededError,
    ManagedRuleError,
    NotFoundError,
)
from trailbridge.patterns import compile_pattern
from trailbridge.services.base import LIMIT_EXCEEDED, Engine, operation, page, with_times
from trailbridge.storage.ports import Scope
from trailbridge.transform import compile_target_input

MAX_TARGETS_PER_RULE = 5
_BUS_TIMES = ("CreationTime", "LastModifiedTime")


def find_bus(engine: Engine, account: str, region: str, name_or_arn: str | None) -> dict[str, Any]:
    """The bus a request names (default when none); ResourceNotFound when it does not exist, and
    AccessDenied for another account's bus that does not (so its existence is not told). Whether the caller
    may act on a bus it finds is `authorize_on_bus`'s to decide."""
    engine.router.ensure_default_bus(account, region)
    owner, bus_region, name = bus_name_of(name_or_arn or "default")
    doc = engine.resources.by_name(bus_scope(owner or account, bus_region or region), name)
    if doc is None and owner not in (None, account):
        raise AccessDeniedError(f"User: arn:aws:iam::{account}:root is not authorized to access {name_or_arn}")
    if doc is None:
        raise NotFoundError(f"Event bus {name} does not exist.")
    return doc


def scope_of_bus(doc: Mapping[str, Any]) -> Scope:
    """Where a bus is stored: its owner's account and its region (from its ARN)."""
    arn = parse_arn(doc["Arn"])
    return bus_scope(arn.account, arn.region)


def authorize_on_bus(account: str, action: str, arn: str, bus: Mapping[str, Any], creator: str | None = None) -> None:
    """Whether `account` may do `action` on `arn` (the bus, or a rule on it): the bus's owner may, another
    account where the bus policy allows it; `events:creatorAccount` is the account that created the rule
    (the caller, for a rule not made yet)."""
    context = {"events:creatorAccount": creator or account}
    authorize(Access(account, action, arn, context=context), bus.get("Policy"))


def _unmanaged(rule: Mapping[str, Any], force: bool | None) -> None:
    """Rules a service created on the user's behalf (ManagedBy) change only with Force, as AWS has it."""
    if rule.get("ManagedBy") and not force:
        raise ManagedRuleError(f"Rule {rule['Name']} is managed by {rule['ManagedBy']}; use Force to change it.")


class EventsService:
    def __init__(self, engine: Engine, account: str, region: str) -> None:
        self.engine, self.account, self.region = engine, account, region
        self.resources, self.router = engine.resources, engine.router

    # -- buses --------------------------------------------------------------------------------

    def _bus(self, name_or_arn: str | None, action: str | None = None) -> dict[str, Any]:
        """The bus named; with `action`, only when the caller may do it on the bus."""
        doc = find_bus(self.engine, self.account, self.region, name_or_arn)
        if action is not None:
            authorize_on_bus(self.account, action, doc["Arn"], doc)
        return doc

    @operation("events", "CreateEventBus")
    def create_event_bus(self, **params: Any) -> dict[str, Any]:
        name = params["Name"]
        self.router.ensure_default_bus(self.account, self.region)
        if "/" in name and not params.get("EventSourceName"):
            raise InvalidInputError("Event bus name must not contain '/'.")
        scope = bus_scope(self.account, self.region)
        with self.router.changing():
            if self.resources.by_name(scope, name) is not None:
                raise AlreadyExistsError(f"Event bus {name} already exists.")
            if self.resources.count(scope) >= self.engine.settings.max_event_buses:
                raise LimitExceededError(LIMIT_EXCEEDED)
            now = self.engine.clock.now()
            doc = {"Name": name, "Arn": bus_arn(self.account, self.region, name), "CreationTime": now}
            doc["LastModifiedTime"] = now
            for key in ("Description", "KmsKeyIdentifier", "DeadLetterConfig"):
                if params.get(key) is not None:
                    doc[key] = params[key]
            doc["Tags"] = list(params.get("Tags") or [])
            self.resources.put(scope, name, doc["Arn"], doc)
        answer = {"EventBusArn": doc["Arn"]}
        return answer | ({"Description": doc["Description"]} if "Description" in doc else {})

    @operation("events", "DescribeEventBus")
    def describe_event_bus(self, **params: Any) -> dict[str, Any]:
        doc = self._bus(params.get("Name"), "events:DescribeEventBus")
        return with_times({k: v for k, v in doc.items() if k != "Tags"}, *_BUS_TIMES)

    @operation("events", "ListEventBuses")
    def list_event_buses(self, **params: Any) -> dict[str, Any]:
        self.router.ensure_default_bus(self.account, self.region)
        docs = self.resources.scan(bus_scope(self.account, self.region), params.get("NamePrefix") or "")
        buses = [with_times({k: v for k, v in d.items() if k != "Tags"}, *_BUS_TIMES) for d in docs]
        chosen, token = page(buses, "Name", params.get("NextToken"), params.get("Limit"))
        return {"EventBuses": chosen} | ({"NextToken": token} if token else {})

    @operation("events", "UpdateEventBus")
    def update_event_bus(self, **params: Any) -> dict[str, Any]:
        with self.router.changing():
            doc = self._bus(params.get("Name"), "events:UpdateEventBus")
            for key in ("Description", "KmsKeyIdentifier", "DeadLetterConfig"):
                if params.get(key) is not None:
                    doc[key] = params[key]
            doc["LastModifiedTime"] = self.engine.clock.now()
            self.resources.put(scope_of_bus(doc), doc["Name"], doc["Arn"], doc)
        return {k: doc[k] for k in ("Arn", "Name", "Description", "KmsKeyIdentifier", "DeadLetterConfig") if k in doc}

    @operation("events", "DeleteEventBus")
    def delete_event_bus(self, **params: Any) -> dict[str, Any]:
        name = params["Name"]
        if name == "default":
            raise InvalidInputError("Cannot delete event bus default.")
        scope = bus_scope(self.account, self.region)
        with self.router.changing():
            doc = self.resources.by_name(scope, name)
            if doc is None:
                return {}  # as AWS: deleting a bus that does not exist succeeds
            if self.resources.count(self._rule_scope(doc)) > 0:
                raise InvalidInputError(f"Cannot delete event bus {name}: delete its rules first.")
            self.resources.delete(doc["Arn"])
        return {}

    # -- rules --------------------------------------------------------------------------------

    def _rule_scope(self, bus: Mapping[str, Any]) -> Scope:
        """A bus's rules are its owner's, whichever account created them."""
        where = scope_of_bus(bus)
        return Scope("rule", where.account, where.region, bus["Name"])

    def _rule_arn(self, bus: Mapping[str, Any], name: str) -> str:
        where = scope_of_bus(bus)
        return rule_arn(where.account, where.region, bus["Name"], name)

    def _find_rule(self, name: str, bus: Mapping[str, Any], action: str) -> dict[str, Any] | None:
        """The rule, if any, once the caller may do `action` on it."""
        doc = self.resources.by_name(self._rule_scope(bus), name)
        creator = doc.get("CreatedBy") if doc is not None else None
        authorize_on_bus(self.account, action, self._rule_arn(bus, name), bus, creator)
        return doc

    def _rule(self, name: str, bus_name: str | None, action: str) -> tuple[dict[str, Any], dict[str, Any]]:
        bus = self._bus(bus_name)
        doc = self._find_rule(name, bus, action)
        if doc is None:
            raise NotFoundError(f"Rule {name} does not exist on EventBus {bus['Name']}.")
        return bus, doc

    def _save_rule(self, bus: Mapping[str, Any], doc: dict[str, Any]) -> None:
        self.resources.put(self._rule_scope(bus), doc["Name"], doc["Arn"], doc)
        self.router.rule_saved(doc)

    @operation("events", "PutRule")
    def put_rule(self, **params: Any) -> dict[str, Any]:
        name, pattern, schedule = params["Name"], params.get("EventPattern"), params.get("ScheduleExpression")
        if pattern is None and schedule is None:
            raise InvalidInputError("Parameter(s) ScheduleExpression or EventPattern must be specified.")
        if pattern is not None:
            compile_pattern(pattern)
        with self.router.changing():
            bus = self._bus(params.get("EventBusName"))
            if schedule is not None:
                if bus["Name"] != "default":
                    raise InvalidInputError("ScheduleExpression is supported only on the default event bus.")
                parse_schedule(schedule, self.engine.clock.now())
            scope = self._rule_scope(bus)
            old = self._find_rule(name, bus, "events:PutRule")
            if old is not None:
                _unmanaged(old, False)
            if old is None and self.resources.count(scope) >= self.engine.settings.max_rules_per_bus:
                raise LimitExceededError(LIMIT_EXCEEDED)
            doc = self._rule_doc(params, bus, old)
            self._save_rule(bus, doc)
        return {"RuleArn": doc["Arn"]}

    def _rule_doc(
        self, params: Mapping[str, Any], bus: Mapping[str, Any], old: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        name = params["Name"]
        doc: dict[str, Any] = {
            "Name": name,
            "Arn": self._rule_arn(bus, name),
            "State": params.get("State") or "ENABLED",
            "EventBusName": bus["Name"],
            "EventBusArn": bus["Arn"],
            "CreatedBy": old["CreatedBy"] if old else self.account,
            "CreatedAt": old["CreatedAt"] if old else self.engine.clock.now(),
            "Targets": old["Targets"] if old else [],
            "Tags": old["Tags"] if old else list(params.get("Tags") or []),
        }
        for key in ("EventPattern", "ScheduleExpression", "Description", "RoleArn"):
            if params.get(key) is not None:
                doc[key] = params[key]
        return doc

    @operation("events", "DescribeRule")
    def describe_rule(self, **params: Any) -> dict[str, Any]:
        _, doc = self._rule(params["Name"], params.get("EventBusName"), "events:DescribeRule")
        return _rule_view(doc)

    @operation("events", "ListRules")
    def list_rules(self, **params: Any) -> dict[str, Any]:
        bus = self._bus(params.get("EventBusName"), "events:ListRules")
        docs = self.resources.scan(self._rule_scope(bus), params.get("NamePrefix") or "")
        chosen, token = page([_rule_view(d) for d in docs], "Name", params.get("NextToken"), params.get("Limit"))
        return {"Rules": chosen} | ({"NextToken": token} if token else {})

    def _set_state(self, params: Mapping[str, Any], state: str) -> dict[str, Any]:
        action = "events:EnableRule" if state == "ENABLED" else "events:DisableRule"
        with self.router.changing():
            bus, doc = self._rule(params["Name"], params.get("EventBusName"), action)
            _unmanaged(doc, False)
            doc["State"] = state
            self._save_rule(bus, doc)
        return {}

    @operation("events", "EnableRule")
    def enable_rule(self, **params: Any) -> dict[str, Any]:
        return self._set_state(params, "ENABLED")

    @operation("events", "DisableRule")
    def disable_rule(self, **params: Any) -> dict[str, Any]:
        return self._set_state(params, "DISABLED")

    @operation("events", "DeleteRule")
    def delete_rule(self, **params: Any) -> dict[str, Any]:
        with self.router.changing():
            bus = self._bus(params.get("EventBusName"))
            doc = self._find_rule(params["Name"], bus, "events:DeleteRule")
            if doc is None:
                return {}  # as AWS: deleting a rule that does not exist succeeds
            _unmanaged(doc, params.get("Force"))
            if doc["Targets"]:
                raise InvalidInputError("Rule can't be deleted since it has targets.")
            self.resources.delete(doc["Arn"])
            self.router.rule_deleted(doc["Arn"])
        return {}

    @operation("events", "ListRuleNamesByTarget")
    def list_rule_names_by_target(self, **params: Any) -> dict[str, Any]:
        bus = self._bus(params.get("EventBusName"), "events:ListRuleNamesByTarget")
        arn = params["TargetArn"]
        names = [
            {"Name": d["Name"]}
            for d in self.resources.scan(self._rule_scope(bus))
            if any(t["Arn"] == arn for t in d["Targets"])
        ]
        chosen, token = page(names, "Name", params.get("NextToken"), params.get("Limit"))
        return {"RuleNames": [n["Name"] for n in chosen]} | ({"NextToken": token} if token else {})

    # -- targets ------------------------------------------------------------------------------

    @operation("events", "PutTargets")
    def put_targets(self, **params: Any) -> dict[str, Any]:
        targets = params["Targets"]
        for target in targets:
            self._check_target(target)
        ids = [t["Id"] for t in targets]
        if len(set(ids)) != len(ids):
            raise InvalidInputError("The same target Id is given more than once.")
        with self.router.changing():
            bus, doc = self._rule(params["Rule"], params.get("EventBusName"), "events:PutTargets")
            _unmanaged(doc, params.get("Force"))
            for target in targets:
                self._may_deliver(doc, target)
            merged = {t["Id"]: t for t in doc["Targets"]} | {t["Id"]: dict(t) for t in targets}
            if len(merged) > MAX_TARGETS_PER_RULE:
                raise LimitExceededError(LIMIT_EXCEEDED)
            doc["Targets"] = list(merged.values())
            self._save_rule(bus, doc)
        return {"FailedEntryCount": 0, "FailedEntries": []}

    def _check_target(self, target: Mapping[str, Any]) -> None:
        kind = target_kind(target["Arn"])
        if kind is None:
            raise InvalidInputError(
                f"Target {target['Id']}: trailbridge cannot deliver to {target['Arn']}; it delivers to {SUPPORTED}."
            )
        compile_target_input(target)
        if kind in NEEDS_ROLE and not target.get("RoleArn"):
            raise InvalidInputError(f"RoleArn is required for target {target['Arn']}.")
        if kind == "bus" and any(target.get(k) for k in ("Input", "InputPath", "InputTransformer")):
            raise InvalidInputError(
                f"Target {target['Id']}: an event bus target receives the event itself; Input, InputPath and "
                "InputTransformer are not allowed."
            )
        if kind == "queue" and is_fifo(target["Arn"]) and not (target.get("SqsParameters") or {}).get("MessageGroupId"):
            raise InvalidInputError(f"Parameter(s) SqsParameters must be specified for target: {target['Id']}.")
        dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
        if dead_letter is not None and target_kind(dead_letter) != "queue":
            raise InvalidInputError(f"Target {target['Id']}: DeadLetterConfig Arn {dead_letter} is not a queue ARN.")
        if dead_letter is not None and is_fifo(dead_letter):
            raise InvalidInputError("SQS FIFO is not supported by Dead Letter Queues.")

    def _may_deliver(self, rule: Mapping[str, Any], target: Mapping[str, Any]) -> None:
        """The rule may deliver to the target and its dead-letter queue (checked again at each delivery)."""
        creator = rule.get("CreatedBy")
        check_target(self.resources, rule["Arn"], creator, target["Arn"])
        dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
        if dead_letter is not None:
            check_target(self.resources, rule["Arn"], creator, dead_letter)

    @operation("events", "RemoveTargets")
    def remove_targets(self, **params: Any) -> dict[str, Any]:
        with self.router.changing():
            bus, doc = self._rule(params["Rule"], params.get("EventBusName"), "events:RemoveTargets")
            _unmanaged(doc, params.get("Force"))
            present = {t["Id"] for t in doc["Targets"]}
            failed = [
                {
                    "TargetId": target_id,
                    "ErrorCode": "ResourceNotFoundException",
                    "ErrorMessage": f"Target {target_id} does not exist on rule {doc['Name']}.",
                }
                for target_id in params["Ids"]
                if target_id not in present
            ]
            doc["Targets"] = [t for t in doc["Targets"] if t["Id"] not in set(params["Ids"])]
            self._save_rule(bus, doc)
        return {"FailedEntryCount": len(failed), "FailedEntries": failed}

    @operation("events", "ListTargetsByRule")
    def list_targets_by_rule(self, **params: Any) -> dict[str, Any]:
        _, doc = self._rule(params["Rule"], params.get("EventBusName"), "events:ListTargetsByRule")
        chosen, token = page(
            sorted(doc["Targets"], key=lambda t: t["Id"]), "Id", params.get("NextToken"), params.get("Limit")
        )
        return {"Targets": chosen} | ({"NextToken": token} if token else {})

    # -- events -------------------------------------------------------------------------------

    @operation("events", "PutEvents")
    def put_events(self, **params: Any) -> dict[str, Any]:
        return self.router.put_events(self.account, self.region, params["Entries"])

    @operation("events", "TestEventPattern")
    def test_event_pattern(self, **params: Any) -> dict[str, Any]:
        pattern = compile_pattern(params["EventPattern"])
        if not valid_test_event(params["Event"]):
            raise InvalidInputError("Parameter Event is not valid.")
        return {"Result": pattern.matches(params["Event"])}

    # -- tags ---------------------------------------------------------------------------------

    def _tagged(self, arn: str, action: str) -> dict[str, Any]:
        """An EventBridge resource with tags (a bus or a rule: what EventBridge tags), once the caller may do
        `action` on it: its owner may, and for a rule on a bus another account owns, whom that bus's policy
        allows. Any other ARN (an SQS queue's, a trail's, a connection's), or text that is no ARN, is a
        ValidationException, whoever owns it; a bus or rule that does not exist is ResourceNotFoundException,
        worded as AWS words it, and so is the default bus, which AWS does not tag."""
        resource = parse_arn(arn) if arn.startswith("arn:") else None
        kind = resource.resource.partition("/")[0] if resource is not None and resource.service == "events" else None
        if resource is None or kind not in ("event-bus", "rule"):
            raise InvalidInputError(
                f"Parameter {arn} is not valid. Reason: Provided Arn is not in correct format; EventBridge tags "
                "event buses (arn:aws:events:REGION:ACCOUNT:event-bus/NAME) and rules (...:rule/[BUS/]NAME)."
            )
        self.router.ensure_default_bus(self.account, self.region)
        doc = self.resources.get(arn)
        bus = self.resources.get(doc["EventBusArn"]) if doc is not None and "EventBusArn" in doc else doc
        creator = doc.get("CreatedBy") if doc is not None and "EventBusArn" in doc else None
        authorize_on_bus(self.account, action, arn, bus or {}, creator)
        if doc is None:
            raise NotFoundError(_not_found(resource.resource))
        if kind == "event-bus" and doc["Name"] == "default":
            raise NotFoundError(f"Resource {arn} does not exist.")
        return doc

    def _save_tags(self, doc: dict[str, Any]) -> None:
        where = self.resources.scope_of(doc["Arn"])
        assert where is not None
        scope, name = where
        self.resources.put(scope, name, doc["Arn"], doc)
        if scope.kind == "rule":
            self.router.rule_saved(doc)

    @operation("events", "TagResource")
    def tag_resource(self, **params: Any) -> dict[str, Any]:
        with self.router.changing():
            doc = self._tagged(params["ResourceARN"], "events:TagResource")
            tags = {t["Key"]: t["Value"] for t in doc["Tags"]} | {t["Key"]: t["Value"] for t in params["Tags"]}
            if len(tags) > 50:
                raise InvalidInputError("A resource can have at most 50 tags.")
            doc["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
            self._save_tags(doc)
        return {}

    @operation("events", "UntagResource")
    def untag_resource(self, **params: Any) -> dict[str, Any]:
        with self.router.changing():
            doc = self._tagged(params["ResourceARN"], "events:UntagResource")
            doc["Tags"] = [t for t in doc["Tags"] if t["Key"] not in set(params["TagKeys"])]
            self._save_tags(doc)
        return {}

    @operation("events", "ListTagsForResource")
    def list_tags_for_resource(self, **params: Any) -> dict[str, Any]:
        return {"Tags": self._tagged(params["ResourceARN"], "events:ListTagsForResource")["Tags"]}


def _not_found(resource: str) -> str:
    """AWS's message for a bus (`event-bus/NAME`) or rule (`rule/NAME`, `rule/BUS/NAME`) that does not exist."""
    kind, _, rest = resource.partition("/")
    if kind == "event-bus":
        return f"Event bus {rest} does not exist."
    bus, _, name = rest.rpartition("/")
    return f"Rule {name} does not exist on EventBus {bus or 'default'}."


def _rule_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    keys = (
        "Name",
        "Arn",
        "EventPattern",
        "ScheduleExpression",
        "State",
        "Description",
        "RoleArn",
        "EventBusName",
        "CreatedBy",
    )
    return {k: doc[k] for k in keys if k in doc}
