"""The bridge: a parsed call of a service trailbridge does not serve itself, answered by moto's backends
in this process, per account and region. Its parts are in `trailbridge.services.moto`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from botocore.model import OperationModel

from trailbridge.services.base import ServiceError
from trailbridge.services.identities import Identity
from trailbridge.services.moto import backends, checks, wire
from trailbridge.services.moto.identity import ISSUED_KEYS, IssuedKeys

__all__ = ["Identity", "MotoBridge"]

log = logging.getLogger(__name__)


class MotoBridge:
    """Answers calls with moto. Safe from many threads: every call into moto holds moto's one process-wide
    lock (`backends.MOTO_LOCK`); serialising and parsing happen outside it. moto's state is global to the
    process, so every bridge shares it and the keys it issued (and shares moto's state with any `mock_aws`
    or moto server in the process)."""

    def __init__(self) -> None:
        self._keys = ISSUED_KEYS

    def serves(self, service: str) -> bool:
        """Whether moto has a backend for this botocore service name."""
        return wire.served(service)

    def call(
        self, operation: OperationModel, params: Mapping[str, Any], account: str, region: str, access_key: str
    ) -> dict[str, Any]:
        """The output shape's members as boto3 would return them (before boto3's client-side handlers, and
        without ResponseMetadata); moto's errors as ServiceError with moto's code, message and status, and
        AWS's where it checks what moto does not (`checks`)."""
        checks.check(operation, params)
        request = wire.request(operation, params, account, region, access_key)
        with backends.MOTO_LOCK:
            answer = self._dispatch(operation, request)
        result = wire.result(operation, answer)
        if operation.service_model.service_name == "sts" and operation.name in IssuedKeys.OPERATIONS:
            with backends.MOTO_LOCK:
                self._keys.amend(operation.name, result, access_key, account, region)
        return result

    @staticmethod
    def _dispatch(operation: OperationModel, request: Any) -> backends.Answer:
        service = operation.service_model.service_name
        try:
            return backends.dispatch(request)
        except backends.Unimplemented:
            message = f"{service} {operation.name} is not implemented by trailbridge's embedded moto."
            raise ServiceError("NotImplemented", message, 501) from None
        except Exception as exc:  # a bug in moto: answer it as AWS answers its own faults
            log.exception("moto failed on %s %s", service, operation.name)
            raise ServiceError("InternalFailure", f"moto failed: {type(exc).__name__}: {exc}", 500) from exc

    def identity(self, access_key: str) -> Identity | None:
        """The account and CloudTrail userIdentity of a temporary key moto's STS issued through this bridge;
        None for any other key. Takes no lock and touches no moto: cheap enough for the event loop."""
        return self._keys.get(access_key)
