"""The registry of the services trailbridge serves itself: which method answers which AWS operation, collected
from the `@operation` marks on the service classes (the server dispatches by it, Step Functions' aws-sdk tasks
too), so adding an operation to a service makes it reachable over the wire with no other change."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trailbridge.services.base import Engine
from trailbridge.services.channels import AuditEventsService, ChannelsService
from trailbridge.services.cloudtrail import CloudTrailService
from trailbridge.services.destinations import DestinationsService
from trailbridge.services.events import EventsService
from trailbridge.services.lambda_functions import LAMBDA_CLASSES
from trailbridge.services.logs import LogsService
from trailbridge.services.permissions import PermissionsService
from trailbridge.services.s3 import S3_CLASSES
from trailbridge.services.sns import SNS_CLASSES
from trailbridge.services.sqs import QueuesService
from trailbridge.services.states import STATES_CLASSES
from trailbridge.services.trails import TrailsService

ServiceClass = Callable[[Engine, str, str], Any]

# botocore service name -> the classes whose marked methods implement its operations.
SERVICE_CLASSES: dict[str, tuple[ServiceClass, ...]] = {
    "events": (EventsService, DestinationsService, PermissionsService),
    "sqs": (QueuesService,),
    "logs": (LogsService,),
    "cloudtrail": (CloudTrailService, TrailsService, ChannelsService),
    "cloudtrail-data": (AuditEventsService,),
    "s3": S3_CLASSES,
    "sns": SNS_CLASSES,
    "lambda": LAMBDA_CLASSES,
    "stepfunctions": STATES_CLASSES,
}


@dataclass(frozen=True)
class Handler:
    factory: ServiceClass
    method: str

    def bind(self, engine: Engine, account: str, region: str) -> Callable[..., dict[str, Any]]:
        method: Callable[..., dict[str, Any]] = getattr(self.factory(engine, account, region), self.method)
        return method


def handlers(service: str) -> dict[str, Handler]:
    """Operation name -> handler, for one botocore service."""
    found: dict[str, Handler] = {}
    for cls in SERVICE_CLASSES[service]:
        for name, member in inspect.getmembers(cls, inspect.isfunction):
            operation = getattr(member, "aws_operation", None)
            if operation is not None and member.aws_service == service:  # type: ignore[attr-defined]
                found[operation] = Handler(cls, name)
    return found
