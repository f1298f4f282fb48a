"""JSONPath data flow: InputPath, Parameters-style templates (`"key.$": path`), ResultPath, OutputPath.

`Scope` holds what a path can reach: the state's input (`$`), the context object (`$$`) and the
variables (`$name`). Errors are worded as AWS words them in the execution's failure cause.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

from trailbridge.states import intrinsics, jsonpath
from trailbridge.states.errors import intrinsic, runtime
from trailbridge.states.intrinsics import Entropy


@dataclass(slots=True)
class Scope:
    input: Any
    context: dict[str, Any]
    variables: dict[str, Any]
    entropy: Entropy

    def root(self, name: str) -> Any:
        if name == "$":
            return self.input
        if name == "$$":
            return self.context
        if name not in self.variables:
            raise jsonpath.PathNotFound(name)
        return self.variables[name]

    def select(self, text: str) -> Any:
        path = jsonpath.compile_path(text)
        return jsonpath.select(path, self.root(path.root))


def compact(value: Any) -> str:
    """JSON as AWS writes it in histories and causes: no spaces, non-ASCII characters as they are."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # an integer beyond 64 bits
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def input_path(scope: Scope, text: str | None) -> Any:
    """InputPath/OutputPath: `null` gives `{}`; a missing path is AWS's "Invalid path" error."""
    if text is None:
        return {}
    try:
        return scope.select(text)
    except jsonpath.PathNotFound:
        raise runtime(f"Invalid path '{text}' : No results for path: {_bracketed(text)}") from None


def _bracketed(text: str) -> str:
    path = jsonpath.compile_path(text)
    keys = "".join(f"['{s.key}']" if s.kind == "name" else f"[{s.key}]" for s in path.steps)
    return "$" + keys


def template(scope: Scope, value: Any, field: str) -> Any:
    """Parameters, ResultSelector, ItemSelector, Assign: keys ending `.$` take a path or an intrinsic."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key.endswith(".$") and isinstance(item, str):
                out[key[:-2]] = evaluate_expression(scope, item, key)
            else:
                out[key] = template(scope, item, key)
        return out
    if isinstance(value, list):
        return [template(scope, item, field) for item in value]
    return value


def evaluate_expression(scope: Scope, text: str, field: str) -> Any:
    if intrinsics.is_intrinsic(text):
        return intrinsics.evaluate(intrinsics.parse(text), lambda p: _argument(scope, p), scope.entropy)
    try:
        return scope.select(text)
    except jsonpath.PathNotFound:
        where = compact(scope.context.get("Execution", {}).get("Input")) if text.startswith("$$") else None
        shown = where if where is not None else compact(scope.input)
        raise runtime(
            f"The JSONPath '{text}' specified for the field '{field}' could not be found in the input '{shown}'"
        ) from None
    except ValueError:
        raise runtime(
            f"The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call"
        ) from None


def _argument(scope: Scope, path: str) -> Any:
    try:
        return scope.select(path)
    except jsonpath.PathNotFound:
        raise intrinsic(
            f"The JsonPath argument for the field '{path}' could not be found in the input '{compact(scope.input)}'"
        ) from None


def result_path(scope: Scope, text: str | None, result: Any, present: bool) -> Any:
    """ResultPath: absent keeps the result alone, `null` keeps the input, a path places the result."""
    if not present or text == "$":
        return result
    if text is None:
        return scope.input
    path = jsonpath.compile_path(text)
    try:
        return jsonpath.set_path(scope.input, path, result)
    except jsonpath.PathNotFound:
        raise runtime(f"Invalid path '{text}': The ResultPath could not be applied to the input") from None
