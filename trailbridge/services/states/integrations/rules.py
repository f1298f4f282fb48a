"""The executions rules' state-machine targets start (`delivery.state_machines.StateMachines`)."""

from __future__ import annotations

import hashlib

from trailbridge.delivery.retry import DeliveryFailure
from trailbridge.delivery.targets import EVENTS_PRINCIPAL
from trailbridge.services.base import Engine, ServiceError
from trailbridge.services.states.integrations.role_calls import RoleCalls, own_handlers

_RETRIED = frozenset({"ThrottlingException", "ExecutionLimitExceeded"})  # StartExecution errors to retry


class RuleExecutions:
    """StartExecution through the Step Functions service's own API object, as the target's role (in its
    account, the machine's region), recorded as that role's session invoked by `events.amazonaws.com`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, machine_arn: str, execution_input: str, name: str, role_arn: str) -> str:
        region, owner = machine_arn.split(":")[3:5]
        account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else owner
        if own_handlers("stepfunctions").get("StartExecution") is None:
            message = f"this trailbridge runs no state machines ({machine_arn})"
            raise DeliveryFailure("INVALID_TARGET", message, retryable=False)
        session = hashlib.sha256(role_arn.encode()).hexdigest()[:32]
        calls = RoleCalls(self.engine, account, region, role_arn, session, EVENTS_PRINCIPAL)
        params = {"stateMachineArn": machine_arn, "input": execution_input, "name": name}
        try:
            answer = calls.call("stepfunctions", "StartExecution", params, self.engine.new_id())
        except ServiceError as exc:
            if exc.code == "ExecutionAlreadyExists":  # this delivery's execution, started by an earlier attempt
                return machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
            retried = exc.status >= 500 or exc.code in _RETRIED
            raise DeliveryFailure(exc.code, exc.message, retryable=retried) from None
        return str(answer["executionArn"])
