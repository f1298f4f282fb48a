"""What a target ARN names, and whether a rule may deliver to it.

The permission is asked when targets are put and again at every delivery (a policy can change in
between), through the one decision of `domain.access`: the rule acts as EventBridge's service principal
(`events.amazonaws.com`) for the rule's account, with `aws:SourceArn` the rule and `aws:SourceAccount` its
account. A target owned by the rule's account, or by the account that created the rule (a rule another
account created on a bus it was granted), may be used; another account's target only where its resource
policy allows it: a queue's `Policy` attribute (`sqs:SendMessage`), a bus's policy (`events:PutEvents`).
Log groups, API destinations, functions and state machines have no resource policies in trailbridge, so only
their owner's rules may deliver to them (a state machine is started as the target's `RoleArn`, which
PutTargets requires). An SNS topic is AWS's exception: EventBridge publishes only where the topic's policy
allows `sns:Publish`, its owner's rules included (the default policy lets the owner's account, with
`AWS:SourceOwner` the owner; a policy that allows nobody refuses every rule).
"""

from __future__ import annotations

from trailbridge.domain.access import Access, authorize
from trailbridge.domain.arns import parse_arn
from trailbridge.errors import InvalidInputError
from trailbridge.storage.ports import Resources

SUPPORTED = (
    "arn:aws:lambda:REGION:ACCOUNT:function:NAME, arn:aws:sqs:REGION:ACCOUNT:NAME, "
    "arn:aws:events:REGION:ACCOUNT:event-bus/NAME, arn:aws:events:REGION:ACCOUNT:api-destination/NAME/ID, "
    "arn:aws:logs:REGION:ACCOUNT:log-group:NAME, arn:aws:sns:REGION:ACCOUNT:NAME, "
    "arn:aws:states:REGION:ACCOUNT:stateMachine:NAME"
)
EVENTS_PRINCIPAL = "events.amazonaws.com"
_ACTIONS = {
    "queue": "sqs:SendMessage",
    "bus": "events:PutEvents",
    "log-group": "logs:PutLogEvents",
    "api-destination": "events:InvokeApiDestination",
    "function": "lambda:InvokeFunction",
    "topic": "sns:Publish",
    "state-machine": "states:StartExecution",
}
NEEDS_ROLE = frozenset({"state-machine"})  # the kinds whose targets PutTargets refuses without a RoleArn


def target_kind(arn: str) -> str | None:
    """function, queue, bus, api-destination, log-group, topic, state-machine; None for a kind trailbridge cannot
    deliver to."""
    try:
        parsed = parse_arn(arn)
    except InvalidInputError:
        return None
    resource = parsed.resource
    kinds = {
        ("lambda", "function:"): "function",
        ("events", "event-bus/"): "bus",
        ("events", "api-destination/"): "api-destination",
        ("logs", "log-group:"): "log-group",
        ("states", "stateMachine:"): "state-machine",
    }
    for (service, prefix), kind in kinds.items():
        if parsed.service == service and resource.startswith(prefix):
            return kind
    if parsed.service in ("sqs", "sns") and resource and ":" not in resource and "/" not in resource:
        return "queue" if parsed.service == "sqs" else "topic"
    return None


def check_target(resources: Resources, rule_arn: str, creator: str | None, target_arn: str) -> None:
    """Raise AccessDeniedError unless the rule may deliver to `target_arn` (a target or a dead-letter queue)."""
    kind = target_kind(target_arn)
    rule = parse_arn(rule_arn)
    access = Access(
        account=rule.account,
        action=_ACTIONS.get(kind or "", "events:PutTargets"),
        resource=target_arn,
        service=EVENTS_PRINCIPAL,
        context={"aws:SourceArn": rule_arn, "aws:SourceAccount": rule.account, "AWS:SourceOwner": rule.account},
        owners=frozenset([creator]) if creator else frozenset(),
    )
    policy = _policy(resources, kind, target_arn)
    # A topic that is not there (yet) has no policy to ask: its owner's rules may name it, the delivery then
    # finds it missing.
    authorize(access, policy, owner_acts=kind != "topic" or policy is None)


def _policy(resources: Resources, kind: str | None, arn: str) -> str | None:
    doc = resources.get(arn) if kind in ("queue", "bus", "topic") else None
    if doc is None:
        return None
    policy = doc.get("Attributes", {}).get("Policy") if kind == "queue" else doc.get("Policy")
    return policy if isinstance(policy, str) else None
