"""State-machine targets: a rule's event starts one execution of a Step Functions state machine.

As EventBridge does it, the target's `RoleArn` (required by PutTargets) is the role that calls
`states:StartExecution`, in its account, with the event after InputPath / Input / InputTransformer as the
execution's input. The execution's name is drawn from the event's id, the rule and the target's id, so a
delivery retried after a start whose acknowledgement was lost starts no second execution: the service answers
the same one (or, once it has finished, that the name is taken, which is the start having been made).

A start the service refuses for good (no such state machine, an input that is not JSON, the role's account
may not start it) is not retried: the event goes to the dead-letter queue at once; a throttled or failed
service is retried like any other target.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Protocol

from trailbridge.delivery.retry import DeliveryFailure


class StateMachines(Protocol):
    """What delivery asks of Step Functions; the composition root gives it."""

    def start(self, machine_arn: str, execution_input: str, name: str, role_arn: str) -> str:
        """Start an execution named `name` as the role `role_arn`; its ARN (an execution of that name
        started before counts as started). Raises DeliveryFailure."""
        ...


def execution_name(event: Mapping[str, Any], rule_arn: str, target_id: str) -> str:
    """The name of the execution one event starts through one target of one rule (a UUID, as EventBridge's
    executions are named), the same for every attempt of that delivery."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{rule_arn}/{target_id}/{event.get('id', '')}"))


def start_execution(
    machines: StateMachines | None,
    target_arn: str,
    target_spec: Mapping[str, Any],
    payload: bytes,
    event: Mapping[str, Any],
    rule_arn: str,
) -> str:
    """Start the execution a delivery makes; its ARN. Raises DeliveryFailure."""
    if machines is None:
        raise DeliveryFailure(
            "INVALID_TARGET", f"this trailbridge runs no state machines ({target_arn})", retryable=False
        )
    role = target_spec.get("RoleArn")
    if not role:  # PutTargets refuses such a target; one stored before that check is not delivered
        raise DeliveryFailure("NO_PERMISSIONS", f"the target {target_arn} has no RoleArn", retryable=False)
    name = execution_name(event, rule_arn, str(target_spec.get("Id", "")))
    return machines.start(target_arn, payload.decode(errors="replace"), name, str(role))
