"""State machines: create (idempotent as AWS), describe, update (a new revision; running executions keep the
one they started with), delete, list, and ValidateStateMachineDefinition.

A state machine is a document of kind `sfn-state-machine` on the `Resources` port, named by its name in its
account and region; its definition is kept too under its `revisionId` on the `Executions` port, which is what
an execution runs."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from trailbridge.services.states.common import (
    MACHINE,
    StatesParts,
    allow,
    arn_of,
    check_name,
    date,
    error,
    machine_arn,
    machine_scope,
    states_operation,
)
from trailbridge.services.states.tags import tag_map
from trailbridge.states import InvalidDefinition
from trailbridge.states.definition import parse

_DEFAULT_LOGGING = {"level": "OFF", "includeExecutionData": False}
_DEFAULT_TRACING = {"enabled": False}


def checked_definition(text: str) -> None:
    try:
        parse(text)
    except InvalidDefinition as exc:
        raise error("InvalidDefinition", exc.message) from None


def _role(arn: str) -> str:
    if not arn.startswith("arn:aws:iam::") or ":role/" not in arn:
        raise error("InvalidArn", f"Invalid Arn: 'Invalid Role Arn: {arn}'")
    return arn


def next_token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def token_key(token: str | None) -> str:
    if not token:
        return ""
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise error("InvalidToken", f"Invalid Token: '{token}'") from None


class MachinesService(StatesParts):
    @states_operation("CreateStateMachine")
    def create_state_machine(self, **params: Any) -> dict[str, Any]:
        name, text = params["name"], params["definition"]
        check_name(name)
        checked_definition(text)
        role = _role(params["roleArn"])
        kind = params.get("type", "STANDARD")
        logging = params.get("loggingConfiguration") or _DEFAULT_LOGGING
        tracing = params.get("tracingConfiguration") or _DEFAULT_TRACING
        tags = tag_map(params.get("tags"))
        arn = machine_arn(self.account, self.region, name)
        existing = self.resources.by_name(machine_scope(self.account, self.region), name)
        if existing is not None:
            same = (existing["definition"], existing["type"], existing["loggingConfiguration"])
            if same != (text, kind, logging) or existing["tracingConfiguration"] != tracing:
                raise error("StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'")
            return {"stateMachineArn": arn, "creationDate": date(existing["creationDate"])}
        now = self.engine.clock.now()
        revision = uuid.uuid4().hex
        doc = {
            "Kind": MACHINE,
            "stateMachineArn": arn,
            "name": name,
            "status": "ACTIVE",
            "definition": text,
            "roleArn": role,
            "type": kind,
            "creationDate": now,
            "loggingConfiguration": logging,
            "tracingConfiguration": tracing,
            "revisionId": revision,
            "tags": tags,
        }
        with self.engine.store.transaction():
            self.executions.put_revision(revision, text)
            self.save_machine(doc)
        return {"stateMachineArn": arn, "creationDate": date(now)}

    @states_operation("DescribeStateMachine")
    def describe_state_machine(self, **params: Any) -> dict[str, Any]:
        return describe(self.machine(params["stateMachineArn"], "states:DescribeStateMachine"))

    @states_operation("UpdateStateMachine")
    def update_state_machine(self, **params: Any) -> dict[str, Any]:
        doc = self.machine(params["stateMachineArn"], "states:UpdateStateMachine")
        changes = [k for k in ("definition", "roleArn", "loggingConfiguration", "tracingConfiguration") if k in params]
        if not changes:
            raise error(
                "MissingRequiredParameter",
                "Either the definition, the role ARN, the LoggingConfiguration, "
                "or the TracingConfiguration must be specified",
            )
        if "definition" in params:
            checked_definition(params["definition"])
            doc["definition"] = params["definition"]
        if "roleArn" in params:
            doc["roleArn"] = _role(params["roleArn"])
        for key in ("loggingConfiguration", "tracingConfiguration"):
            if key in params:
                doc[key] = params[key]
        now = self.engine.clock.now()
        doc["revisionId"], doc["updateDate"] = uuid.uuid4().hex, now
        with self.engine.store.transaction():
            self.executions.put_revision(doc["revisionId"], doc["definition"])
            self.save_machine(doc)
        return {"updateDate": date(now), "revisionId": doc["revisionId"]}

    @states_operation("DeleteStateMachine")
    def delete_state_machine(self, **params: Any) -> dict[str, Any]:
        """Deleting a state machine that does not exist succeeds, as in AWS; its executions go on."""
        arn = params["stateMachineArn"]
        arn_of(arn, "stateMachine")
        allow(self.account, "states:DeleteStateMachine", arn)
        doc = self.resources.get(arn)
        if doc is not None and doc.get("Kind") == MACHINE:
            self.resources.delete(arn)
        return {}

    @states_operation("ListStateMachines")
    def list_state_machines(self, **params: Any) -> dict[str, Any]:
        after = token_key(params.get("nextToken"))
        limit = params.get("maxResults") or 100
        found = list(self.resources.scan(machine_scope(self.account, self.region), after=after))
        found = [doc for doc in found if doc["name"] > after] if after else found
        chosen = found[:limit]
        listed = [
            {
                "stateMachineArn": doc["stateMachineArn"],
                "name": doc["name"],
                "type": doc["type"],
                "creationDate": date(doc["creationDate"]),
            }
            for doc in chosen
        ]
        more = {"nextToken": next_token(chosen[-1]["name"])} if len(found) > limit else {}
        return {"stateMachines": listed} | more

    @states_operation("ValidateStateMachineDefinition")
    def validate_state_machine_definition(self, **params: Any) -> dict[str, Any]:
        try:
            parse(params["definition"])
        except InvalidDefinition as exc:
            diagnostics = [_diagnostic(problem) for problem in _problems(exc.message)]
            return {"result": "FAIL", "diagnostics": diagnostics, "truncated": False}
        return {"result": "OK", "diagnostics": [], "truncated": False}


def describe(doc: dict[str, Any]) -> dict[str, Any]:
    shown = {
        k: doc[k]
        for k in (
            "stateMachineArn",
            "name",
            "status",
            "definition",
            "roleArn",
            "type",
            "loggingConfiguration",
            "tracingConfiguration",
            "revisionId",
        )
    }
    return shown | {"creationDate": date(doc["creationDate"])}


def _problems(message: str) -> list[str]:
    """The problems an InvalidDefinition message joins: `Invalid State Machine Definition: 'A, B'`."""
    inner = message.split(": '", 1)[1].rstrip("'") if ": '" in message else message
    return [p.strip() for p in inner.split(", ") if p.strip()]


def _diagnostic(problem: str) -> dict[str, Any]:
    code, _, rest = problem.partition(": ")
    text, _, location = rest.rpartition(" at ")
    return {"severity": "ERROR", "code": code, "message": text or rest, "location": location or "/"}
