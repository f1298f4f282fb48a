"""Validate request parameters against a botocore input shape, worded as AWS words it.

AWS answers a request that breaks its model's constraints with one ValidationException listing every
violation: `2 validation errors detected: Value 'x' at 'name' failed to satisfy constraint: Member must
...; Value ...`. Member paths use lowerCamelCase names, and list members are `targets.1.member.id`.
Nothing here is written per operation: it walks the shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from trailbridge.errors import InvalidInputError

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "double": (int, float),
    "float": (int, float),
    "timestamp": (datetime, int, float, str),
    "blob": (bytes, bytearray, str),
}


@cache
def service_model(name: str) -> ServiceModel:
    """botocore's model of an AWS service (`events`, `sqs`, `cloudtrail`, ...)."""
    return botocore.session.get_session().get_service_model(name)


def operation(service: str, name: str) -> OperationModel:
    return service_model(service).operation_model(name)


class ModelValidationError(InvalidInputError):
    """Parameters that break the model; `paths` names the members at fault (`targets.1.member.id`)."""

    def __init__(self, message: str, paths: tuple[str, ...]) -> None:
        super().__init__(message)
        self.paths = paths


class _Problem(str):
    """One violation's text, knowing the member path it is about."""

    path = ""


def _problem(path: str, text: str) -> _Problem:
    problem = _Problem(text)
    problem.path = path
    return problem


def validate(op: OperationModel, params: Mapping[str, Any]) -> None:
    """Raise `ModelValidationError` with AWS's wording if `params` break the operation's input shape."""
    shape = op.input_shape
    if shape is None:
        return
    problems = list(_check_structure(shape, params, ""))
    if problems:
        count = len(problems)
        noun = "validation error" if count == 1 else "validation errors"
        paths = tuple(problem.path for problem in problems)
        raise ModelValidationError(f"{count} {noun} detected: " + "; ".join(problems), paths)


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member


def _fail(value: Any, path: str, constraint: str) -> _Problem:
    shown = "null" if value is None else f"'{value}'"
    return _problem(path, f"Value {shown} at '{path}' failed to satisfy constraint: Member must {constraint}")


def _check(shape: Shape, value: Any, path: str) -> Iterator[_Problem]:
    if isinstance(shape, StructureShape):
        if not isinstance(value, Mapping):
            yield _fail(value, path, "be a structure")
        else:
            yield from _check_structure(shape, value, path)
    elif isinstance(shape, ListShape):
        yield from _check_list(shape, value, path)
    elif isinstance(shape, MapShape):
        yield from _check_map(shape, value, path)
    else:
        yield from _check_scalar(shape, value, path)


def _check_structure(shape: StructureShape, value: Mapping[str, Any], path: str) -> Iterator[_Problem]:
    for name in shape.required_members:
        if value.get(name) is None:
            yield _fail(None, _join(path, _camel(name)), "not be null")
    for name, member_value in value.items():
        member = shape.members.get(name)
        if member is None:
            yield _problem(_join(path, _camel(name)), f"Unknown parameter '{_join(path, _camel(name))}'")
        elif member_value is not None:
            yield from _check(member, member_value, _join(path, _camel(name)))


def _check_list(shape: ListShape, value: Any, path: str) -> Iterator[_Problem]:
    if not isinstance(value, list | tuple):
        yield _fail(value, path, "be a list")
        return
    yield from _check_size(shape, value, path, "length")
    for index, item in enumerate(value, 1):
        yield from _check(shape.member, item, f"{path}.{index}.member")


def _check_map(shape: MapShape, value: Any, path: str) -> Iterator[_Problem]:
    if not isinstance(value, Mapping):
        yield _fail(value, path, "be a map")
        return
    yield from _check_size(shape, value, path, "length")
    for key, item in value.items():
        yield from _check(shape.key, key, f"{path}.key")
        yield from _check(shape.value, item, f"{path}.{key}.value")


def _check_scalar(shape: Shape, value: Any, path: str) -> Iterator[_Problem]:
    kinds = _TYPES.get(shape.type_name, (object,))
    if not isinstance(value, kinds) or (shape.type_name != "boolean" and isinstance(value, bool)):
        yield _fail(value, path, f"be of type {shape.type_name}")
        return
    meta = shape.metadata
    if shape.type_name == "string":
        yield from _check_size(shape, value, path, "length")
        if "enum" in meta and value not in meta["enum"]:
            yield _fail(value, path, f"satisfy enum value set: [{', '.join(meta['enum'])}]")
        if "pattern" in meta and not _pattern(meta["pattern"]).fullmatch(str(value)):
            yield _fail(value, path, f"satisfy regular expression pattern: {meta['pattern']}")
    elif shape.type_name in ("integer", "long", "double", "float"):
        yield from _check_size(shape, value, path, "value", measure=False)


def _check_size(shape: Shape, value: Any, path: str, what: str, *, measure: bool = True) -> Iterator[_Problem]:
    size = len(value) if measure else value
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        yield _fail(value, path, f"have {what} greater than or equal to {low}")
    if high is not None and size > high:
        yield _fail(value, path, f"have {what} less than or equal to {high}")


@cache
def _pattern(text: str) -> re.Pattern[str]:
    # AWS patterns are Java regexes; the ones in the models are also valid Python (DOTALL for `.`).
    return re.compile(text, re.DOTALL)
