"""EC2's parameters and answers as its records write them: in the names of EC2's XML API, not the model's member
names. A list is `{"items": [...]}`, a list of values a list of one-member objects (`InstanceIds` ->
`"instancesSet": {"items": [{"instanceId": "i-1"}]}`); answers take their members' XML names (`instancesSet`,
`_return` for `return`) and the request id. The corpora's RunInstances, StopInstances, ModifySnapshotAttribute
and AuthorizeSecurityGroupIngress records show these names; the list names EC2 derives otherwise
(`vpcSet`, `keySet`, `ownersSet`) are read from the XML name by `_list_name`. EC2's newer operations (those
without XML names in the model: CreateLaunchTemplate, DescribeFlowLogs, ...) write their query request
instead (`_newer`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from trailbridge.trail.members import lower_camel, scalar, style_of

if TYPE_CHECKING:  # botocore is loaded by the calls that use its models
    from botocore.model import OperationModel, Shape

_STYLE = style_of("ec2", "ec2")
REMOVED = "<sensitiveDataRemoved>"
_REMOVED_MEMBERS = frozenset({"UserData"})  # removed although the model does not mark them all sensitive
# The list names (by their XML names) that EC2's records spell otherwise than `_list_name` does.
_LIST_NAMES = {
    "InstanceId": "instancesSet",
    "ImageId": "imagesSet",
    "Owner": "ownersSet",
    "BundleId": "bundlesSet",
    "RestorableBy": "sharedUsersSet",
    "attributeName": "accountAttributeNameSet",
    "BlockDeviceMapping": "blockDeviceMapping",
    "KeyPairId": "keyPairIdSet",
    "ZoneId": "availabilityZoneIdSet",
    "ZoneName": "availabilityZoneSet",
    "GroupId": "securityGroupIdSet",
    "GroupName": "securityGroupSet",
}
# The members (of an operation's request) whose names in EC2's records are not their XML names.
_RENAMED = {
    ("ModifySnapshotAttribute", "Attribute"): "attributeType",
    ("ModifyImageAttribute", "Attribute"): "attributeType",
    ("CreateVolume", "AvailabilityZone"): "zone",
    ("CreateNetworkAclEntry", "Protocol"): "aclProtocol",
    ("CreateNetworkAclEntry", "IcmpTypeCode"): "icmpTypeCode",
}
# RunInstances names the image and counts of the instances it launches as one item of `instancesSet`.
_RUN_INSTANCES_SET = ("ImageId", "MinCount", "MaxCount")


def ec2_request(operation: OperationModel, params: Mapping[str, Any]) -> Any:
    shape = operation.input_shape
    if shape is not None and _newer(shape):
        return {f"{operation.name}Request": _query(shape, params) if params else ""}
    if shape is None or not params:
        return None
    written = _structure(shape, params, output=False)
    for (name, member), renamed in _RENAMED.items():
        if name == operation.name and member in params:
            written[renamed] = written.pop(_member_name(member, shape.members[member], output=False))
    if operation.name == "RunInstances":
        item = {lower_camel(name): params[name] for name in _RUN_INSTANCES_SET if name in params}
        written = {name: value for name, value in written.items() if name not in {"imageId", "minCount", "maxCount"}}
        written["instancesSet"] = {"items": [item]}
    return written


def _newer(shape: Shape) -> bool:
    """Whether an operation is one of EC2's newer ones, which have no XML names of their own (none of their
    members has a lowerCamelCase one): their records hold the query request, under `<Operation>Request`."""
    return not any(str(member.serialization.get("name", ""))[:1].islower() for member in shape.members.values())


def _query(shape: Shape, value: Any) -> Any:
    """A value as the newer operations' records write it: members by their query names, each item of a list
    numbered by its `tag` (a value as its `content`), one item alone."""
    if shape.type_name == "structure" and isinstance(value, Mapping):
        members = shape.members
        return {
            members[name].serialization.get("name") or name: _query(members[name], item)
            for name, item in value.items()
            if name in members and item is not None
        }
    if shape.type_name == "list" and isinstance(value, list | tuple):
        items = [_tagged(_query(shape.member, item), tag) for tag, item in enumerate(value, 1)]
        return items[0] if len(items) == 1 else items
    return REMOVED if shape.metadata.get("sensitive") else scalar(shape, value, _STYLE)


def _tagged(item: Any, tag: int) -> dict[str, Any]:
    return {**item, "tag": tag} if isinstance(item, dict) else {"content": item, "tag": tag}


def ec2_response(operation: OperationModel, answer: Mapping[str, Any], request_id: str) -> dict[str, Any]:
    """An EC2 answer; one whose model has no output (ModifyInstanceAttribute) answered `<return>true</return>`."""
    shape = operation.output_shape
    if operation.input_shape is not None and _newer(operation.input_shape):
        namespace = f"http://ec2.amazonaws.com/doc/{operation.service_model.api_version}/"
        written = _answer(shape, answer) if shape is not None else {}
        return {f"{operation.name}Response": {**written, "requestId": request_id, "xmlns": namespace}}
    written = _structure(shape, answer, output=True) if shape is not None else {"_return": True}
    return {**written, "requestId": request_id}


def _answer(shape: Shape, value: Any) -> Any:
    """A newer operation's answer: members by their XML names, an empty list `""`, items under `item` (one
    alone), times in ISO 8601 with milliseconds (`2026-02-22T16:12:52.000Z`)."""
    if shape.type_name == "structure" and isinstance(value, Mapping):
        members = shape.members
        return {
            _member_name(name, members[name], output=True): _answer(members[name], item)
            for name, item in value.items()
            if name in members and item is not None
        }
    if shape.type_name == "list" and isinstance(value, list | tuple):
        items = [_answer(shape.member, item) for item in value]
        return {"item": items[0] if len(items) == 1 else items} if items else ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return scalar(shape, value, _STYLE)


def _structure(shape: Shape, value: Mapping[str, Any], output: bool) -> dict[str, Any]:
    members = shape.members
    written = {}
    for name, item in value.items():
        if name not in members or item is None:
            continue
        member = members[name]
        written[_member_name(name, member, output)] = (
            REMOVED if name in _REMOVED_MEMBERS else _value(member, item, output)
        )
    return written


def _member_name(name: str, member: Shape, output: bool) -> str:
    xml = member.serialization.get("name") or name
    if output:
        return "_return" if xml == "return" else lower_camel(xml)
    if member.type_name == "list" and "name" in member.serialization:
        return _list_name(xml, member.member.serialization.get("name"))
    return lower_camel(xml)


def _list_name(xml: str, item: str | None) -> str:
    """A request list's name: `Filter` -> `filterSet`, `VpcId` -> `vpcSet`, `KeyName` -> `keySet`, but
    `internetGatewayIdSet` where the items are named `item` (the lists of the later API versions); a plural XML
    name stays (`IpPermissions` -> `ipPermissions`)."""
    if xml in _LIST_NAMES:
        return _LIST_NAMES[xml]
    if xml.endswith("s"):
        return lower_camel(xml)
    if item == "item":
        return lower_camel(xml) + "Set"
    for suffix in ("Id", "Name"):
        if xml.endswith(suffix) and len(xml) > len(suffix):
            return lower_camel(xml.removesuffix(suffix)) + "Set"
    return lower_camel(xml) + "Set"


def _value(shape: Shape, value: Any, output: bool) -> Any:
    """A value of the older operations' form: a list as `{"items": [...]}`, times in epoch milliseconds."""
    if shape.metadata.get("sensitive"):
        return REMOVED
    if shape.type_name == "structure" and isinstance(value, Mapping):
        return _structure(shape, value, output)
    if shape.type_name == "list" and isinstance(value, list | tuple):
        return {"items": [_item(shape, item, output) for item in value]}
    if shape.type_name == "map" and isinstance(value, Mapping):
        return {str(key): _value(shape.value, item, output) for key, item in value.items()}
    return scalar(shape, value, _STYLE)


def _item(shape: Shape, value: Any, output: bool) -> Any:
    """An item of a list: a value becomes an object of one member named after the list's items (after the list
    when they are named `item`: `internetGatewayId`)."""
    member: Shape = shape.member
    if member.type_name in {"structure", "list", "map"}:
        return _value(member, value, output)
    name = member.serialization.get("name") or member.name
    if name == "item":
        name = shape.serialization.get("name") or name
    return {lower_camel(name): _value(member, value, output)}
