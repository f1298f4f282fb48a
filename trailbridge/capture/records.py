"""A request to the user's own web service as a CloudTrail record.

The middlewares gather the facts of a request cheaply while it runs (`Facts`); the record is built from them
later, in the sink's thread, so the request pays for little more than a queue append.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

import orjson

from trailbridge.clock import iso8601
from trailbridge.domain.ids import fast_uuid4
from trailbridge.trail.record import EARLIEST, HIDDEN, LATEST, Call, check_record, envelope

log = logging.getLogger("trailbridge.capture")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Keys whose values never reach a record (compared in lower case, without `-` and `_`).
DEFAULT_REDACT = frozenset(
    {"password", "passwd", "secret", "token", "accesstoken", "refreshtoken", "apikey", "authorization", "cookie"}
    | {"clientsecret", "privatekey", "creditcard", "cardnumber", "cvv", "ssn"}
)
DEFAULT_MAX_BODY_BYTES = 64 * 1024
_AUTHORIZATION = frozenset({"authorization"})
_RECORD_HEADERS = frozenset({"authorization", "user-agent", "x-request-id"})


@functools.lru_cache(maxsize=64)
def _encoded(names: frozenset[str]) -> frozenset[bytes]:
    return frozenset(name.encode("latin-1") for name in names)


@dataclass(slots=True)
class CapturedRequest:
    """What a request was, for the record and for the user's identity callable (`identity=`)."""

    method: str
    path: str
    query: str
    raw_headers: Iterable[tuple[str | bytes, str | bytes]]  # as the server gave them (ASGI: bytes)
    client: str | None
    route: str | None = None  # the path template, e.g. /orders/{order_id}
    handler: str | None = None  # the handler function's name
    path_params: Mapping[str, Any] = field(default_factory=dict)
    _headers: dict[str, str] | None = None

    def pick(self, wanted: frozenset[str]) -> dict[str, str]:
        """Only the headers named (in lower case): cheaper than `headers` when few are needed."""
        if self._headers is not None:
            return {k: v for k, v in self._headers.items() if k in wanted}
        found: dict[str, str] = {}
        as_bytes = _encoded(wanted)
        for raw_name, raw_value in self.raw_headers:
            if isinstance(raw_name, bytes):  # ASGI: names are lower case already
                if raw_name in as_bytes and (name := raw_name.decode("latin-1")) not in found:
                    found[name] = raw_value.decode("latin-1") if isinstance(raw_value, bytes) else raw_value
            elif (name := raw_name.lower()) in wanted and name not in found:
                found[name] = raw_value.decode("latin-1") if isinstance(raw_value, bytes) else raw_value
        return found

    @property
    def headers(self) -> dict[str, str]:
        """Header names in lower case (repeated headers joined with `, `)."""
        if self._headers is None:
            joined: dict[str, str] = {}
            for raw_name, raw_value in self.raw_headers:
                name = raw_name.decode("latin-1") if isinstance(raw_name, bytes) else raw_name
                value = raw_value.decode("latin-1") if isinstance(raw_value, bytes) else raw_value
                key = name.lower()
                joined[key] = f"{joined[key]}, {value}" if key in joined else value
            self._headers = joined
        return self._headers


@dataclass(slots=True)
class Facts:
    """One finished request: everything its record is built from."""

    request: CapturedRequest
    started: float
    status: int
    body: bytes | None  # the request body, when it is JSON and within the size limit
    response: bytes | None  # the response body of a write, when it is JSON and within the size limit
    error: BaseException | None
    identity: Mapping[str, Any] | None  # from the user's callable, if any


@dataclass(frozen=True)
class RecordOptions:
    """How requests become records (the middlewares' keyword arguments)."""

    event_source: str  # e.g. orders.example.com
    event_names: Mapping[str, str] = field(default_factory=dict)  # handler name or "METHOD /template" -> eventName
    redact: frozenset[str] = DEFAULT_REDACT
    proxy_header: str | None = None  # e.g. x-forwarded-for, set by a proxy you trust; never read otherwise
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    identity: Callable[[CapturedRequest], Mapping[str, Any] | None] | None = None

    def __post_init__(self) -> None:
        if not self.event_source or not isinstance(self.event_source, str):
            raise ValueError("event_source must name your service, e.g. orders.example.com")
        if self.max_body_bytes < 0:
            raise ValueError("max_body_bytes must be 0 or more")
        object.__setattr__(self, "redact", frozenset(_norm(key) for key in self.redact))
        if self.proxy_header:
            object.__setattr__(self, "proxy_header", self.proxy_header.lower())

    @property
    def wanted_headers(self) -> frozenset[str]:
        """The headers a record reads."""
        return _RECORD_HEADERS | {self.proxy_header} if self.proxy_header else _RECORD_HEADERS


