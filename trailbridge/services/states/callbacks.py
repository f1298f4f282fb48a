"""SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat: a waiting task answered by its token.

A token that is not one Step Functions made is InvalidToken; one whose task no longer waits (answered, timed
out, its execution over) is TaskTimedOut, as AWS answers both. A valid answer is acknowledged once committed
(with the call's CloudTrail record) as a request of the execution, which its driver applies at its next step:
the call never waits for the driver (`calls`)."""

from __future__ import annotations

import re
from typing import Any

import orjson

from trailbridge.services.states import calls
from trailbridge.services.states.common import StatesParts, allow, error, states_operation
from trailbridge.states import TaskFailed, TaskSucceeded

_TOKEN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


class CallbacksService(StatesParts):
    def _waiting(self, token: str) -> None:
        """Refuse a token that is not one of ours, or whose execution the caller may not answer."""
        if not _TOKEN.fullmatch(token):
            raise error("InvalidToken", "Invalid Token: 'Invalid token'")
        arn = self.executions.token(token)
        if arn is None:
            raise _gone()
        allow(self.account, "states:SendTaskSuccess", arn)

    @states_operation("SendTaskSuccess")
    def send_task_success(self, **params: Any) -> dict[str, Any]:
        token, text = params["taskToken"], params["output"]
        self._waiting(token)
        if len(text.encode()) > calls.MAX_PAYLOAD:
            raise error("InvalidOutput", "Invalid Output: 'Output exceeds 262144 bytes'")
        try:
            output = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise error("InvalidOutput", f"Invalid Output: '{exc}'") from None
        if not calls.answer_task(self.engine, token, TaskSucceeded(output)):
            raise _gone()
        return {}

    @states_operation("SendTaskFailure")
    def send_task_failure(self, **params: Any) -> dict[str, Any]:
        token = params["taskToken"]
        self._waiting(token)
        failed = TaskFailed(params.get("error"), params.get("cause"))
        if not calls.answer_task(self.engine, token, failed):
            raise _gone()
        return {}

    @states_operation("SendTaskHeartbeat")
    def send_task_heartbeat(self, **params: Any) -> dict[str, Any]:
        token = params["taskToken"]
        self._waiting(token)
        if not calls.heartbeat(self.engine, token):
            raise _gone()
        return {}


def _gone() -> Exception:
    return error("TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'")
