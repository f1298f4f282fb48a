"""What every Step Functions operation shares: AWS's error codes and wording, the ARNs of state machines,
executions and activities, where state machines live on the `Resources` port, and the one authorization
point (Step Functions has no resource policies: a caller acts on its own account's resources only)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from trailbridge.domain.access import Access, authorize
from trailbridge.errors import AccessDeniedError
from trailbridge.services.base import Engine, ServiceError, operation, timestamp
from trailbridge.storage.ports import Scope, StoredExecution

MACHINE = "sfn-state-machine"
ACTIVITY = "sfn-activity"
SERVICE = "stepfunctions"
# Names: 1-80 characters, none of white space, brackets, wildcards, the listed punctuation or control characters.
_NAME = re.compile(r"[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}")
_ARN = re.compile(r"arn:aws:states:([a-z0-9-]+):(\d{12}):([A-Za-z]+):(.+)")

F = TypeVar("F", bound=Callable[..., Any])


def states_operation(name: str) -> Callable[[F], F]:
    return operation(SERVICE, name)


def error(code: str, message: str, status: int = 400) -> ServiceError:
    return ServiceError(code, message, status)


def invalid_arn(arn: str, why: str = "Invalid ARN prefix") -> ServiceError:
    return error("InvalidArn", f"Invalid Arn: '{why}: {arn}'")


def machine_not_found(arn: str) -> ServiceError:
    return error("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")


def execution_not_found(arn: str) -> ServiceError:
    return error("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")


def check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise error("InvalidName", f"Invalid Name: '{name}'")


def arn_of(arn: str, kind: str) -> tuple[str, str, str]:
    """(region, account, rest) of an ARN of `kind` (`stateMachine`, `execution`, `activity`); InvalidArn
    otherwise, worded as AWS words it."""
    found = _ARN.fullmatch(arn)
    if found is None:
        raise invalid_arn(arn)
    region, account, found_kind, rest = found.groups()
    if found_kind != kind:
        raise error("InvalidArn", f"Invalid Arn: 'Resource type not valid in this context: {found_kind}'")
    return region, account, rest


def machine_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:states:{region}:{account}:stateMachine:{name}"


def execution_arn(machine: str, name: str) -> str:
    _, _, _, region, account, rest = machine.split(":", 5)
    return f"arn:aws:states:{region}:{account}:execution:{rest.split(':', 1)[1]}:{name}"


def machine_scope(account: str, region: str) -> Scope:
    return Scope(MACHINE, account, region)


def allow(account: str, action: str, arn: str) -> None:
    """The one authorization point: `account` may do `action` (`states:StartExecution`) on `arn`."""
    try:
        authorize(Access(account, action, arn), None)
    except AccessDeniedError as exc:
        raise error("AccessDeniedException", exc.message) from None


def date(seconds: float | None) -> datetime | None:
    return None if seconds is None else timestamp(seconds)


class StatesParts:
    """The engine, the caller's account and region, and the lookups every Step Functions class needs."""

    def __init__(self, engine: Engine, account: str, region: str) -> None:
        self.engine, self.account, self.region = engine, account, region
        self.resources, self.executions = engine.resources, engine.executions

    def machine(self, arn: str, action: str) -> dict[str, Any]:
        """The state machine an ARN names, once the caller may do `action` on it."""
        region, _, _ = arn_of(arn, "stateMachine")
        allow(self.account, action, arn)
        doc = self.resources.get(arn) if region == self.region else None
        if doc is None or doc.get("Kind") != MACHINE:
            raise machine_not_found(arn)
        return doc

    def execution(self, arn: str, action: str) -> StoredExecution:
        """The execution an ARN names, once the caller may do `action` on it."""
        region, _, _ = arn_of(arn, "execution")
        allow(self.account, action, arn)
        found = self.executions.get(arn) if region == self.region else None
        if found is None:
            raise execution_not_found(arn)
        return found

    def save_machine(self, doc: dict[str, Any]) -> None:
        """Write a state machine (routing and trails do not read it: the configuration version stays)."""
        _, _, _, region, account, rest = doc["stateMachineArn"].split(":", 5)
        self.resources.put(
            machine_scope(account, region), rest.split(":", 1)[1], doc["stateMachineArn"], doc, config=False
        )
