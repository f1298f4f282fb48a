"""Activities: CreateActivity (idempotent by name), DescribeActivity, DeleteActivity, ListActivities, and
GetActivityTask, the worker's long poll (up to 60 s) for the next task a Task state scheduled on the activity.

An activity is a document of kind `sfn-activity` on the `Resources` port. Its scheduled tasks wait on a
built-in durable queue named by the activity's ARN (`engine.queues`, the Messages port), one message
`{"token", "input"}` each: the task is answered by its token (SendTaskSuccess/Failure/Heartbeat), and its
TimeoutSeconds/HeartbeatSeconds bound the wait as for any task."""

from __future__ import annotations

from typing import Any

import orjson

from trailbridge.services.base import Engine
from trailbridge.services.states.common import (
    ACTIVITY,
    StatesParts,
    allow,
    arn_of,
    check_name,
    date,
    error,
    states_operation,
)
from trailbridge.services.states.machines import next_token, token_key
from trailbridge.services.states.tags import tag_map
from trailbridge.states import TaskPending, TaskRequest
from trailbridge.states.payload import compact
from trailbridge.states.tasks import TaskFailed, TaskOutcome
from trailbridge.storage.ports import ReceiveRules, Scope

POLL_SECONDS = 60  # how long GetActivityTask waits for a task, as AWS
_TAKEN = ReceiveRules(visibility_timeout=60, retention_seconds=14 * 24 * 3600)


def activity_scope(account: str, region: str) -> Scope:
    return Scope(ACTIVITY, account, region)


def not_found(arn: str) -> Exception:
    return error("ActivityDoesNotExist", f"Activity Does Not Exist: '{arn}'")


def schedule(engine: Engine, request: TaskRequest) -> TaskOutcome:
    """A Task state whose resource is an activity: its task waits for a worker's GetActivityTask."""
    doc = engine.resources.get(request.resource)
    if doc is None or doc.get("Kind") != ACTIVITY:
        return TaskFailed("States.Runtime", f"Activity Does Not Exist: '{request.resource}'")
    engine.queues.send(
        request.resource, orjson.dumps({"token": request.token, "input": compact(request.parameters)}).decode()
    )
    return TaskPending()


class ActivitiesService(StatesParts):
    @states_operation("CreateActivity")
    def create_activity(self, **params: Any) -> dict[str, Any]:
        name = params["name"]
        check_name(name)
        arn = f"arn:aws:states:{self.region}:{self.account}:activity:{name}"
        existing = self.resources.by_name(activity_scope(self.account, self.region), name)
        if existing is not None:
            return {"activityArn": arn, "creationDate": date(existing["creationDate"])}
        tags = tag_map(params.get("tags"))
        now = self.engine.clock.now()
        doc = {"Kind": ACTIVITY, "activityArn": arn, "name": name, "creationDate": now, "tags": tags}
        self.resources.put(activity_scope(self.account, self.region), name, arn, doc, config=False)
        return {"activityArn": arn, "creationDate": date(now)}

    def _activity(self, arn: str, action: str) -> dict[str, Any]:
        region, _, _ = arn_of(arn, "activity")
        allow(self.account, action, arn)
        doc = self.resources.get(arn) if region == self.region else None
        if doc is None or doc.get("Kind") != ACTIVITY:
            raise not_found(arn)
        return doc

    @states_operation("DescribeActivity")
    def describe_activity(self, **params: Any) -> dict[str, Any]:
        doc = self._activity(params["activityArn"], "states:DescribeActivity")
        return {"activityArn": doc["activityArn"], "name": doc["name"], "creationDate": date(doc["creationDate"])}

    @states_operation("DeleteActivity")
    def delete_activity(self, **params: Any) -> dict[str, Any]:
        arn = params["activityArn"]
        arn_of(arn, "activity")
        allow(self.account, "states:DeleteActivity", arn)
        doc = self.resources.get(arn)
        if doc is not None and doc.get("Kind") == ACTIVITY:
            self.resources.delete(arn)
            self.engine.queues.purge(arn)
        return {}

    @states_operation("ListActivities")
    def list_activities(self, **params: Any) -> dict[str, Any]:
        after = token_key(params.get("nextToken"))
        limit = params.get("maxResults") or 100
        found = [
            d for d in self.resources.scan(activity_scope(self.account, self.region), after=after) if d["name"] > after
        ]
        chosen = found[:limit]
        listed = [
            {"activityArn": d["activityArn"], "name": d["name"], "creationDate": date(d["creationDate"])}
            for d in chosen
        ]
        more = {"nextToken": next_token(chosen[-1]["name"])} if len(found) > limit else {}
        return {"activities": listed} | more

    @states_operation("GetActivityTask")
    def get_activity_task(self, **params: Any) -> dict[str, Any]:
        arn = self._activity(params["activityArn"], "states:GetActivityTask")["activityArn"]
        queues = self.engine.queues
        for taken in queues.receive(arn, 1, _TAKEN, POLL_SECONDS):
            queues.delete(arn, taken.receipt)
            task = orjson.loads(taken.body)
            return {"taskToken": task["token"], "input": task["input"]}
        return {}
