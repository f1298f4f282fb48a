"""PutPermission / RemovePermission: an event bus's resource policy, which decides which other accounts
may put events on it, and create and manage rules on it (`domain.access` decides, for the router's
cross-account PutEvents and for the rule operations).

As AWS: a `Principal` (an account id, or `*`) with a `StatementId` adds one statement allowing
`events:PutEvents`; `Policy` replaces the whole policy; `Condition` (an organization id) is accepted only
with `*`. trailbridge has no organizations, so a statement with a condition is stored but never grants.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from trailbridge.errors import InvalidInputError, NotFoundError
from trailbridge.services.base import Engine, ServiceError, operation
from trailbridge.services.events import authorize_on_bus, find_bus, scope_of_bus

_PRINCIPAL = re.compile(r"\d{12}|\*")


def _invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterValue", message)


class PermissionsService:
    def __init__(self, engine: Engine, account: str, region: str) -> None:
        self.engine, self.account, self.region = engine, account, region
        self.resources, self.router = engine.resources, engine.router

    def _bus(self, name_or_arn: str | None, action: str) -> dict[str, Any]:
        doc = find_bus(self.engine, self.account, self.region, name_or_arn)
        authorize_on_bus(self.account, action, doc["Arn"], doc)
        return doc

    def _save_policy(self, doc: dict[str, Any], statements: list[dict[str, Any]] | None) -> None:
        if statements:
            doc["Policy"] = orjson.dumps({"Version": "2012-10-17", "Statement": statements}).decode()
        else:
            doc.pop("Policy", None)
        doc["LastModifiedTime"] = self.engine.clock.now()
        self.resources.put(scope_of_bus(doc), doc["Name"], doc["Arn"], doc)

    @operation("events", "PutPermission")
    def put_permission(self, **params: Any) -> dict[str, Any]:
        with self.router.changing():
            doc = self._bus(params.get("EventBusName"), "events:PutPermission")
            if params.get("Policy") is not None:
                self._save_policy(doc, _statements_of(params["Policy"]))
                return {}
            statement = _statement(params, doc["Arn"])
            statements = [s for s in _statements_of(doc.get("Policy")) if s.get("Sid") != statement["Sid"]]
            self._save_policy(doc, [*statements, statement])
        return {}

    @operation("events", "RemovePermission")
    def remove_permission(self, **params: Any) -> dict[str, Any]:
        with self.router.changing():
            doc = self._bus(params.get("EventBusName"), "events:RemovePermission")
            statements = _statements_of(doc.get("Policy"))
            if params.get("RemoveAllPermissions"):
                if statements:  # a bus without a policy has nothing to remove
                    self._save_policy(doc, None)
                return {}
            sid = params.get("StatementId")
            if sid is None:
                raise InvalidInputError("Parameter StatementId is required unless RemoveAllPermissions is true.")
            kept = [s for s in statements if s.get("Sid") != sid]
            if len(kept) == len(statements):
                raise NotFoundError("Statement with the provided id does not exist.")
            self._save_policy(doc, kept)
        return {}


def _statement(params: dict[str, Any], bus_arn: str) -> dict[str, Any]:
    principal, sid, condition = params.get("Principal"), params.get("StatementId"), params.get("Condition")
    if principal is None or sid is None:
        raise InvalidInputError("Parameters Principal and StatementId are required unless Policy is given.")
    if params.get("Action", "events:PutEvents") != "events:PutEvents":
        raise _invalid("Provided value in parameter 'action' is not supported.")
    if condition is not None and principal != "*":
        raise _invalid("Value of the parameter 'principal' must be '*' when the parameter 'condition' is set.")
    if not _PRINCIPAL.fullmatch(principal):
        raise _invalid(
            f"Value {principal} at 'principal' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: (\\d{12}|\\*)"
        )
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": "*" if principal == "*" else {"AWS": f"arn:aws:iam::{principal}:root"},
        "Action": "events:PutEvents",
        "Resource": bus_arn,
    }
    if condition is not None:
        statement["Condition"] = {condition["Type"]: {condition["Key"]: condition["Value"]}}
    return statement


def _statements_of(policy: str | None) -> list[dict[str, Any]]:
    if not policy:
        return []
    try:
        document = orjson.loads(policy)
    except orjson.JSONDecodeError:
        raise _invalid("Policy is not valid JSON.") from None
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
        raise _invalid("Policy must be an object with a Statement list.")
    return statements
