"""Every touch of moto itself, so its loosely typed internals (backends, models, URL tables) stay in one
module and the rest of the bridge sees plain dataclasses and tuples.

Requests are routed the way moto's own botocore stubber routes them under `mock_aws` (moto's most tested
path): the URL patterns of `moto.backend_index`, in order, pick candidate backends, and the first backend
whose `urls` match the full URL gets the request. We never enable that stubber, nor `responses`, so no
other botocore client in the process is intercepted.

moto keeps all state in module-level dicts, shared by every backend (STS reads IAM, CloudFormation drives
EC2, ...), so one process-wide lock, `MOTO_LOCK`, guards every call into it: a lock per service would not
be safe across those calls.
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import moto.backends as moto_backends
from moto import backend_index
from moto.core.base_backend import BackendDict
from moto.core.exceptions import ServiceException
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends
from moto.utilities.utils import get_partition
from werkzeug.exceptions import HTTPException

from trailbridge.services.identities import AssumedRole

MOTO_LOCK = threading.Lock()

Answer = tuple[int, dict[str, str], bytes]
Handler = Callable[[Any, str, Any], Any]
ALIASES = {"lambda": "awslambda", "neptune": "rds"}  # botocore names whose moto module is named otherwise


class Unimplemented(Exception):
    """moto has no handler for the request, or its handler says the operation is not implemented."""


def module_name(service: str) -> str:
    """moto's module for a botocore service name: `acm-pca` -> `acmpca`, `lambda` -> `awslambda`."""
    return ALIASES.get(service, service.replace("-", ""))


MOTO_BACKENDS = frozenset(name for name, _ in backend_index.backend_url_patterns)


@lru_cache(maxsize=4096)
def _backends_for(host_url: str) -> tuple[str, ...]:
    """moto's backends whose URL patterns match `https://<host>/`, in moto's order. Its patterns name
    hosts only (moto's own server matches them on the host alone), so one look-up serves every path."""
    return tuple(name for name, pattern in backend_index.backend_url_patterns if pattern.match(host_url))


@cache
def _routes(backend: str) -> tuple[tuple[re.Pattern[str], Handler], ...]:
    """The compiled URL routes of one moto backend, read from an instance as moto's stubber does."""
    backend_dict: Any = moto_backends.get_backend(backend)  # type: ignore[call-overload]
    if not isinstance(backend_dict, BackendDict):
        instance = backend_dict["global"]
    elif "us-east-1" in backend_dict[DEFAULT_ACCOUNT_ID]:
        instance = backend_dict[DEFAULT_ACCOUNT_ID]["us-east-1"]
    else:
        instance = backend_dict[DEFAULT_ACCOUNT_ID]["aws"]
    return tuple((re.compile(url), handler) for url, handler in instance.urls.items())


def _handler(url: str) -> Handler:
    scheme, _, rest = url.partition("://")
    for backend in _backends_for(f"{scheme}://{rest.split('/', 1)[0]}/"):
        for pattern, handler in _routes(backend):
            if pattern.match(url):
                return handler
    raise Unimplemented(url)


def dispatch(request: Any) -> Answer:
    """moto's answer to a prepared botocore request: status, headers, body. Call with `MOTO_LOCK` held.

    moto warns (UserWarning) when an error it raises is not in the service's model; that is a note on
    moto, not on the call, and where warnings are errors (our tests) it would turn the error into a fault,
    so moto runs with warnings ignored. `catch_warnings` swaps the process's filters, but under the lock
    no two of these overlap."""
    handler = _handler(request.url.split("?", 1)[0])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            status, headers, body = handler(request, request.url, request.headers)
    except HTTPException as exc:
        status, headers, body = exc.code, dict(exc.get_headers()), exc.get_body()
    except NotImplementedError as exc:
        raise Unimplemented(str(exc)) from exc
    if status == 404 and not body and request.method != "HEAD":
        raise Unimplemented(request.url)  # moto's answer when no action of the service matches
    return int(status), {str(k): str(v) for k, v in headers.items()}, _bytes(body)


def _bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    return str(body or "").encode()


@dataclass(frozen=True)
class Principal:
    """Who holds a long-term access key: an IAM user, or the account's root when moto's IAM has no user."""

    account: str
    user_name: str | None
    user_id: str | None
    arn: str


def _sts_backends() -> Iterator[Any]:
    for _, account in list(sts_backends.items()):
        yield from list(account.values())


def assumed_role(access_key: str) -> AssumedRole | None:
    """The AssumeRole session `access_key` belongs to. Call with `MOTO_LOCK` held."""
    for backend in _sts_backends():
        role = backend.get_assumed_role_from_access_key(access_key)
        if role is not None:
            return AssumedRole(
                role.account_id, role.role_arn, _role_id(role), role.session_name, role.access_key.create_date
            )
    return None


def _role_id(role: Any) -> str | None:
    try:
        return str(iam_backends[role.account_id][role.partition].get_role_by_arn(arn=role.role_arn).id)
    except ServiceException:  # moto's NoSuchEntity
        return None


def principal(access_key: str, account: str, region: str) -> Principal:
    """The IAM user of `access_key` in `account`, or the account's root. Call with `MOTO_LOCK` held."""
    partition = get_partition(region)
    user = iam_backends[account][partition].get_user_from_access_key_id(access_key)
    if user is None:
        return Principal(account, None, None, f"arn:{partition}:iam::{account}:root")
    return Principal(account, user.name, user.id, user.arn)


def new_temporary_key(account: str, region: str) -> tuple[str, str]:
    """A fresh ASIA key pair registered in moto's IAM of `account` (as AssumeRole registers its keys), so
    moto attributes later calls signed with it to that account. Call with `MOTO_LOCK` held."""
    key = iam_backends[account][get_partition(region)].create_temp_access_key()
    return key.access_key_id, key.secret_access_key
