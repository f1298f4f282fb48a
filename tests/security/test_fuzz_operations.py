"""Every operation of every service the server implements, fuzzed over the wire (issue 13, item 9): whatever a
client sends, the answer is below 500 and one boto3 reads (an AWS error with a code and a message, or a
success of the operation's output shape).

The inputs are built from botocore's input shapes: valid-looking ones (the right JSON types, enums from the
shape, lengths and values within their bounds, text matching the shape's pattern, and, where a constraint
allows it, names, ARNs, URLs and documents of resources that exist, in the caller's account and another's),
and invalid ones (a required member missing, a member of the wrong type, out of its bounds, off its pattern or
enum, an unknown member). They are sent through the real ASGI application (`create_app` on an engine with
its dispatcher and recorder running), unsigned, as the default account. Hypothesis runs derandomized and
without an example database, so CI sees the same inputs on every run.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FAST
from tests.support.asgi import Answer, AsgiClient, asgi_client
from tests.support.buckets import create_bucket
from trailbridge.aws.validate import _pattern, java_regex, operation
from trailbridge.runtime import Trailbridge
from trailbridge.services.channels import ChannelsService
from trailbridge.services.operations import SERVICE_CLASSES, handlers

ALICE, BOB = FAST.default_account, "222222222222"
REGION = FAST.default_region
BUCKET = "fuzz-bucket"
EXAMPLES = 30
MAX_TEXT = 40  # longest text generated where the shape sets no limit
MAX_ITEMS = 3  # most items generated beyond a list's or map's minimum
MAX_DEPTH = 5  # below this, structures carry their required members only

# -- what exists before the fuzz starts ----------------------------------------------------------------


@dataclass(eq=False)  # compared (and hashed, for the cached strategies) by identity: one per module
class Seeds:
    """Text that names existing resources (or plausible ones): `by_member` is offered first to the members of
    that name, `values` to any string member whose constraints take it."""

    values: list[str] = field(default_factory=list)
    by_member: dict[str, list[str]] = field(default_factory=dict)
    documents: dict[str, list[Any]] = field(default_factory=dict)  # JSON, by the member that carries it as text

    def offer(self, values: list[str], *members: str) -> None:
        for member in members:
            self.by_member.setdefault(member, []).extend(values)
        self.values.extend(values)


def _seed(tb: Trailbridge) -> Seeds:
    """Resources named `fuzz` of every kind, in the caller's account (alice, the default) and in bob's."""
    seeds = Seeds()
    seeds.offer(["fuzz"], *_NAMED)
    seeds.offer(["default"], "EventBusName", "Name")
    for account in (ALICE, BOB):
        _seed_account(tb, account, seeds)
    seeds.offer([BUCKET], "S3BucketName")
    seeds.offer([f"arn:aws:iam::{ALICE}:role/fuzz"], "RoleArn", "CloudWatchLogsRoleArn")
    seeds.values += ["fz", "*", "arn:", "arn:aws:x", ALICE, BOB, *_TRICKY]
    for member, documents in _documents().items():
        seeds.offer([d for d in documents if isinstance(d, str)], member)
        seeds.documents[member] = [d for d in documents if not isinstance(d, str)]
    return seeds


# Members that name a resource by its name.
_NAMED = (
    "Name",
    "Rule",
    "NamePrefix",
    "EventBusName",
    "QueueName",
    "QueueNamePrefix",
    "logGroupName",
    "logGroupNamePrefix",
    "logGroupNamePattern",
    "logGroupIdentifier",
    "logGroupIdentifiers",
    "TrailName",
    "trailNameList",
    "StatementId",
    "Id",
    "Ids",
    "Channel",
)


def _seed_account(tb: Trailbridge, account: str, seeds: Seeds) -> None:
    events, sqs, logs, destinations = tb.events(account), tb.sqs(account), tb.logs(account), tb.destinations(account)
    events.create_event_bus(Name="fuzz")
    queue = sqs.create_queue(QueueName="fuzz")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{REGION}:{account}:fuzz"
    logs.create_log_group(logGroupName="fuzz")
    for bus in ("default", "fuzz"):
        events.put_rule(Name="fuzz", EventBusName=bus, EventPattern='{"source": [{"prefix": ""}]}')
        events.put_targets(Rule="fuzz", EventBusName=bus, Targets=[{"Id": "fuzz", "Arn": queue_arn}])
    connection = destinations.create_connection(
        Name="fuzz",
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "fuzz-key"}},
    )["ConnectionArn"]
    destination = destinations.create_api_destination(
        Name="fuzz", ConnectionArn=connection, InvocationEndpoint="https://127.0.0.1:9/", HttpMethod="POST"
    )["ApiDestinationArn"]
    trail = tb.trails(account).create_trail(Name="fuzz", S3BucketName=BUCKET)["TrailARN"]
    stores = [{"Type": "EVENT_DATA_STORE", "Location": f"arn:aws:cloudtrail:{REGION}:{account}:eventdatastore/x"}]
    channels = ChannelsService(tb.engine, account, REGION)
    channel = channels.create_channel(Name="fuzz", Source="Custom", Destinations=stores)["ChannelArn"]
    sqs.send_message(QueueUrl=queue, MessageBody="fuzz")
    handle = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)["Messages"][0]["ReceiptHandle"]
    buses = [f"arn:aws:events:{REGION}:{account}:event-bus/{bus}" for bus in ("fuzz", "default")]
    rules = [f"arn:aws:events:{REGION}:{account}:{rule}" for rule in ("rule/fuzz", "rule/fuzz/fuzz")]
    group = f"arn:aws:logs:{REGION}:{account}:log-group:fuzz"
    seeds.offer([queue, f"{account}/fuzz"], "QueueUrl")
    seeds.offer([connection], "ConnectionArn", "Name")
    seeds.offer([destination, queue_arn, group, *buses, f"arn:aws:lambda:{REGION}:{account}:function:fuzz"], "Arn")
    seeds.offer([*rules, *buses, connection, destination, queue_arn, trail], "ResourceARN", "TargetArn")
    seeds.offer([group], "logGroupIdentifier", "logGroupIdentifiers", "CloudWatchLogsLogGroupArn")
    seeds.offer([trail], "TrailName", "Name", "trailNameList", "ResourceId", "ResourceIdList")
    seeds.offer([channel, channel.rsplit("/", 1)[1]], "Channel", "channelArn")
    seeds.offer([handle], "ReceiptHandle")
    seeds.offer([account], "QueueOwnerAWSAccountId", "Principal", "accountIdentifiers")


def _documents() -> dict[str, list[Any]]:
    """What members carry by name: JSON documents (offered as they are and with one part spoiled: a member of
    another type, or missing) and other text with a meaning."""
    event = {
        "id": "1",
        "account": ALICE,
        "source": "fuzz",
        "time": "2026-01-01T00:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:sqs:{REGION}:{ALICE}:fuzz"],
        "detail-type": "fuzz",
        "detail": {"a": 1, "b": [1, "x"]},
    }
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": BOB},
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": BOB}},
            }
        ],
    }
    audit = {
        "version": "1.0",
        "userIdentity": {"type": "fuzz", "principalId": "p", "details": {}},
        "eventSource": "fuzz",
        "eventName": "Fuzz",
        "eventTime": "2026-01-01T00:00:00Z",
        "UID": "u",
        "requestParameters": {"a": 1},
        "recipientAccountId": ALICE,
        "sourceIPAddress": "127.0.0.1",
    }
    patterns = [
        {"source": ["fuzz"], "detail": {"a": [{"numeric": [">", 0, "<=", 5]}]}},
        {"detail": {"b": [{"prefix": "x"}, {"anything-but": ["y"]}, {"exists": True}, {"wildcard": "*x*"}]}},
        {"$or": [{"source": ["fuzz"]}, {"detail-type": [{"equals-ignore-case": "FUZZ"}]}]},
        {"resources": [{"cidr": "10.0.0.0/8"}], "account": [{"suffix": "12"}]},
    ]
    redrive = {"deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{ALICE}:fuzz", "maxReceiveCount": 3}
    token = base64.urlsafe_b64encode(b"fuzz").decode()
    return {
        "EventPattern": [*patterns, "not json"],
        "Event": [event],
        "Detail": [{"a": 1, "b": [1, "x"]}, "x"],
        "Policy": [policy, "x"],
        "Input": [{"a": 1}, "x"],
        "InputPath": ["$.detail", "$.", "$[0]", "$.detail.b[0]"],
        "InputTemplate": ['{"a": <a>}', "<a>", '"<aws.events.event>"', '{"a": "<a>", "b": <aws.events.rule-arn>}'],
        "InputPathsMap.value": ["$.detail.a", "$.x[", "$.detail.b[*]"],
        "ScheduleExpression": ["rate(5 minutes)", "cron(0 12 * * ? *)", "rate(0 minutes)", "at(2030-01-01T00:00:00)"],
        "InvocationEndpoint": ["https://127.0.0.1:9/x", "http://127.0.0.1:9/"],
        "AuthorizationEndpoint": ["https://127.0.0.1:9/token"],
        "S3BucketName": [BUCKET, "no-such-bucket", "a..b", "1.2.3.4"],
        "S3KeyPrefix": ["logs", "../escape", "a/./b", "/abs"],
        "eventData": [audit, "x"],
        "Attributes.value": ["0", "30", "262144", redrive, policy, "-1"],
        "MessageBody": ["fuzz"],
        "NextToken": [token, base64.urlsafe_b64encode(b"1.0:99999999999999999999").decode()],
        "nextToken": [token],
        "Principal": [BOB, "*"],
        "Action": ["events:PutEvents", "events:PutRule"],
    }


# Text that has tripped parsers: digits that are not ASCII, numbers out of every range, nothing, controls.
_TRICKY = [
    "\u00b2",
    "\u0661\u0662",
    "0x1F",
    " 7",
    "1e3",
    "-0",
    "9" * 30,
    "nan",
    "inf",
    "\x00",
    "\t",
    " ",
    "\U0001f600",
    "null",
    "[]",
    "{}",
    "../x",
    "%2e%2e/",
    "$",
    "$.",
    "<aws.events.event>",
    "?",
    f"arn:aws:events:{REGION}:{ALICE}:",
]


# -- strategies from botocore's shapes -----------------------------------------------------------------

_JSON_SCALARS = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False) | st.text(max_size=8)
)
_ANY_JSON = st.recursive(
    _JSON_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
)


def _bounds(shape: Shape, low: int = 0, high: int = MAX_TEXT) -> tuple[int, int]:
    meta = shape.metadata
    lowest = int(meta.get("min", low))
    return lowest, max(lowest, min(int(meta.get("max", lowest + high)), lowest + high))


@cache
def _generator(pattern: str) -> st.SearchStrategy[str] | None:
    """Text that the model's pattern, as the server checks it, matches (None for one it does not check).
    Generated from the translation without the ASCII flag (a class may list letters beyond ASCII) and kept
    where the server's own check agrees."""
    checked = _pattern(pattern)
    if checked is None:
        return None
    translated, _ = java_regex(pattern)
    generator = st.from_regex(re.compile(translated, re.DOTALL), fullmatch=True)
    return generator.filter(lambda text: checked[0].fullmatch(text) is not None)


