"""The Amazon States Language, pure: definitions, data flow, and an interpreter stepped one transition
at a time whose state is JSON (no storage, no clock, no network: the service drives it)."""

from trailbridge.states.definition import validate
from trailbridge.states.engine import Execution, Step
from trailbridge.states.errors import InvalidDefinition, StatesError
from trailbridge.states.tasks import ScriptedInvoker, TaskFailed, TaskInvoker, TaskPending, TaskRequest, TaskSucceeded

__all__ = [
    "Execution",
    "InvalidDefinition",
    "ScriptedInvoker",
    "StatesError",
    "Step",
    "TaskFailed",
    "TaskInvoker",
    "TaskPending",
    "TaskRequest",
    "TaskSucceeded",
    "validate",
]
