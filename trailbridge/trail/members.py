"""A call's parameters and answer as CloudTrail writes them in `requestParameters` and `responseElements`:
the model's member names in lowerCamelCase (`PutRule` -> `{"name": ..., "eventPattern": ...}`), secrets hidden,
timestamps and blobs in the forms the service's records use. EC2's own names (its XML names) are in trail/ec2.py,
S3's (query keys, headers and XML bodies) in trail/s3.py.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # botocore is loaded by the calls that use its models
    from botocore.model import Shape

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
OMIT = object()  # a sensitive member some services leave out of their records altogether


def java_time(comma: bool) -> Callable[[datetime], str]:
    """The form of CloudTrail's Java services: `Aug 1, 2024, 1:33:28 PM` (IAM's older one has no comma)."""
    separator = ", " if comma else " "

    def written(value: datetime) -> str:
        hour = value.hour % 12 or 12
        return f"{value:%b} {value.day}, {value.year}{separator}{hour}:{value:%M:%S %p}"

    return written


def iso_time(value: datetime) -> str:
    """The form of the REST services' records: `2025-05-24T13:29:00Z`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_millis(value: datetime) -> int:
    """EC2's form: milliseconds since the epoch."""
    return round(value.timestamp() * 1000)


_JAVA_TIME = java_time(comma=True)


def lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def camel_name(name: str, member: Shape) -> str:
    """A member's name in most services' records: the model's, in lowerCamelCase."""
    return lower_camel(name)


def model_name(name: str, member: Shape) -> str:
    """Cost Explorer, Resource Explorer and Security Hub keep the model's names (`TimePeriod`, `QueryString`)."""
    return name


def uri_name(name: str, member: Shape) -> str:
    """EKS names a member of the request's path by its place there (`clusterName` is `name`)."""
    return lower_camel(
        member.serialization.get("name", name) if member.serialization.get("location") == "uri" else name
    )


@dataclass(frozen=True)
class Style:
    """How a service's records write what the model's shapes do not decide."""

    timestamp: Callable[[datetime], Any] = _JAVA_TIME
    sensitive: object = HIDDEN  # what a sensitive member reads (OMIT: it is left out)
    # Members (and keys of maps: SNS's Attributes) the service hides although the model does not mark them.
    hidden: frozenset[str] = frozenset()
    name: Callable[[str, Shape], str] = camel_name  # a member's name in the record
    unwrap: bool = False  # an answer of one structure is written as that structure's members (RDS)


_STYLES = {
    "iam": Style(timestamp=java_time(comma=False), sensitive=OMIT),
    "sts": Style(sensitive=OMIT),
    "ec2": Style(timestamp=epoch_millis, sensitive="<sensitiveDataRemoved>"),
    # SES hides the addresses and the text of the messages it sends (its SendEmail records).
    "ses": Style(hidden=frozenset({"ToAddresses", "CcAddresses", "BccAddresses", "Data"})),
    # SNS's platform applications carry their push credentials in an Attributes map; a sandbox number's
    # one-time password is a secret too, though the model does not mark it.
    "sns": Style(hidden=frozenset({"PlatformCredential", "PlatformPrincipal", "OneTimePassword"})),
    "ce": Style(name=model_name),
    "resource-explorer-2": Style(timestamp=iso_time, name=model_name),
    "securityhub": Style(timestamp=iso_time, name=model_name),
    "eks": Style(timestamp=iso_time, name=uri_name),
    **dict.fromkeys(("rds", "docdb", "neptune"), Style(unwrap=True)),
}
_PROTOCOL_STYLES = {"rest-json": Style(timestamp=iso_time), "rest-xml": Style(timestamp=iso_time)}


def style_of(service: str, protocol: str) -> Style:
    """The style of a botocore service's records (by its name, else its protocol)."""
    return _STYLES.get(service) or _PROTOCOL_STYLES.get(protocol) or Style()


def camel_case_members(shape: Shape, value: Any, style: Style = Style()) -> Any:
    """`value` of `shape` with lowerCamelCase member names, sensitive members as `style` says."""
    from botocore.model import ListShape, MapShape, StructureShape  # noqa: PLC0415 (see the imports above)

    if shape.metadata.get("sensitive"):
        return style.sensitive
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        written = {
            style.name(name, shape.members[name]): _member(shape.members[name], name, item, style)
            for name, item in value.items()
            if name in shape.members and item is not None
        }
        return {name: item for name, item in written.items() if item is not OMIT}
    if isinstance(shape, ListShape) and isinstance(value, list | tuple):
        return [camel_case_members(shape.member, item, style) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, Mapping):
        return {str(key): _member(shape.value, str(key), item, style) for key, item in value.items()}
    return scalar(shape, value, style)


def answer_members(shape: Shape, answer: Mapping[str, Any], style: Style) -> Any:
    """`responseElements`: the answer as `camel_case_members` writes it; for a style that unwraps, an answer of
    one structure (`{"DBInstance": {...}}`) as that structure."""
    if style.unwrap and len(answer) == 1:
        (name, inner), members = next(iter(answer.items())), shape.members
        if name in members and members[name].type_name == "structure" and isinstance(inner, Mapping):
            return camel_case_members(members[name], inner, style)
    return camel_case_members(shape, answer, style)


def _member(shape: Shape, name: str, value: Any, style: Style) -> Any:
    """A member's value, or HIDDEN (each item of a list) for a member the style hides."""
    if name not in style.hidden:
        return camel_case_members(shape, value, style)
    return [HIDDEN for _ in value] if isinstance(value, list | tuple) else HIDDEN


def scalar(shape: Shape, value: Any, style: Style) -> Any:
    """A timestamp in the style's form (a number of a timestamp shape is epoch seconds), a blob in base64."""
    if shape.type_name == "timestamp" and isinstance(value, int | float) and not isinstance(value, bool):
        value = datetime.fromtimestamp(value, UTC)
    if isinstance(value, datetime):
        return style.timestamp(value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    return value