def _fits(shape: Shape, text: str) -> bool:
    meta = shape.metadata
    if not meta.get("min", 0) <= len(text) <= meta.get("max", len(text)):
        return False
    if "enum" in meta and text not in meta["enum"]:
        return False
    checked = _pattern(meta["pattern"]) if "pattern" in meta else None
    return checked is None or checked[0].fullmatch(text) is not None


class Shapes:
    """Hypothesis strategies for one service's input shapes, valid-looking and invalid."""

    def __init__(self, seeds: Seeds, overrides: Mapping[str, st.SearchStrategy[Any]]) -> None:
        self.seeds, self.overrides = seeds, overrides

    def valid(self, shape: Shape, name: str, depth: int = 0) -> st.SearchStrategy[Any]:
        if isinstance(shape, StructureShape):
            return self._structure(shape, depth)
        if isinstance(shape, ListShape):
            low, high = _bounds(shape, high=MAX_ITEMS)
            return st.lists(self.valid(shape.member, name, depth + 1), min_size=low, max_size=high)
        if isinstance(shape, MapShape):
            low, high = _bounds(shape, high=MAX_ITEMS)
            keys = self.valid(shape.key, f"{name}.key", depth + 1)
            return st.dictionaries(
                keys, self.valid(shape.value, f"{name}.value", depth + 1), min_size=low, max_size=high
            )
        return self._scalar(shape, name)

    def _structure(self, shape: StructureShape, depth: int) -> st.SearchStrategy[dict[str, Any]]:
        members = {
            name: self.overrides[name] if name in self.overrides else self.valid(m, name, depth + 1)
            for name, m in shape.members.items()
        }
        if shape.metadata.get("union"):
            return st.one_of(*[st.fixed_dictionaries({name: value}) for name, value in members.items()])
        required = {name: members[name] for name in shape.required_members}
        required |= {name: value for name, value in members.items() if name in self.overrides}
        optional = {name: value for name, value in members.items() if name not in required}
        return st.fixed_dictionaries(required, optional=optional if depth < MAX_DEPTH else {})

    def _scalar(self, shape: Shape, name: str) -> st.SearchStrategy[Any]:
        kind, meta = shape.type_name, shape.metadata
        if kind == "string":
            return self._string(shape, name)
        if kind in ("integer", "long"):
            low, high = (
                int(meta.get("min", -(2**31 if kind == "integer" else 2**63))),
                int(meta.get("max", 2**31 - 1 if kind == "integer" else 2**63 - 1)),
            )
            return st.integers(max(low, -1000), min(high, 100_000)) | st.sampled_from([low, high])
        if kind in ("double", "float"):
            return st.floats(meta.get("min", -1e6), meta.get("max", 1e6), allow_nan=False)
        if kind == "boolean":
            return st.booleans()
        if kind == "timestamp":
            return st.integers(1_500_000_000, 2_000_000_000) | st.floats(1.5e9, 2e9) | st.just("2026-01-01T00:00:00Z")
        if kind == "blob":
            return st.binary(max_size=MAX_TEXT).map(lambda raw: base64.b64encode(raw).decode())
        return _ANY_JSON

    def _string(self, shape: Shape, name: str) -> st.SearchStrategy[str]:
        meta = shape.metadata
        if "enum" in meta:
            return st.sampled_from(meta["enum"])
        low, high = _bounds(shape)
        generated = _generator(meta["pattern"]) if "pattern" in meta else None
        text = (generated if generated is not None else st.text(min_size=low, max_size=high)).filter(
            lambda value: low <= len(value) <= high
        )
        preferred = [v for v in self.seeds.by_member.get(name, []) if _fits(shape, v)]
        known = [v for v in self.seeds.values if _fits(shape, v)]
        longest = [c * int(meta["max"]) for c in "a0" if "max" in meta and _fits(shape, c * int(meta["max"]))]
        choices = [st.sampled_from(preferred)] * 2 if preferred else []
        documents = self.seeds.documents.get(name)
        if documents:
            choices += [st.sampled_from(documents).flatmap(_spoiled_json).map(lambda d: orjson.dumps(d).decode())] * 2
        choices += [st.sampled_from(known + longest)] if known + longest else []
        return st.one_of(*choices, text)

    def invalid(self, shape: StructureShape) -> st.SearchStrategy[dict[str, Any]]:
        """A valid-looking structure with one fault somewhere in it."""
        return self.valid(shape, "").flatmap(lambda value: self._spoil(shape, value, 0))

    def _spoil(self, shape: Shape, value: Any, depth: int) -> st.SearchStrategy[Any]:
        """`value` with one fault: of another JSON type (below the top: a body that is no object is tried
        apart), or a fault of its shape."""
        faults: list[st.SearchStrategy[Any]] = []
        if depth > 0:
            faults.append(_ANY_JSON.filter(lambda other: type(other) is not type(value)))
        if isinstance(shape, StructureShape) and isinstance(value, dict):
            faults += self._spoil_structure(shape, value, depth)
        elif isinstance(shape, ListShape) and isinstance(value, list):
            faults += self._spoil_list(shape, value, depth)
        else:
            faults += _out_of_bounds(shape, value)
        return st.one_of(*faults)

    def _spoil_structure(
        self, shape: StructureShape, value: dict[str, Any], depth: int
    ) -> list[st.SearchStrategy[Any]]:
        faults: list[st.SearchStrategy[Any]] = [st.just(value | {"FuzzUnknownMember": 1})]
        present = [name for name in shape.required_members if name in value]
        if present:
            faults.append(st.sampled_from(present).map(lambda gone: {k: v for k, v in value.items() if k != gone}))
        if value and depth < MAX_DEPTH:
            names = sorted(value)
            faults.append(
                st.sampled_from(names).flatmap(
                    lambda member: self._spoil(shape.members[member], value[member], depth + 1).map(
                        lambda bad: value | {member: bad}
                    )
                )
            )
        return faults

    def _spoil_list(self, shape: ListShape, value: list[Any], depth: int) -> list[st.SearchStrategy[Any]]:
        faults: list[st.SearchStrategy[Any]] = []
        if "max" in shape.metadata and value:
            faults.append(st.just(value * (int(shape.metadata["max"]) // len(value) + 1)))
        if value and depth < MAX_DEPTH:
            faults.append(self._spoil(shape.member, value[0], depth + 1).map(lambda bad: [bad, *value[1:]]))
        return faults


def _spoiled_json(document: Any) -> st.SearchStrategy[Any]:
    """A JSON document as it is, or with one part (at any depth) replaced by any JSON value, or dropped."""
    options: list[st.SearchStrategy[Any]] = [st.just(document), _ANY_JSON]
    if isinstance(document, dict) and document:
        keys = sorted(document)
        options.append(st.sampled_from(keys).map(lambda gone: {k: v for k, v in document.items() if k != gone}))
        options.append(
            st.sampled_from(keys).flatmap(
                lambda key: _spoiled_json(document[key]).map(lambda part: document | {key: part})
            )
        )
    elif isinstance(document, list) and document:
        options.append(_spoiled_json(document[0]).map(lambda part: [part, *document[1:]]))
    return st.one_of(*options)


def _out_of_bounds(shape: Shape, value: Any) -> list[st.SearchStrategy[Any]]:
    meta, faults = shape.metadata, []
    if isinstance(value, str):
        if "max" in meta:
            faults.append(st.just("x" * (int(meta["max"]) + 1)))
        faults.append(st.sampled_from(["", "\x00", "../..", "é" * 3, "a" * 300, "arn:aws:x:y:z:w"]))
    elif isinstance(value, int) and not isinstance(value, bool):
        faults += [st.just(int(meta["min"]) - 1)] if "min" in meta else []
        faults += [st.just(int(meta["max"]) + 1)] if "max" in meta else []
        faults.append(st.sampled_from([-(2**63), 2**64 - 1, 1e30, -1]))
    if shape.type_name == "timestamp":
        faults.append(st.sampled_from([1e20, -1e20, "9999-12-31T23:59:59-01:00", "0000", "inf"]))
    return faults


# -- the requests ---------------------------------------------------------------------------------------

# Members given a value of their own: a valid-looking ReceiveMessage never waits (a long poll holds 20 s).
_OVERRIDES: dict[tuple[str, str], dict[str, st.SearchStrategy[Any]]] = {
    ("sqs", "ReceiveMessage"): {"WaitTimeSeconds": st.just(0)},
}


def _order(name: str) -> tuple[int, str]:
    """Operations that create first, those that delete last, so the ones between find resources."""
    rank = 0 if name.startswith(("Create", "Put", "Tag", "Add", "Send")) else 2 if name.startswith("Delete") else 1
    return rank, name


CASES = [(service, name) for service in SERVICE_CLASSES for name in sorted(handlers(service), key=_order)]


@dataclass(frozen=True)
class Request:
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    method: str = "POST"
    raw: bool = False  # not botocore's request: the server may take it for another operation


def _request(service: str, model: OperationModel, params: Any) -> Request:
    """The request boto3 would send for `params` (which, spoiled, may not even be an object)."""
    metadata = model.service_model.metadata
    if metadata["protocol"] == "rest-xml":
        return _rest_xml_request(model, params)
    if metadata["protocol"] == "query":
        return _query_request(model, params)
    if metadata["protocol"] == "rest-json":
        return _rest_json_request(model, params)
    headers = {
        "content-type": f"application/x-amz-json-{metadata.get('jsonVersion', '1.0')}",
        "x-amz-target": f"{metadata['targetPrefix']}.{model.name}",
    }
    return Request("/", "", headers, orjson.dumps(params))


def _rest_json_request(model: OperationModel, params: Any) -> Request:
    """The operation's method and path (its URI labels filled from `params`, "fuzz" where they give none), its
    query-string and header members where the model puts them, the rest as the JSON body."""
    members = model.input_shape.members if model.input_shape is not None else {}
    given = params if isinstance(params, dict) else {}
    path, _, literal = str(model.http["requestUri"]).partition("?")
    query: dict[str, str] = dict(urllib.parse.parse_qsl(literal, keep_blank_values=True))
    signing = model.service_model.metadata.get("signingName") or model.service_model.endpoint_prefix
    scope = f"123456789012/20260101/us-east-1/{signing}/aws4_request"  # routes by the service it names
    headers = {
        "content-type": "application/json",
        "authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0",
    }
    body: Any = {} if isinstance(params, dict) else params
    for name, value in given.items():
        member = members.get(name)
        location = member.serialization.get("location") if member is not None else None
        wire_name = member.serialization.get("name", name) if member is not None else name
        if location == "querystring":
            query[wire_name] = _query_text(value)
        elif location == "header":
            headers[wire_name.lower()] = _query_text(value)
        elif location != "uri":
            body[name] = value
    for name, member in members.items():
        if member.serialization.get("location") == "uri":
            label = member.serialization.get("name", name)
            value = given.get(name)
            text = urllib.parse.quote(value if isinstance(value, str) and value else "fuzz", safe="")
            path = path.replace("{" + label + "+}", text).replace("{" + label + "}", text)
    return Request(path, urllib.parse.urlencode(query), headers, orjson.dumps(body), str(model.http["method"]))


def _rest_xml_request(model: OperationModel, params: Any) -> Request:
    """botocore's own request for `params`, else (spoiled past what its serializer writes) for their members the
    model knows, else the operation's method and path with the spoiled parameters as the body."""
    members = model.input_shape.members if model.input_shape is not None else {}
    serializer = create_serializer("rest-xml", include_validation=False)
    for form in (params, {k: v for k, v in params.items() if k in members} if isinstance(params, dict) else None):
        try:
            wire = serializer.serialize_to_request(form, model)
        except Exception:  # any refusal of botocore's serializer: try the next form
            continue
        body = wire["body"] if isinstance(wire["body"], bytes) else str(wire["body"]).encode()
        query = wire["query_string"]
        text = urllib.parse.urlencode(query, doseq=True) if isinstance(query, dict) else str(query)
        headers = {k.lower(): str(v) for k, v in wire["headers"].items()}
        return Request(urllib.parse.quote(wire["url_path"], safe="/~%"), text, headers, body, wire["method"])
    path, _, literal = (
        str(model.http["requestUri"]).replace("{Bucket}", BUCKET).replace("{Key+}", "fuzz").partition("?")
    )
    return Request(path, literal, {}, orjson.dumps(params), str(model.http["method"]), raw=True)


def _query_request(model: OperationModel, params: Any) -> Request:
    """botocore's form for `params`; spoiled past what its serializer writes, the Action with the spoiled
    parameters as one form value."""
    form = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
    try:
        wire = create_serializer("query", include_validation=False).serialize_to_request(params, model)
        pairs = dict(wire["body"])
    except Exception:  # any refusal of botocore's serializer
        version = model.service_model.api_version
        pairs = {"Action": model.name, "Version": version, "Spoiled": orjson.dumps(params).decode()}
    return Request("/", "", form, urllib.parse.urlencode(pairs).encode())


def _query_text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def check_answer(model: OperationModel, answer: Answer) -> None:
    """Below 500 (or NotImplemented, for a feature not built), a JSON object, and what boto3 reads: an error
    with a code and a message, or a success."""
    shown = f"{model.name} answered {answer.status}: {answer.body[:300]!r}"
    if model.service_model.metadata["protocol"] in ("rest-xml", "query"):
        _check_xml_answer(model, answer, shown)
        return
    document = orjson.loads(answer.body)
    assert answer.status < 500 or (answer.status == 501 and document.get("__type") == "NotImplemented"), shown
    assert isinstance(document, dict), shown
    parser = create_parser(model.service_model.metadata["protocol"])
    response = {"status_code": answer.status, "headers": answer.headers, "body": answer.body}
    parsed = parser.parse(response, model.output_shape)
    if answer.status >= 400:
        assert isinstance(document.get("__type"), str) and document["__type"], shown
        assert isinstance(document.get("message"), str), shown
        assert parsed["Error"]["Code"], shown
    else:
        assert answer.status == 200 and "Error" not in parsed, shown


def _check_xml_answer(model: OperationModel, answer: Answer, shown: str) -> None:
    """S3 and SNS: below 500 (or NotImplemented, for a feature not built), and what boto3 reads."""
    response = {"status_code": answer.status, "headers": answer.headers, "body": answer.body}
    parsed = create_parser(model.service_model.metadata["protocol"]).parse(response, model.output_shape)
    if answer.status >= 300 and answer.status != 304:
        assert answer.status < 500 or parsed["Error"]["Code"] == "NotImplemented", shown
        assert parsed["Error"]["Code"], shown
    else:
        assert "Error" not in parsed, shown


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AsgiClient, Seeds]]:
    """The application on a data directory with a bucket (so trails can be made), its dispatcher and
    recorder running, and the seeded resources."""
    data: Path = tmp_path_factory.mktemp("fuzz")
    with Trailbridge(data, FAST) as tb, asgi_client(tb) as client:
        create_bucket(tb.engine.objects, BUCKET)
        yield client, _seed(tb)


@cache
def _strategy(service: str, name: str, seeds: Seeds) -> st.SearchStrategy[dict[str, Any]]:
    shape = operation(service, name).input_shape
    if shape is None:
        return st.just({})
    shapes = Shapes(seeds, _OVERRIDES.get((service, name), {}))
    valid = shapes.valid(shape, "")
    return st.one_of(valid, valid, shapes.invalid(shape))


@pytest.mark.parametrize(("service", "name"), CASES, ids=[f"{s}.{n}" for s, n in CASES])
def test_every_operation_answers_below_500(fuzzed: tuple[AsgiClient, Seeds], service: str, name: str) -> None:
    client, seeds = fuzzed
    model = operation(service, name)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(params=_strategy(service, name, seeds))
    def run(params: dict[str, Any]) -> None:
        request = _request(service, model, params)
        answer = client.post(request.path, request.query, request.headers, request.body, request.method)
        if request.raw:  # S3 may read it as another operation (GetObject for a ListParts without its uploadId)
            assert answer.status < 500, f"{name} answered {answer.status}: {answer.body[:300]!r}"
        else:
            check_answer(model, answer)

    run()


@pytest.mark.parametrize(
    "body", [b"", b"null", b"[]", b'"x"', b"1", b"{", b'{"a": {"b": [1, {"c": null}]}}', b"\xff\xfe"]
)
@pytest.mark.parametrize(("service", "name"), CASES, ids=[f"{s}.{n}" for s, n in CASES])
def test_every_operation_refuses_malformed_bodies(
    fuzzed: tuple[AsgiClient, Seeds], service: str, name: str, body: bytes
) -> None:
    client, _ = fuzzed
    model = operation(service, name)
    if service in ("s3", "sns"):  # S3's body is XML, bytes or nothing; SNS's is its form, Action and all: the
        # answer may be another operation's (or, with no Action left, S3's)
        request = _request(service, model, {"Bucket": BUCKET, "Key": "fuzz"} if service == "s3" else {})
        answer = client.post(request.path, request.query, request.headers, body, request.method)
        assert answer.status < 500, f"{name} answered {answer.status}: {answer.body[:300]!r}"
        return
    request = _request(service, model, {})
    check_answer(model, client.post(request.path, request.query, request.headers, body, request.method))


def test_the_fuzz_covers_every_served_operation() -> None:
    served = {(service, name) for service in SERVICE_CLASSES for name in handlers(service)}
    assert served == set(CASES)
    assert {service for service, _ in CASES} == {
        "events",
        "sqs",
        "logs",
        "cloudtrail",
        "cloudtrail-data",
        "s3",
        "sns",
        "lambda",
        "stepfunctions",
    }
    assert ("cloudtrail-data", "PutAuditEvents") in served


def _token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def _redrive(target: Any, count: Any = 3) -> dict[str, str]:
    return {"RedrivePolicy": orjson.dumps({"deadLetterTargetArn": target, "maxReceiveCount": count}).decode()}


def _put_event_at(time: str) -> dict[str, Any]:
    return {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}", "Time": time}]}


# Inputs that answered 500 (found by this fuzz, or by the issue), with the answer each gets now (None: success).
FOUND: list[tuple[str, str, dict[str, Any], str | None]] = [
    ("logs", "FilterLogEvents", {"logGroupIdentifier": "g"}, None),
    ("logs", "FilterLogEvents", {}, "InvalidParameterException"),
    ("sqs", "SetQueueAttributes", {"QueueUrl": "q", "Attributes": {"DelaySeconds": "\u00b2"}}, "InvalidAttributeValue"),
    ("sqs", "CreateQueue", {"QueueName": "q2", "Attributes": {"DelaySeconds": "\u0661"}}, "InvalidAttributeValue"),
    ("sqs", "SetQueueAttributes", {"QueueUrl": "q", "Attributes": _redrive([1])}, "InvalidAttributeValue"),
    ("sqs", "SetQueueAttributes", {"QueueUrl": "q", "Attributes": _redrive({})}, "InvalidAttributeValue"),
    ("sqs", "SetQueueAttributes", {"QueueUrl": "q", "Attributes": _redrive("x", "\u0663")}, "InvalidAttributeValue"),
    ("sqs", "GetQueueUrl", {"QueueName": "q", "QueueOwnerAWSAccountId": "../x"}, "QueueDoesNotExist"),
    ("cloudtrail", "LookupEvents", {"NextToken": _token("1.0:99999999999999999999")}, "InvalidNextTokenException"),
    ("cloudtrail", "LookupEvents", {"NextToken": _token("nan:1")}, "InvalidNextTokenException"),
    ("events", "PutEvents", _put_event_at("0001-01-01T00:00:00+01:00"), "SerializationException"),
    ("events", "PutEvents", _put_event_at("9999-12-31T23:59:59-01:00"), "SerializationException"),
    ("events", "ListTagsForResource", {"ResourceARN": f"arn:aws:sqs:{REGION}:{ALICE}:q"}, "ValidationException"),
]


@pytest.mark.parametrize(("service", "name", "params", "code"), FOUND)
def test_what_the_fuzz_found(service: str, name: str, params: dict[str, Any], code: str | None) -> None:
    with Trailbridge(None, FAST) as tb, asgi_client(tb) as client:
        tb.sqs().create_queue(QueueName="q")
        tb.logs().create_log_group(logGroupName="g")
        model = operation(service, name)
        answer = client.call(service, name, params)
        check_answer(model, answer)
        assert (answer.status, answer.json().get("__type", "").rpartition("#")[2] or None) == (
            400 if code else 200,
            code,
        ), answer.body
