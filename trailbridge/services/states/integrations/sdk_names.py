"""The aws-sdk integrations' member names: Step Functions takes and gives every member in PascalCase, whatever
the service's API calls it (`StateMachineArn` for Step Functions' `stateMachineArn`, `LogGroupName` for CloudWatch
Logs' `logGroupName`). Parameters are renamed to the model's members, and answers' members to PascalCase,
guided by botocore's shapes: map keys are data and keep their names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape


def pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def to_model(shape: Shape | None, value: Any) -> Any:
    """Parameters in PascalCase with the model's member names (a name the model lacks is kept, so that the
    model's validation refuses it by its name)."""
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        members = {pascal(name): name for name in shape.members}
        renamed = {members.get(key, key): item for key, item in value.items()}
        return {key: to_model(shape.members.get(key), item) for key, item in renamed.items()}
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [to_model(shape.member, item) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, Mapping):
        return {key: to_model(shape.value, item) for key, item in value.items()}
    return value


def to_pascal(shape: Shape | None, value: Any) -> Any:
    """An answer with its structures' members in PascalCase."""
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        return {pascal(key): to_pascal(shape.members.get(key), item) for key, item in value.items()}
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [to_pascal(shape.member, item) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, Mapping):
        return {key: to_pascal(shape.value, item) for key, item in value.items()}
    return value
