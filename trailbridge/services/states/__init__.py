"""AWS Step Functions (json protocol, botocore's `stepfunctions`), trailbridge's own: state machines, durable
executions of the Amazon States Language (`trailbridge.states`), their history, task tokens and tags. One
class per concern; the server finds their operations by the `@operation` marks.

State: state machines are documents on the `Resources` port (`sfn-state-machine`, by name in their account and
region); executions, their history, task tokens and the definitions they run are on the `Executions` port.
The driver (`driver.py`) steps executions on a thread of the server, one committed transition at a time.

Where trailbridge differs from AWS, on purpose or for now:

- EXPRESS executions (`...:express:...` ARNs, through StartExecution or StartSyncExecution) are stepped as
  durably as STANDARD ones and send no status-change events; ListExecutions refuses EXPRESS machines, and
  DescribeExecution and GetExecutionHistory their ARNs (InvalidArn), as in AWS, which keeps their history
  in CloudWatch Logs only (trailbridge writes none). No state machine versions or aliases, no Map runs, no
  redrive; logging and tracing configurations are kept, not acted on.
- A task resource is answered by `tasks.TaskRouter`: `states:startExecution` and activities here, the other
  services through `integrations.tasks_for`; a resource neither serves fails the task (States.TaskFailed).
- StartExecution of a `.sync` child does not stop the child when its parent is stopped.
"""

from __future__ import annotations

from trailbridge.services.states.activities import ActivitiesService
from trailbridge.services.states.callbacks import CallbacksService
from trailbridge.services.states.executions import ExecutionsService
from trailbridge.services.states.machines import MachinesService
from trailbridge.services.states.tags import TagsService
from trailbridge.services.states.test_state import TestStateService

STATES_CLASSES = (
    MachinesService,
    ExecutionsService,
    CallbacksService,
    TagsService,
    ActivitiesService,
    TestStateService,
)

__all__ = [
    "STATES_CLASSES",
    "ActivitiesService",
    "CallbacksService",
    "ExecutionsService",
    "MachinesService",
    "TagsService",
    "TestStateService",
]
