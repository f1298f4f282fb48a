"""Log groups through CloudWatch Logs' operations (the subset a log-group target needs).

A log group is named by its name, or (`logGroupIdentifier`, `logGroupIdentifiers`) by its name or its ARN
(`arn:aws:logs:REGION:ACCOUNT:log-group:NAME`, without the `:*` DescribeLogGroups shows). An ARN of another
account goes through the authorization point; log groups have no resource policies in trailbridge, so only
their owner may read them. trailbridge has no monitoring accounts: `accountIdentifiers` and
`includeLinkedAccounts` find nothing beyond the caller's own groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from trailbridge.domain.access import Access, authorize
from trailbridge.domain.arns import log_group_arn, parse_arn
from trailbridge.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from trailbridge.services.base import Engine, ServiceError, operation, page
from trailbridge.storage.ports import Scope

_MISSING = "The specified log group does not exist."
_STANDARD = "STANDARD"
_DESCRIBE_PAGE = 50  # DescribeLogGroups' most (and default) groups per page


def _invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterException", message)


class LogsService:
    def __init__(self, engine: Engine, account: str, region: str) -> None:
        self.engine, self.account, self.region = engine, account, region
        self.resources = engine.resources

    @property
    def _scope(self) -> Scope:
        return Scope("log-group", self.account, self.region)

    def _group(self, name: str) -> dict[str, Any]:
        doc = self.resources.by_name(self._scope, name)
        if doc is None:
            raise NotFoundError(_MISSING)
        return doc

    def _identified(self, identifier: str, action: str) -> dict[str, Any] | None:
        """The log group a name or an ARN names (None when there is none), once the caller may do `action` on
        it: an ARN of another account is refused (AccessDeniedException) whether or not the group exists; one
        of the caller's account in another region names no group here."""
        if not identifier.startswith("arn:"):
            return self.resources.by_name(self._scope, identifier)
        try:
            arn = parse_arn(identifier)
        except InvalidInputError:
            raise _invalid(f"{identifier} is not a valid log group ARN.") from None
        name = arn.resource.removeprefix("log-group:")
        if arn.service != "logs" or not arn.resource.startswith("log-group:") or not name:
            raise _invalid(f"{identifier} is not a log group ARN (arn:aws:logs:REGION:ACCOUNT:log-group:NAME).")
        authorize(Access(self.account, action, log_group_arn(arn.account, arn.region, name)), None)
        return self.resources.by_name(self._scope, name) if arn.region == self.region else None

    @operation("logs", "CreateLogGroup")
    def create_log_group(self, **params: Any) -> dict[str, Any]:
        name = params["logGroupName"]
        if self.resources.by_name(self._scope, name) is not None:
            raise AlreadyExistsError("The specified log group already exists")
        arn = log_group_arn(self.account, self.region, name)
        doc = {
            "logGroupName": name,
            "arn": f"{arn}:*",
            "creationTime": int(self.engine.clock.now() * 1000),
            "logGroupClass": params.get("logGroupClass") or _STANDARD,
        }
        self.resources.put(self._scope, name, arn, doc)
        return {}

    @operation("logs", "DeleteLogGroup")
    def delete_log_group(self, **params: Any) -> dict[str, Any]:
        arn = log_group_arn(self.account, self.region, self._group(params["logGroupName"])["logGroupName"])
        self.engine.logs.purge(arn)
        self.resources.delete(arn)
        return {}

    @operation("logs", "DescribeLogGroups")
    def describe_log_groups(self, **params: Any) -> dict[str, Any]:
        """The caller's groups, name-ordered, 50 a page at most: those `logGroupIdentifiers` names, or those whose
        name starts with `logGroupNamePrefix` or holds `logGroupNamePattern` (case-sensitively), and are of
        `logGroupClass`, or all."""
        identifiers, prefix, pattern = (
            params.get(k) for k in ("logGroupIdentifiers", "logGroupNamePrefix", "logGroupNamePattern")
        )
        kind = params.get("logGroupClass")
        if identifiers is not None and (prefix is not None or pattern is not None or kind is not None):
            raise _invalid(
                "logGroupIdentifiers cannot be given with logGroupNamePrefix, logGroupNamePattern or logGroupClass."
            )
        if prefix is not None and pattern is not None:
            raise _invalid("logGroupNamePrefix and logGroupNamePattern cannot both be given.")
        groups: Iterable[dict[str, Any]]
        if identifiers is not None:
            found = (self._identified(i, "logs:DescribeLogGroups") for i in identifiers)
            groups = sorted({d["logGroupName"]: d for d in found if d is not None}.values(), key=_name)
        else:
            groups = self.resources.scan(self._scope, prefix or "")
            groups = (d for d in groups if (pattern or "") in d["logGroupName"] and kind in (None, _class(d)))
        try:
            chosen, token = page(groups, "logGroupName", params.get("nextToken"), params.get("limit") or _DESCRIBE_PAGE)
        except InvalidInputError as exc:
            raise _invalid(exc.message) from None
        return {"logGroups": chosen} | ({"nextToken": token} if token else {})

    @operation("logs", "FilterLogEvents")
    def filter_log_events(self, **params: Any) -> dict[str, Any]:
        """The events of the group named by exactly one of `logGroupName` and `logGroupIdentifier`."""
        name, identifier = params.get("logGroupName"), params.get("logGroupIdentifier")
        if (name is None) == (identifier is None):
            raise _invalid("Exactly one of logGroupName and logGroupIdentifier must be given.")
        doc = self._identified(str(name or identifier), "logs:FilterLogEvents")
        if doc is None:
            raise NotFoundError(_MISSING)
        arn = log_group_arn(self.account, self.region, doc["logGroupName"])
        return {"events": self.engine.logs.read(arn, params.get("limit") or 10_000), "searchedLogStreams": []}


def _name(doc: dict[str, Any]) -> str:
    return str(doc["logGroupName"])


def _class(doc: dict[str, Any]) -> str:
    return str(doc.get("logGroupClass", _STANDARD))
