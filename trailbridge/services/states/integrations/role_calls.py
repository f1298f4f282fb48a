"""Calls a service principal makes as a role's session, as the API would make them, each a CloudTrail record."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.model import OperationModel

from trailbridge.aws.validate import ModelValidationError, service_model, validate
from trailbridge.services.base import Engine, ServiceError
from trailbridge.services.codes import validation_code
from trailbridge.services.identities import AssumedRole, assumed_role_identity, stable_id
from trailbridge.trail.record import ApiCall, Caller, cloudtrail_record, is_management, is_read_only

if TYPE_CHECKING:
    from trailbridge.services.moto_bridge import MotoBridge
    from trailbridge.services.operations import Handler


class RoleCalls:
    """Calls a service principal (`invoked_by`: Step Functions, EventBridge) makes as a role's session: through
    trailbridge's own service objects (as the API calls them) or the embedded moto, in the role's account and
    the given region, each a CloudTrail record of the session (`invokedBy` the principal), as AWS writes them.
    Data events (Publish, SendMessage, PutEvents, Invoke) are not recorded: whether a trail selects them is
    known to the server's forwarder, which the engine does not carry."""

    def __init__(self, engine: Engine, account: str, region: str, role_arn: str, session: str, invoked_by: str) -> None:
        self.engine, self.account, self.region, self.invoked_by = engine, account, region, invoked_by
        key = stable_id("ASIA", f"{role_arn}/{session}")[:20]
        created = datetime.fromtimestamp(engine.clock.now(), UTC)
        role = AssumedRole(account, role_arn, None, session, created)
        self._identity = {**assumed_role_identity(role, key).user_identity, "invokedBy": invoked_by}

    def call(self, service: str, operation: str, params: Mapping[str, Any], request_id: str) -> dict[str, Any]:
        """The operation as the role calls it; ServiceError as the API would answer it. As in the API, a
        change of trailbridge's own services is committed with its record, in one transaction."""
        model = service_model(service).operation_model(operation)
        handler = own_handlers(service).get(operation)
        together = handler is not None and is_management(service, operation) and not is_read_only(operation, service)
        try:
            if together:
                result: dict[str, Any] = self.engine.store.combined(lambda: self._change(model, params, request_id))
                self.engine.recorder.deliver_soon()
                return result
            result = self._dispatch(model, params)
        except ServiceError as exc:
            self._record(model, params, None, exc, request_id)
            raise
        self._record(model, params, result, None, request_id)
        return result

    def _change(self, model: OperationModel, params: Mapping[str, Any], request_id: str) -> dict[str, Any]:
        result = self._dispatch(model, params)
        self.engine.recorder.write_with_change([self._record_of(model, params, result, None, request_id)])
        return result

    def _dispatch(self, model: OperationModel, params: Mapping[str, Any]) -> dict[str, Any]:
        service = model.service_model.service_name
        handler = own_handlers(service).get(model.name)
        if handler is not None:
            return handler.bind(self.engine, self.account, self.region)(**params)
        if own_handlers(service) or not bridge().serves(service):
            raise ServiceError("NotImplemented", f"trailbridge does not implement {service} {model.name}.", 501)
        try:
            validate(model, params)
        except ModelValidationError as exc:
            raise ServiceError(validation_code(model.metadata["protocol"]), exc.message) from exc
        return bridge().call(model, params, self.account, self.region, self._identity["accessKeyId"])

    def _record(
        self,
        model: OperationModel,
        params: Mapping[str, Any],
        result: Mapping[str, Any] | None,
        error: ServiceError | None,
        request_id: str,
    ) -> None:
        if is_management(model.service_model.service_name, model.name):
            self.engine.recorder.record(*self._record_of(model, params, result, error, request_id))

    def _record_of(
        self,
        model: OperationModel,
        params: Mapping[str, Any],
        result: Mapping[str, Any] | None,
        error: ServiceError | None,
        request_id: str,
    ) -> tuple[float, dict[str, Any]]:
        now = self.engine.clock.now()
        call = ApiCall(
            service=model.service_model.service_name,
            operation=model,
            params=params,
            response=result,
            error_code=error.code if error else None,
            error_message=error.message if error else None,
            caller=Caller(self.account, self._identity["accessKeyId"], None, self._identity),
            region=self.region,
            source_ip=self.invoked_by,
            user_agent=self.invoked_by,
            request_id=request_id,
            event_id=self.engine.new_id(),
            time=now,
            host="",
            tls=None,
        )
        return now, cloudtrail_record(call)


@functools.cache
def own_handlers(service: str) -> Mapping[str, Handler]:
    """The operations of a service trailbridge serves itself, by name (none for the others). The registry is
    `services/operations.py`: imported here, when first needed, because it imports every service
    (this one included), so that the API and the integrations reach the same operations."""
    from trailbridge.services.operations import SERVICE_CLASSES, handlers  # noqa: PLC0415 (see above)

    return handlers(service) if service in SERVICE_CLASSES else {}


@functools.cache
def bridge() -> MotoBridge:
    """The embedded moto, loaded when a task first calls a service trailbridge does not serve itself (loading
    moto takes a few hundred milliseconds; moto's state is the process's, shared by every bridge)."""
    from trailbridge.services.moto_bridge import MotoBridge  # noqa: PLC0415 (see above)

    return MotoBridge()
