"""What rest-json and rest-xml share: routing by method and `requestUri`, and the members bound to the URI,
the query string, headers and the status code, driven by botocore's models.

An operation's `requestUri` is a path template (`/{Bucket}/{Key+}`: `{Name}` takes one path segment,
`{Name+}` the rest of the path) optionally followed by literal query keys (`?list-type=2`, `?uploads`).
Several operations can share a template (S3's `PUT /{Bucket}/{Key+}` is PutObject, CopyObject, UploadPart
and UploadPartCopy), so a request goes to the most specific match: literal path first, then literal query
keys, then the operation whose required query and header members the request carries. Members bound to
`location`s are read and written here; the body (members without a location, or the `payload` member when
it is a structure) is left to the protocol's codec, passed in as a function.

Paths are taken as sent, percent-encoded: labels are decoded after matching, so an encoded `/` stays
inside a `{Name}` label.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, unquote

from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from trailbridge.aws.protocols import HttpAnswer, HttpRequest

BodyReader = Callable[[StructureShape, bytes], dict[str, Any] | None]  # None: not a body it reads
BodyWriter = Callable[[StructureShape, Mapping[str, Any], str], bytes]

LOCATIONS = frozenset({"uri", "querystring", "header", "headers", "statusCode"})
_LABEL = re.compile(r"\{([^}]+?)(\+?)\}")


@dataclass(frozen=True)
class _Route:
    """One operation's template, compiled."""

    name: str
    method: str
    path: re.Pattern[str]
    labels: tuple[str, ...]  # label names, in the order of the pattern's groups
    literals: tuple[tuple[str, str], ...]  # query pairs the template fixes ("" = the key alone)
    literal_chars: int  # how much of the path is literal: more is more specific
    required: frozenset[str]  # `?key` and `:header` names of required query and header members
    known: frozenset[str]  # the same for every query and header member
    deprecated: bool


@lru_cache(maxsize=16384)  # every REST operation botocore has, yet bounded against models built afresh
def _route(operation: OperationModel) -> _Route:
    path_template, _, query_template = str(operation.http.get("requestUri", "/")).partition("?")
    pattern, labels, literal_chars = _compile(path_template, "([^/]+)")
    if not path_template.endswith("/"):  # `/bucket/` is `/{Bucket}`, as S3 takes it
        pattern = re.compile(pattern.pattern + "/?")
    shape = operation.input_shape
    wire = _wire_names(shape)
    return _Route(
        name=operation.name,
        method=str(operation.http.get("method", "POST")).upper(),
        path=pattern,
        labels=labels,
        literals=tuple(parse_qsl(query_template, keep_blank_values=True)),
        literal_chars=literal_chars,
        required=frozenset(wire[name] for name in (shape.required_members if shape else ()) if name in wire),
        known=frozenset(wire.values()),
        deprecated=bool(operation.deprecated),
    )


def _compile(template: str, label: str) -> tuple[re.Pattern[str], tuple[str, ...], int]:
    """The template as a pattern (`{Name}` as `label`, `{Name+}` as the rest), its label names, and how many
    of its characters are literal."""
    pattern, labels, position, literal_chars = "", [], 0, 0
    for found in _LABEL.finditer(template):
        literal = template[position : found.start()]
        pattern += re.escape(literal) + ("(.+)" if found.group(2) else label)
        labels.append(found.group(1))
        literal_chars += len(literal)
        position = found.end()
    pattern += re.escape(template[position:])
    return re.compile(pattern), tuple(labels), literal_chars + len(template) - position


def _wire_names(shape: StructureShape | None) -> dict[str, str]:
    """Member name -> `?key` or `:header` for the input's single-valued query and header members."""
    names: dict[str, str] = {}
    for name, member in shape.members.items() if shape is not None else ():
        location = member.serialization.get("location")
        if location == "querystring" and not isinstance(member, MapShape):
            names[name] = "?" + _name(member, name)
        elif location == "header":
            names[name] = ":" + _name(member, name).lower()
    return names


def _name(shape: Shape, default: str) -> str:
    return str(shape.serialization.get("name") or default)


def _prefix(member: Shape, name: str) -> str:
    """A `headers` map's prefix, which may be empty (every header is the map's)."""
    return str(member.serialization.get("name", name))


@lru_cache(maxsize=512)
def _routes(service: ServiceModel) -> dict[str, tuple[_Route, ...]]:
    """The service's routes by method."""
    routes: dict[str, list[_Route]] = {}
    for name in service.operation_names:
        route = _route(service.operation_model(name))
        routes.setdefault(route.method, []).append(route)
    return {method: tuple(group) for method, group in routes.items()}


