"""A function's resource policy (AddPermission, RemovePermission, GetPolicy) and its reserved concurrency.

The policy of a function, or of one version or alias (AddPermission's Qualifier), is a document of kind
`lambda-policy` beside the function: `Policy` the policy document as Lambda builds it, one statement per
AddPermission, `RevisionId` its own. The one authorization point (`domain/access.py`) reads it: another
account's calls (`LambdaParts.function`), and the service principals that invoke (events.amazonaws.com with
the rule's ARN as `AWS:SourceArn`)."""

from __future__ import annotations

import re
from typing import Any

import orjson

from trailbridge.services.base import ServiceError
from trailbridge.services.lambda_functions.common import (
    LATEST,
    POLICY,
    LambdaParts,
    Named,
    conflict,
    function_scope,
    invalid,
    lambda_operation,
    not_found,
    precondition_failed,
    revision_id,
)

POLICY_LIMIT = 20480
_ACCOUNT = re.compile(r"\d{12}")
_ACCOUNT_CONCURRENCY, _MINIMUM_UNRESERVED = 1000, 100


def principal_of(principal: str) -> Any:
    """AddPermission's Principal as the statement names it: an account's root, a service, everyone, an ARN."""
    if principal == "*":
        return "*"
    if _ACCOUNT.fullmatch(principal):
        return {"AWS": f"arn:aws:iam::{principal}:root"}
    if principal.startswith("arn:"):
        return {"AWS": principal}
    return {"Service": principal}


