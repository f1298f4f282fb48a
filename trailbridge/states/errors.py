"""Errors of the States Language: what a state raises, and what a definition is refused with.

`StatesError` is an ASL error (its `error` is the name `Retry`/`Catch` match, e.g. `States.Runtime`);
`InvalidDefinition` is the refusal of a definition, worded as AWS words `InvalidDefinition`.
"""

from __future__ import annotations

from trailbridge.errors import TrailbridgeError

# ASL's predefined error names (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html)
ALL = "States.ALL"
RUNTIME = "States.Runtime"
TASK_FAILED = "States.TaskFailed"
TIMEOUT = "States.Timeout"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
INTRINSIC_FAILURE = "States.IntrinsicFailure"
QUERY_EVALUATION = "States.QueryEvaluationError"
EXCEEDED_TOLERATED_FAILURE = "States.ExceedToleratedFailureThreshold"

# States.ALL matches every error except these (AWS: "States.ALL ... doesn't catch ... States.Runtime").
UNCATCHABLE = frozenset({RUNTIME, DATA_LIMIT_EXCEEDED})


class StatesError(TrailbridgeError):
    """An error raised while a state runs: `error` and `cause` as the history and `Catch` see them."""

    def __init__(self, error: str, cause: str | None = None, *, located: bool = False) -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause
        self.located = located  # the cause already names the state it happened in


class TaskTimedOut(StatesError):
    """A task's TimeoutSeconds or HeartbeatSeconds passed: no cause in the history or the execution's failure, and
    `"Cause": ""` in the error output a Catch gives on (as AWS recorded it)."""


class InvalidDefinition(TrailbridgeError):
    """A definition AWS would refuse: `message` is AWS's text ("SCHEMA_VALIDATION_FAILED: ... at /States/X")."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def runtime(cause: str) -> StatesError:
    return StatesError(RUNTIME, cause)


def intrinsic(cause: str) -> StatesError:
    return StatesError(INTRINSIC_FAILURE, cause)