def operation_name(service: ServiceModel, request: HttpRequest) -> str | None:
    """The most specific operation whose method, path and literal query keys the request matches."""
    query = dict(request.query)
    carried = {"?" + key for key in query} | {":" + key.lower() for key in request.headers}
    best: tuple[tuple[int, ...], str] | None = None
    for route in _routes(service).get(request.method.upper(), ()):
        if not route.path.fullmatch(request.path):
            continue
        if any(key not in query or (value and query[key] != value) for key, value in route.literals):
            continue
        rank = (
            route.literal_chars,
            len(route.literals),
            len(route.required & carried) - len(route.required - carried),
            not route.deprecated,
            len(route.known & carried),
        )
        if best is None or rank > best[0]:
            best = (rank, route.name)
    return best[1] if best is not None else None


def parse(operation: OperationModel, request: HttpRequest, read_body: BodyReader) -> dict[str, Any]:
    """The operation's parameters from the URI, query string, headers and body."""
    shape = operation.input_shape
    if shape is None:
        return {}
    route = _route(operation)
    match = route.path.fullmatch(request.path)
    labels = dict(zip(route.labels, match.groups(), strict=True)) if match else {}
    headers = {key.lower(): value for key, value in request.headers.items()}
    params: dict[str, Any] = {}
    params.update(_read_uri(shape, labels))
    params.update(_read_query(shape, request.query, {key for key, _ in route.literals}))
    params.update(_read_headers(shape, headers, request.headers))
    params.update(_read_host(operation, headers.get("host", "")))
    params.update(_read_body(shape, request.body, read_body))
    return params


