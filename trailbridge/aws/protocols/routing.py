"""Which service, and which of its protocols, a request speaks: one port serves every AWS service.

AWS clients say it in several ways, and one of them is always there:
- `X-Amz-Target: <targetPrefix>.<Operation>`: the JSON protocols;
- `smithy-protocol: rpc-v2-cbor` and `POST /service/<ServiceName>/operation/<Operation>`: CBOR;
- `Action=...&Version=...` in the query string or a form-encoded body: the query and EC2 protocols;
- otherwise a REST call, named by the method and path, of the service the SigV4 credential scope names.

The index of services is read from the head of botocore's model files (their `metadata` comes first), so
that routing does not load 400 models: a model is loaded once a request names its service.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import botocore.session
import orjson

from trailbridge.aws.protocols import HttpRequest, protocol_named
from trailbridge.aws.validate import service_model

_FORM = "application/x-www-form-urlencoded"
_CBOR_PATH = re.compile(r"/service/([^/]+)/operation/([^/]+)/?")
_HEAD_BYTES = 16_384  # botocore's model files start with their metadata; it fits in far less
UNSIGNED_REST_SERVICE = "s3"  # a REST call without a credential scope (`--no-sign-request`) is taken for S3's
_ROUTES_KEPT = 4096  # routes kept by what a request names (bounded: what clients send is bounded by nothing else)


@dataclass(frozen=True, slots=True)
class Listed:
    """A service as the index knows it, from its model's metadata."""

    name: str  # botocore's name: ec2, s3, monitoring is "cloudwatch"
    protocols: tuple[str, ...]
    signing_name: str  # the service a SigV4 credential scope names
    target_prefix: str | None
    api_version: str


@dataclass(frozen=True, slots=True)
class Route:
    service: str  # botocore's name
    protocol: str  # the protocol the request speaks


class UnknownServiceError(ValueError):
    """A request that names no service botocore knows, or names several it cannot tell apart."""


def route(request: HttpRequest, scope_service: str | None) -> Route:
    """The service and protocol of `request`; `scope_service` is the service its SigV4 credential scope names
    (None for an unsigned request). `UnknownServiceError` when no service fits."""
    headers = request.headers
    target = headers.get("x-amz-target")
    if target:
        prefix, _, operation = target.rpartition(".")
        return _one(_by_prefix(prefix, operation, "json", scope_service), f"X-Amz-Target {target!r}")
    cbor = _CBOR_PATH.fullmatch(request.path)
    if cbor and (headers.get("smithy-protocol") == "rpc-v2-cbor" or headers.get("content-type") == "application/cbor"):
        return _one(
            _by_prefix(cbor.group(1), cbor.group(2), "smithy-rpc-v2-cbor", scope_service),
            f"CBOR service {cbor.group(1)!r}",
        )
    action = _query_action(request)
    if action is not None:
        return _one(_by_action(*action, scope_service), f"Action {action[0]!r}")
    return _rest(request, scope_service)


def _one(routes: tuple[Route, ...], what: str) -> Route:
    if not routes:
        raise UnknownServiceError(f"No AWS service trailbridge knows answers {what}.")
    return routes[0]


def _preferred(listed: list[Listed], scope_service: str | None, operation: str) -> list[Listed]:
    """Of services that could answer, those the credential scope names and that have the operation; the
    service named as it is signed first (docdb and neptune are signed as rds and speak its API version: on
    AWS they are one endpoint, RDS's)."""
    if len(listed) > 1 and scope_service:
        listed = [s for s in listed if s.signing_name == scope_service] or listed
    if len(listed) > 1:
        listed = [s for s in listed if operation in service_model(s.name).operation_names] or listed
    return sorted(listed, key=lambda s: s.name != s.signing_name)


@lru_cache(maxsize=_ROUTES_KEPT)
def _by_prefix(prefix: str, operation: str, protocol: str, scope_service: str | None) -> tuple[Route, ...]:
    """The services of a JSON or CBOR request's target prefix (answers are kept: every request asks, and the
    index is every service botocore has)."""
    listed = [s for s in index() if s.target_prefix == prefix and protocol in s.protocols]
    return tuple(Route(s.name, protocol) for s in _preferred(listed, scope_service, operation))