def call_identity(options: RecordOptions, request: CapturedRequest) -> Mapping[str, Any] | None:
    """The user's identity callable's answer; a callable that fails gives the default identity (and a log line)
    rather than failing the request."""
    if options.identity is None:
        return None
    try:
        return options.identity(request)
    except Exception:
        log.exception("the identity callable failed; using the Authorization header")
        return None


def _norm(key: str) -> str:
    return key.lower().replace("-", "").replace("_", "")


@functools.lru_cache(maxsize=4096)
def camel(name: str) -> str:
    """`delete_order` -> `DeleteOrder` (a handler's name as an eventName)."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[_\W]+", name) if part)


def event_name(request: CapturedRequest, names: Mapping[str, str]) -> str:
    template = request.route or request.path
    if names:
        for key in (request.handler, f"{request.method} {template}"):
            if key and key in names:
                return names[key]
    if request.handler and request.handler != "<lambda>":
        return camel(request.handler)
    return f"{request.method} {template}"


@functools.lru_cache(maxsize=8)
def _event_time(second: int) -> str:
    return iso8601(second)


def redact(value: Any, keys: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: HIDDEN if _norm(str(k)) in keys else redact(v, keys) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item, keys) for item in value]
    return value


def default_identity(request: CapturedRequest) -> dict[str, Any]:
    """Who called, from the Authorization header, never keeping the secret: the user of Basic auth, the
    subject of a bearer JWT (its claims are read, not verified), an AWS access key id, else a fingerprint of
    an opaque token. No header: an anonymous caller."""
    return identity_from_authorization(request.pick(_AUTHORIZATION).get("authorization", ""))


def identity_from_authorization(header: str) -> dict[str, Any]:
    if not header:
        return {"type": "Anonymous", "principalId": "anonymous"}
    scheme, _, credentials = header.partition(" ")
    scheme, credentials = scheme.lower(), credentials.strip()
    if scheme == "basic":
        try:
            user = base64.b64decode(credentials, validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            user = ""
        if user:
            return {"type": "BasicAuth", "principalId": user, "userName": user}
    if scheme == "bearer" and credentials:
        claims = _jwt_claims(credentials)
        subject = claims.get("sub")
        if isinstance(subject, str) and subject:
            who: dict[str, Any] = {"type": "JWT", "principalId": subject}
            name = claims.get("preferred_username") or claims.get("email") or claims.get("username")
            if isinstance(name, str):
                who["userName"] = name
            if isinstance(claims.get("iss"), str):
                who["issuer"] = claims["iss"]
            return who
        return {"type": "BearerToken", "principalId": "token-" + hashlib.sha256(credentials.encode()).hexdigest()[:16]}
    if scheme == "aws4-hmac-sha256":
        found = re.search(r"Credential=([A-Z0-9]+)/", credentials)
        if found:
            return {"type": "IAMUser", "principalId": found.group(1), "accessKeyId": found.group(1)}
    if header:
        return {"type": "Unknown", "principalId": hashlib.sha256(header.encode()).hexdigest()[:16]}
    return {"type": "Anonymous", "principalId": "anonymous"}


def _jwt_claims(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def source_ip(request: CapturedRequest, forwarded: str | None) -> str:
    """The client's address; with a trusted proxy's header (`forwarded`), the last address it appended."""
    if forwarded:
        return forwarded.rsplit(",", 1)[-1].strip()
    return request.client or ""


def _error(facts: Facts) -> tuple[str, str] | None:
    if facts.error is not None:
        return type(facts.error).__name__, str(facts.error)[:1024]
    if facts.status < 400:
        return None
    try:
        phrase = HTTPStatus(facts.status).phrase
    except ValueError:
        phrase = f"HTTP {facts.status}"
    message = phrase
    if facts.response:
        detail = _json_object(facts.response)
        said = (detail or {}).get("message") or (detail or {}).get("detail") or (detail or {}).get("error")
        if isinstance(said, str):
            message = said
    return re.sub(r"[^A-Za-z0-9]", "", phrase.title()), message[:1024]


def _json_object(data: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def summarize(facts: Facts, options: RecordOptions) -> dict[str, Any]:
    """What a record needs of a request, redacted and small (JSON-safe): made in the request's thread, where
    the options and the secrets are; `expand` makes the record from it, in the sink or the server."""
    request = facts.request
    seen = request.pick(options.wanted_headers)
    parameters: dict[str, Any] | None = dict(request.path_params) if request.path_params else None
    if request.query:
        parameters = parameters or {}
        for key, value in parse_qsl(request.query, keep_blank_values=True):
            previous = parameters.get(key)
            parameters[key] = (
                value if previous is None else [*(previous if isinstance(previous, list) else [previous]), value]
            )
    body = _json_object(facts.body) if facts.body else None
    if body:
        parameters = {**(parameters or {}), **body}
    # The default identity holds nothing secret; the user's callable may return anything.
    if facts.identity:
        identity = redact(dict(facts.identity), options.redact)
    else:
        identity = identity_from_authorization(seen.get("authorization", ""))
    failure = _error(facts) if facts.error is not None or facts.status >= 400 else None
    read_only = request.method in READ_METHODS
    answer = _json_object(facts.response) if facts.response and failure is None and not read_only else None
    forwarded = seen.get(options.proxy_header) if options.proxy_header else None
    return {
        "time": facts.started,
        "source": options.event_source,
        "name": event_name(request, options.event_names),
        "method": request.method,
        "path": request.path,
        "status": facts.status,
        "ip": source_ip(request, forwarded),
        "agent": seen.get("user-agent", ""),
        "requestId": seen.get("x-request-id"),
        "identity": identity,
        "error": failure,
        "parameters": redact(parameters, options.redact) if parameters else None,
        "answer": redact(answer, options.redact) if answer else None,
    }


def _epoch_seconds(value: object) -> float:
    """A summary's `time`: epoch seconds (a number, or its text) within `check_record`'s bounds."""
    seconds = float("nan")
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        with contextlib.suppress(ValueError):
            seconds = float(value)
    if not EARLIEST <= seconds <= LATEST:  # NaN (and so anything not a number) fails both
        raise ValueError(f"time {str(value)[:64]!r} is not epoch seconds between 1970 and 9999")
    return seconds


def expand(summary: dict[str, Any], account: str, region: str) -> tuple[float, dict[str, Any]]:
    """(event time, CloudTrail record) of a `summarize` result; ValueError if it is not one (a `time` that is
    not epoch seconds within `check_record`'s bounds, an identity that is not an object, ...). The record passes
    `check_record`, as every record does at the edge."""
    try:
        started, method = _epoch_seconds(summary["time"]), str(summary["method"])
        if not isinstance(summary["identity"], dict):
            raise ValueError("identity must be a JSON object")
        identity = dict(summary["identity"])
        identity.setdefault("accountId", account)
        failure = summary["error"]
        if failure and (not isinstance(failure, list | tuple) or len(failure) != 2):
            raise ValueError("error must be [code, message]")
        request_id = summary["requestId"]
        if request_id is not None and not isinstance(request_id, str):
            raise ValueError("requestId must be a string")
        call = Call(
            identity=identity,
            time=_event_time(int(started)),
            source=str(summary["source"]),
            name=str(summary["name"]),
            region=region,
            source_ip=str(summary["ip"]),
            user_agent=str(summary["agent"]),
            account=account,
            request_id=request_id or fast_uuid4(),
            event_id=fast_uuid4(),
            read_only=method in READ_METHODS,
            request=summary["parameters"],
            response=summary["answer"],
            error=(str(failure[0]), str(failure[1])) if failure else None,
        )
        additional = {"httpMethod": method, "path": str(summary["path"]), "status": summary["status"]}
        record = envelope(call, additionalEventData=additional)
    except (KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
        raise ValueError(f"not a captured request: {exc}") from None
    checked = check_record(record)[1]
    return started, checked