def conditions_of(params: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The conditions Lambda writes for AddPermission's SourceArn, SourceAccount, PrincipalOrgID,
    EventSourceToken, FunctionUrlAuthType and InvokedViaFunctionUrl."""
    found: dict[str, dict[str, str]] = {}

    def add(operator: str, key: str, value: str) -> None:
        found.setdefault(operator, {})[key] = value

    if params.get("SourceAccount"):
        add("StringEquals", "AWS:SourceAccount", params["SourceAccount"])
    if params.get("PrincipalOrgID"):
        add("StringEquals", "aws:PrincipalOrgID", params["PrincipalOrgID"])
    if params.get("EventSourceToken"):
        add("StringEquals", "lambda:EventSourceToken", params["EventSourceToken"])
    if params.get("FunctionUrlAuthType"):
        add("StringEquals", "lambda:FunctionUrlAuthType", params["FunctionUrlAuthType"])
    if params.get("InvokedViaFunctionUrl"):
        add("Bool", "lambda:InvokedViaFunctionUrl", "true")
    if params.get("SourceArn"):
        add("ArnLike", "AWS:SourceArn", params["SourceArn"])
    return found


class PermissionsService(LambdaParts):
    def _target(self, params: dict[str, Any], action: str) -> tuple[Named, str, str]:
        """The function (and qualifier, "" for none) whose policy a call acts on, and that resource's ARN."""
        named = self.named(params)
        doc = self.function(named, action)
        qualifier = named.qualifier or ""
        if qualifier == LATEST:
            raise invalid("We currently do not support adding policies for $LATEST.")
        if qualifier:
            self.check_qualifier(doc, qualifier)
        resource = f"{named.arn}:{qualifier}" if qualifier else named.arn
        return named, qualifier, resource

    @lambda_operation("AddPermission")
    def add_permission(self, **params: Any) -> dict[str, Any]:
        named, qualifier, resource = self._target(params, "lambda:AddPermission")
        kept = self.child(POLICY, named.arn, qualifier)
        if params.get("RevisionId") and (kept is None or params["RevisionId"] != kept["RevisionId"]):
            raise precondition_failed()
        policy: dict[str, Any] = kept["Policy"] if kept else {"Version": "2012-10-17", "Id": "default", "Statement": []}
        sid = params["StatementId"]
        if any(s.get("Sid") == sid for s in policy["Statement"]):
            raise conflict(
                f"The statement id ({sid}) provided already exists. Please specify a new statement id, or remove "
                "the existing statement."
            )
        statement: dict[str, Any] = {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": principal_of(params["Principal"]),
            "Action": params["Action"],
            "Resource": resource,
        }
        if conditions := conditions_of(params):
            statement["Condition"] = conditions
        policy = policy | {"Statement": [*policy["Statement"], statement]}
        size = len(orjson.dumps(policy))
        if size > POLICY_LIMIT:
            raise ServiceError(
                "PolicyLengthExceededException",
                f"The final policy size ({size}) is bigger than the limit ({POLICY_LIMIT}).",
            )
        self.save_child(POLICY, named.arn, qualifier, {"Policy": policy, "RevisionId": revision_id()})
        return {"Statement": orjson.dumps(statement).decode()}

    @lambda_operation("RemovePermission")
    def remove_permission(self, **params: Any) -> dict[str, Any]:
        named, qualifier, _ = self._target(params, "lambda:RemovePermission")
        kept = self.child(POLICY, named.arn, qualifier)
        if kept is None:
            raise not_found("No policy is associated with the given resource.")
        if params.get("RevisionId") and params["RevisionId"] != kept["RevisionId"]:
            raise precondition_failed()
        sid = params["StatementId"]
        statements = [s for s in kept["Policy"]["Statement"] if s.get("Sid") != sid]
        if len(statements) == len(kept["Policy"]["Statement"]):
            raise not_found(f"Statement {sid} is not found in resource policy.")
        if statements:
            policy = kept["Policy"] | {"Statement": statements}
            self.save_child(POLICY, named.arn, qualifier, {"Policy": policy, "RevisionId": revision_id()})
        else:
            self.delete_child(POLICY, named.arn, qualifier)
        return {}

    @lambda_operation("GetPolicy")
    def get_policy(self, **params: Any) -> dict[str, Any]:
        named, qualifier, _ = self._target(params, "lambda:GetPolicy")
        kept = self.child(POLICY, named.arn, qualifier)
        if kept is None:
            raise not_found("The resource you requested does not exist.")
        return {"Policy": orjson.dumps(kept["Policy"]).decode(), "RevisionId": kept["RevisionId"]}

    # -- concurrency --------------------------------------------------------------------------

    @lambda_operation("PutFunctionConcurrency")
    def put_function_concurrency(self, **params: Any) -> dict[str, Any]:
        named = self.named(params, qualifier=False)
        if named.qualifier is not None:
            raise invalid("Concurrency is reserved for a function, not for a version or alias.")
        doc = self.function(named, "lambda:PutFunctionConcurrency")
        wanted = params["ReservedConcurrentExecutions"]
        others = sum(
            d["Concurrency"] or 0
            for d in self.resources.scan(function_scope(named.account, named.region))
            if d["FunctionArn"] != doc["FunctionArn"]
        )
        if _ACCOUNT_CONCURRENCY - others - wanted < _MINIMUM_UNRESERVED:
            raise invalid(
                "Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{_MINIMUM_UNRESERVED}]."
            )
        doc["Concurrency"] = wanted
        self.save_function(doc)
        return {"ReservedConcurrentExecutions": wanted}

    @lambda_operation("GetFunctionConcurrency")
    def get_function_concurrency(self, **params: Any) -> dict[str, Any]:
        doc = self.function(self.named(params, qualifier=False), "lambda:GetFunctionConcurrency")
        return {} if doc["Concurrency"] is None else {"ReservedConcurrentExecutions": doc["Concurrency"]}

    @lambda_operation("DeleteFunctionConcurrency")
    def delete_function_concurrency(self, **params: Any) -> dict[str, Any]:
        doc = self.function(self.named(params, qualifier=False), "lambda:DeleteFunctionConcurrency")
        doc["Concurrency"] = None
        self.save_function(doc)
        return {}