def _query_action(request: HttpRequest) -> tuple[str, str | None] | None:
    """(Action, Version) of a query-protocol request, or None when it is none."""
    pairs = list(request.query)
    if request.body and request.headers.get("content-type", "").split(";")[0].strip() == _FORM:
        pairs += request.body_pairs
    given = dict(pairs)
    action = given.get("Action")
    return (action, given.get("Version")) if action else None


@lru_cache(maxsize=_ROUTES_KEPT)
def _by_action(action: str, version: str | None, scope_service: str | None) -> tuple[Route, ...]:
    """The query or EC2 services with the operation `action`, narrowed by the API version and credential
    scope given (answers kept, as `_by_prefix`'s)."""
    listed = [s for s in index() if {"query", "ec2"} & set(s.protocols)]
    if version:
        listed = [s for s in listed if s.api_version == version] or listed
    found = [s for s in _preferred(listed, scope_service, action) if action in service_model(s.name).operation_names]
    return tuple(Route(s.name, "ec2" if "ec2" in s.protocols else "query") for s in found)


def _rest(request: HttpRequest, scope_service: str | None) -> Route:
    """The REST service whose operations match the method and path; of several, the one whose matching
    operation's path is the most specific (s3control's `/v20180820/...` before S3's `/{Bucket}`)."""
    name = scope_service or UNSIGNED_REST_SERVICE
    candidates = [s for s in index() if s.signing_name == name and {"rest-json", "rest-xml"} & set(s.protocols)]
    best: tuple[int, Route] | None = None
    for listed in candidates:
        protocol = "rest-json" if "rest-json" in listed.protocols else "rest-xml"
        model = service_model(listed.name)
        operation = protocol_named(protocol).operation_name(model, request)
        if operation is None:
            continue
        uri = str(model.operation_model(operation).http.get("requestUri", "/"))
        literal = len(uri.split("{", 1)[0])
        if best is None or literal > best[0]:
            best = (literal, Route(listed.name, protocol))
    if best is None:
        raise UnknownServiceError(
            f"No operation of {name} answers {request.method} {request.path}."
            if candidates
            else f"No AWS service trailbridge knows is signed as {name!r}."
        )
    return best[1]


@cache
def index() -> tuple[Listed, ...]:
    """Every service of botocore's latest models."""
    loader = botocore.session.get_session().get_component("data_loader")
    found = []
    for name in sorted(loader.list_available_services("service-2")):
        version = loader.determine_latest_version(name, "service-2")
        metadata = _metadata(name, version, loader.search_paths)
        protocols = tuple(metadata.get("protocols") or [metadata["protocol"]])
        found.append(
            Listed(
                name,
                protocols,
                str(metadata.get("signingName") or metadata["endpointPrefix"]),
                metadata.get("targetPrefix"),
                str(metadata.get("apiVersion", "")),
            )
        )
    return tuple(found)


def _metadata(name: str, version: str, search_paths: list[str]) -> dict[str, Any]:
    """The model's `metadata` object, parsed from the head of its file (the whole model only if needed)."""
    for path in _model_files(name, version, search_paths):
        with gzip.open(path) if path.suffix == ".gz" else path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
        start = head.find(b'"metadata"')
        end = head.find(b"}", start)  # the metadata holds no object, only strings and lists
        if start >= 0 and end > start:
            try:
                document = orjson.loads(b"{" + head[start : end + 1] + b"}")
                return dict(document["metadata"])
            except orjson.JSONDecodeError:
                break
    return dict(service_model(name).metadata)


def _model_files(name: str, version: str, search_paths: list[str]) -> Iterator[Path]:
    for root in search_paths:
        for file in ("service-2.json", "service-2.json.gz"):
            path = Path(root) / name / version / file
            if path.is_file():
                yield path
