"""A target's input, compiled once at PutTargets and rendered per delivery.

Quoting follows EventBridge:
- a JSON template (one that starts with `{` or `[`): a value outside quotes is written as JSON (a string
  gets its quotes); inside quotes, a string is written escaped without its quotes and a number, boolean or
  null as its JSON text. An object or list inside quotes is written as its JSON text too, as AWS writes it,
  which leaves the output invalid JSON (unless it is `{}` or `[]`): that delivery fails (`TransformError`)
  and AWS delivers nothing. A path that finds nothing gives `""` outside quotes and nothing inside.
- any other template is plain text: values are written as text without quotes (strings bare, an object as
  `{key:value,...}` and a list as `[a,b]`, their strings bare too, the rest as JSON) and a path that finds
  nothing gives nothing.
`<aws.events.event>` (the event without `detail`, with `detail-type` as `detailType`) and
`<aws.events.event.json>` (the whole event) may only stand outside quotes in a JSON template.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson

from trailbridge.clock import iso8601_millis
from trailbridge.errors import InvalidInputError, TrailbridgeError
from trailbridge.transform.jsonpath import MISSING, JsonPath, compile_path

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_RULE_ARN, _RULE_NAME = "aws.events.rule-arn", "aws.events.rule-name"
_EVENT, _EVENT_JSON, _INGESTION = "aws.events.event", "aws.events.event.json", "aws.events.event.ingestion-time"
_PREDEFINED = frozenset({_RULE_ARN, _RULE_NAME, _EVENT, _EVENT_JSON, _INGESTION})
_JSON_ONLY = frozenset({_EVENT, _EVENT_JSON})


class TransformError(TrailbridgeError):
    """A template filled in for one event is not what its target can be given (a JSON template whose
    output is not JSON): the delivery fails and nothing is delivered."""


class InputContext(NamedTuple):
    rule_arn: str
    rule_name: str
    ingestion_time: float


class _Slot(NamedTuple):
    name: str
    quoted: bool


class TargetInput(ABC):
    """Renders the text a target receives for one event."""

    @abstractmethod
    def render(self, event: Mapping[str, Any], event_json: bytes, context: InputContext) -> bytes: ...


class _WholeEvent(TargetInput):
    def render(self, event: Mapping[str, Any], event_json: bytes, context: InputContext) -> bytes:
        return event_json


class _Constant(TargetInput):
    def __init__(self, text: str) -> None:
        self._text = text.encode()

    def render(self, event: Mapping[str, Any], event_json: bytes, context: InputContext) -> bytes:
        return self._text


class _Path(TargetInput):
    def __init__(self, path: JsonPath) -> None:
        self._path = path

    def render(self, event: Mapping[str, Any], event_json: bytes, context: InputContext) -> bytes:
        found = self._path.find(event)
        return b"null" if found is MISSING else orjson.dumps(found)


class _Template(TargetInput):
    def __init__(self, target_id: str, parts: list[str | _Slot], paths: dict[str, JsonPath], is_json: bool) -> None:
        self._target_id, self._parts, self._paths, self._json = target_id, parts, paths, is_json

    def render(self, event: Mapping[str, Any], event_json: bytes, context: InputContext) -> bytes:
        values = {name: path.find(event) for name, path in self._paths.items()}
        out: list[str] = []
        for part in self._parts:
            if isinstance(part, str):
                out.append(part)
            else:
                out.append(self._format(part, _value(part.name, values, event, context)))
        text = "".join(out)
        if not self._json:
            return text.encode()
        try:
            return orjson.dumps(orjson.loads(text))  # EventBridge passes JSON minified
        except orjson.JSONDecodeError:
            raise TransformError(self._invalid_json(values)) from None

    def _format(self, slot: _Slot, value: Any) -> str:
        if value is MISSING:
            return '""' if self._json and not slot.quoted else ""
        if not self._json:
            return _bare(value)
        text = orjson.dumps(value).decode()
        return text[1:-1] if slot.quoted and isinstance(value, str) else text

    def _invalid_json(self, values: dict[str, Any]) -> str:
        slots = [part for part in self._parts if isinstance(part, _Slot) and part.quoted]
        quoted = sorted({slot.name for slot in slots if isinstance(values.get(slot.name), dict | list)})
        why = f": {', '.join(f'<{name}>' for name in quoted)} inside quotes held an object or list" if quoted else ""
        return f"InputTemplate for target {self._target_id} did not give valid JSON for this event{why}."


def _bare(value: Any) -> str:
    """A value as a plain-text template writes it: without quotes, at any depth."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ",".join(f"{key}:{_bare(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_bare(item) for item in value) + "]"
    return orjson.dumps(value).decode()


def _value(name: str, values: dict[str, Any], event: Mapping[str, Any], context: InputContext) -> Any:
    if name in values:
        return values[name]
    if name == _RULE_ARN:
        return context.rule_arn
    if name == _RULE_NAME:
        return context.rule_name
    if name == _INGESTION:
        return iso8601_millis(context.ingestion_time)
    if name == _EVENT_JSON:
        return event
    return {("detailType" if k == "detail-type" else k): v for k, v in event.items() if k != "detail"}


def compile_target_input(target: Mapping[str, Any]) -> TargetInput:
    """From a PutTargets target: validate its Input/InputPath/InputTransformer (at most one) and compile it."""
    target_id = target.get("Id", "")
    given = [key for key in ("Input", "InputPath", "InputTransformer") if target.get(key) is not None]
    if len(given) > 1:
        raise InvalidInputError(
            f"Only one of Input, InputPath, or InputTransformer must be provided for target {target_id}."
        )
    if target.get("Input") is not None:
        return _constant(target_id, target["Input"])
    if target.get("InputPath") is not None:
        return _Path(_path(target_id, target["InputPath"]))
    if target.get("InputTransformer") is not None:
        return _template(target_id, target["InputTransformer"])
    return _WholeEvent()


def _constant(target_id: str, text: str) -> TargetInput:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        raise InvalidInputError(f"Input for target {target_id} is not valid JSON.") from None
    return _Constant(text)


def _path(target_id: str, text: str) -> JsonPath:
    try:
        return compile_path(text)
    except InvalidInputError as exc:
        raise InvalidInputError(f"Invalid InputPath for target {target_id}: {exc.message}") from None


def _template(target_id: str, transformer: Mapping[str, Any]) -> TargetInput:
    paths = {name: _path(target_id, text) for name, text in (transformer.get("InputPathsMap") or {}).items()}
    template = transformer["InputTemplate"]
    is_json = template.lstrip()[:1] in ("{", "[")
    parts = _split(template)
    for part in parts:
        if isinstance(part, _Slot):
            _check_slot(target_id, part, paths, is_json)
    if is_json:
        _check_json(target_id, parts)
    return _Template(target_id, parts, paths, is_json)


def _split(template: str) -> list[str | _Slot]:
    """Literal text and placeholders, each placeholder knowing whether it stands inside a JSON string."""
    parts: list[str | _Slot] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        literal = template[position : match.start()]
        parts.append(literal)
        parts.append(_Slot(match.group(1), _inside_string(template, match.start())))
        position = match.end()
    parts.append(template[position:])
    return [part for part in parts if part != ""]


def _inside_string(text: str, end: int) -> bool:
    inside, escaped = False, False
    for char in text[:end]:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            inside = not inside
    return inside


def _check_slot(target_id: str, slot: _Slot, paths: dict[str, JsonPath], is_json: bool) -> None:
    if slot.name not in paths and slot.name not in _PREDEFINED:
        raise InvalidInputError(f"InputTemplate for target {target_id} contains invalid placeholder {slot.name}.")
    if slot.name in _JSON_ONLY and (slot.quoted or not is_json):
        raise InvalidInputError(
            f"InputTemplate for target {target_id} contains placeholder {slot.name} valid only for JSON template."
        )


def _check_json(target_id: str, parts: list[str | _Slot]) -> None:
    probe = "".join(part if isinstance(part, str) else ("" if part.quoted else "null") for part in parts)
    try:
        orjson.loads(probe)
    except orjson.JSONDecodeError:
        raise InvalidInputError(
            f"InputTemplate for target {target_id} is not valid JSON: a template that starts with {{ or [ must "
            "be JSON once its placeholders are filled in."
        ) from None
