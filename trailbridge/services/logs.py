"""Log groups through CloudWatch Logs' operations (the subset a log-group target needs)."""

from __future__ import annotations

from typing import Any

from trailbridge.domain.arns import log_group_arn
from trailbridge.errors import AlreadyExistsError, NotFoundError
from trailbridge.services.base import Engine, operation
from trailbridge.storage.resources import Scope


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
            raise NotFoundError("The specified log group does not exist.")
        return doc

    @operation("logs", "CreateLogGroup")
    def create_log_group(self, **params: Any) -> dict[str, Any]:
        name = params["logGroupName"]
        if self.resources.by_name(self._scope, name) is not None:
            raise AlreadyExistsError("The specified log group already exists")
        arn = log_group_arn(self.account, self.region, name)
        doc = {"logGroupName": name, "arn": f"{arn}:*", "creationTime": int(self.engine.clock.now() * 1000)}
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
        return {"logGroups": list(self.resources.scan(self._scope, params.get("logGroupNamePrefix") or ""))}

    @operation("logs", "FilterLogEvents")
    def filter_log_events(self, **params: Any) -> dict[str, Any]:
        name = self._group(params["logGroupName"])["logGroupName"]
        events = self.engine.logs.read(log_group_arn(self.account, self.region, name), params.get("limit") or 10_000)
        return {"events": events, "searchedLogStreams": []}