def _read_uri(shape: StructureShape, labels: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, member in shape.members.items():
        if member.serialization.get("location") == "uri":
            text = labels.get(_name(member, name))
            if text is not None:
                found[name] = scalar(member, unquote(text))
    return found


def _read_query(shape: StructureShape, pairs: tuple[tuple[str, str], ...], literal: set[str]) -> dict[str, Any]:
    """Named keys first; a map member takes every key no other member (nor the template) claims."""
    found: dict[str, Any] = {}
    claimed = set(literal)
    maps = []
    for name, member in shape.members.items():
        if member.serialization.get("location") != "querystring":
            continue
        if isinstance(member, MapShape):
            maps.append((name, member))
            continue
        key = _name(member, name)
        claimed.add(key)
        values = [value for pair_key, value in pairs if pair_key == key]
        if values and isinstance(member, ListShape):
            found[name] = [scalar(member.member, value) for value in values]
        elif values:
            found[name] = scalar(member, values[0])
    for name, member in maps:
        entries: dict[str, Any] = {}
        for key, value in pairs:
            if key in claimed:
                continue
            if isinstance(member.value, ListShape):
                entries.setdefault(key, []).append(scalar(member.value.member, value))
            else:
                entries[key] = scalar(member.value, value)
        if entries:
            found[name] = entries
    return found


def _read_headers(shape: StructureShape, lowered: Mapping[str, str], headers: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        if location == "header":
            text = lowered.get(_name(member, name).lower())
            if text is not None:
                found[name] = header_value(member, text)
        elif location == "headers":
            prefix = _prefix(member, name).lower()
            entries = {key[len(prefix) :]: value for key, value in headers.items() if key.lower().startswith(prefix)}
            if entries:
                found[name] = entries
    return found


def _read_host(operation: OperationModel, host: str) -> dict[str, Any]:
    """Members bound to the host name by the endpoint's `hostPrefix` (`{RequestRoute}.`)."""
    template = (operation.endpoint or {}).get("hostPrefix")
    if not template or operation.input_shape is None:
        return {}
    pattern, names, _ = _compile(str(template), "([^.]+)")
    match = pattern.match(host)
    return dict(zip(names, match.groups(), strict=True)) if match else {}


def _read_body(shape: StructureShape, body: bytes, read_body: BodyReader) -> dict[str, Any]:
    payload = shape.serialization.get("payload")
    if payload is not None:
        member = shape.members[payload]
        if member.type_name == "blob":
            return {payload: body} if body else {}
        if member.type_name == "string":
            return {payload: body.decode("utf-8", "replace")} if body else {}
        value = read_body(member, body) if body.strip() else None
        return {payload: value} if value is not None else {}
    if body.strip() and any(_in_body(member) for member in shape.members.values()):
        return read_body(shape, body) or {}
    return {}


def _in_body(member: Shape) -> bool:
    return member.serialization.get("location") not in LOCATIONS and not member.serialization.get("hostLabel")


def answer(
    operation: OperationModel, result: Mapping[str, Any], write_body: BodyWriter, content_type: str
) -> HttpAnswer:
    """The status (a `statusCode` member, else the model's `responseCode`), header members, and the body: the
    payload member raw when it is a blob or a string, else written by `write_body` with `content_type`."""
    status = int(operation.http.get("responseCode", 200))
    headers: dict[str, str] = {}
    shape = operation.output_shape
    if shape is None:
        return HttpAnswer(status, headers, b"")
    for name, member in shape.members.items():
        value = result.get(name)
        location = member.serialization.get("location")
        if value is None or location is None:
            continue
        if location == "statusCode":
            status = int(value)
        elif location == "header" and value != []:
            headers[_name(member, name)] = header_text(member, value)
        elif location == "headers":
            headers.update({_prefix(member, name) + key: str(text) for key, text in value.items()})
    body, kind = _write_body(shape, result, write_body, content_type)
    if body and kind and not any(key.lower() == "content-type" for key in headers):
        headers["Content-Type"] = kind
    return HttpAnswer(status, headers, body)


def _write_body(
    shape: StructureShape, result: Mapping[str, Any], write_body: BodyWriter, content_type: str
) -> tuple[bytes, str]:
    """The body and its default Content-Type."""
    payload = shape.serialization.get("payload")
    if payload is None:
        if any(_in_body(member) for member in shape.members.values()):
            return write_body(shape, result, _name(shape, shape.name)), content_type
        return b"", ""
    member = shape.members[payload]
    value = result.get(payload)
    if member.serialization.get("eventstream"):
        raise NotImplementedError(f"{member.name} is an event stream, which trailbridge does not write")
    if value is None:
        return b"", ""
    if member.type_name == "blob":
        return bytes(value), "application/octet-stream"
    if member.type_name == "string":
        return str(value).encode(), "text/plain; charset=utf-8"
    return write_body(member, value, _name(member, member.name)), content_type


def header_value(shape: Shape, text: str) -> Any:
    """A header's value: lists are comma-separated (strings quoted where they hold a comma or a quote),
    `jsonvalue` strings base64-encoded JSON, timestamps RFC 822 unless the model says otherwise."""
    if isinstance(shape, ListShape):
        return [header_value(shape.member, item) for item in _split_list(text)]
    if shape.serialization.get("jsonvalue"):
        try:
            return json.loads(base64.b64decode(text, validate=True))
        except ValueError:
            return text
    return scalar(shape, text)


def _split_list(text: str) -> list[str]:
    """`a, "b,c", "d\\"e"` is `a`, `b,c` and `d"e`."""
    items = re.findall(r'\s*("(?:[^"\\]|\\.)*"|[^,]*?)\s*(?:,|$)', text)[:-1] if text.strip() else []
    return [re.sub(r"\\(.)", r"\1", item[1:-1]) if item.startswith('"') else item for item in items]


def header_text(shape: Shape, value: Any) -> str:
    """A member's value as a header."""
    if isinstance(shape, ListShape):
        return ",".join(_quote_item(header_text(shape.member, item)) for item in value)
    if shape.serialization.get("jsonvalue"):
        return base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()
    return scalar_text(shape, value, "rfc822")


def _quote_item(item: str) -> str:
    if "," in item or '"' in item:
        return '"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return item


def scalar(shape: Shape, value: str) -> Any:
    """A scalar member from its text; text of the wrong form is left as it is, for validation to name."""
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(value)
        if kind in ("float", "double"):
            return float(value)
        if kind == "timestamp":
            return read_timestamp(value)
        if kind == "blob":
            return base64.b64decode(value, validate=True)
    except ValueError:  # binascii.Error included
        return value
    if kind == "boolean":
        return {"true": True, "false": False}.get(value.lower(), value)
    return value


def scalar_text(shape: Shape, value: Any, timestamp_style: str) -> str:
    """A scalar member as text; `timestamp_style` unless the model gives a `timestampFormat`."""
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp" and isinstance(value, datetime):
        return str(write_timestamp(value, shape.serialization.get("timestampFormat", timestamp_style)))
    if kind == "blob" and isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    return str(value)


def read_timestamp(value: str | float) -> datetime:
    """Epoch seconds, ISO 8601 or RFC 822, whichever the text is: clients differ in what they send."""
    if isinstance(value, int | float) or re.fullmatch(r"-?\d+(\.\d+)?", value):
        return datetime.fromtimestamp(float(value), UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            raise ValueError(value) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def write_timestamp(value: datetime, style: str) -> str | int | float:
    """`unixTimestamp` as a number (whole seconds as an int), `rfc822`, or ISO 8601 (milliseconds if any)."""
    value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if style == "unixTimestamp":
        seconds = value.timestamp()
        return int(seconds) if seconds.is_integer() else round(seconds, 3)
    if style == "rfc822":
        return format_datetime(value, usegmt=True)
    return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds").replace("+00:00", "Z")
