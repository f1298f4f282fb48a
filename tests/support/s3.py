"""S3's service classes as the server calls them: `S3(engine, account).PutObject(Bucket=..., ...)` binds the
operation's handler as `Handler.bind` does (validation against botocore's model included) and calls it."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from trailbridge.services.base import Engine, ServiceError
from trailbridge.services.operations import handlers

OWNER = "111111111111"
OTHER = "222222222222"
_HANDLERS = handlers("s3")


class S3:
    def __init__(self, engine: Engine, account: str = OWNER, region: str = "us-east-1") -> None:
        self.engine, self.account, self.region = engine, account, region

    def __getattr__(self, operation: str) -> Callable[..., dict[str, Any]]:
        return _HANDLERS[operation].bind(self.engine, self.account, self.region)


def fails(call: Callable[..., Any], code: str, status: int, **params: Any) -> ServiceError:
    """The ServiceError `call(**params)` raises, once it has `code` and `status`."""
    with pytest.raises(ServiceError) as caught:
        call(**params)
    assert (caught.value.code, caught.value.status) == (code, status), caught.value
    return caught.value


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
