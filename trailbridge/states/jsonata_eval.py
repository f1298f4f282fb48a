"""JSONata for `QueryLanguage: JSONata` states: `{% expression %}` strings, `$states`, variables.

The engine is jsonata-python (pure Python, a port of the reference jsonata-java, maintained, and the most
used JSONata implementation for Python on the package index; no native build, so it installs wherever
trailbridge does). Step Functions adds $partition, $range, $hash, $random, $uuid and $parse.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from trailbridge.states import intrinsics
from trailbridge.states.errors import QUERY_EVALUATION, StatesError
from trailbridge.states.intrinsics import Entropy

_RECURSION_LIMIT = sys.getrecursionlimit()
import jsonata  # type: ignore[import-untyped]  # noqa: E402
from jsonata.utils import Utils  # type: ignore[import-untyped]  # noqa: E402

# Importing jsonata raises the interpreter's recursion limit to 10,000 for the whole process, deep enough to
# overflow the C stack in code that counts on RecursionError (the wire parsers, the pattern compiler): put
# it back. An expression's own depth and time are bounded per evaluation instead.
sys.setrecursionlimit(_RECURSION_LIMIT)
_TIMEOUT_MS = 2_000
_STACK_DEPTH = 200


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


def evaluate(text: str, field: str, states: dict[str, Any], variables: dict[str, Any], entropy: Entropy) -> Any:
    source = text[2:-2].strip()
    try:
        expression = jsonata.Jsonata(source, timeout=_TIMEOUT_MS, stack=_STACK_DEPTH)
        expression.set_output_convert_nulls(False)
        _register(expression, entropy)
        result = expression.evaluate(None, {**variables, "states": states})
    except jsonata.JException as exc:
        raise StatesError(
            QUERY_EVALUATION,
            f"The JSONata expression '{source}' specified for the field '{field}' threw an error: {exc}",
        ) from None
    except RecursionError:
        raise StatesError(
            QUERY_EVALUATION,
            f"The JSONata expression '{source}' specified for the field '{field}' nests too deeply.",
        ) from None
    if result is None:
        raise StatesError(
            QUERY_EVALUATION,
            f"The JSONata expression '{source}' specified for the field '{field}' returned nothing (undefined).",
        )
    return _plain(result)


def template(value: Any, field: str, states: dict[str, Any], variables: dict[str, Any], entropy: Entropy) -> Any:
    """Arguments, Output, Assign: every `{% %}` string inside objects and arrays is evaluated."""
    if is_expression(value):
        return evaluate(value, field, states, variables, entropy)
    if isinstance(value, dict):
        return {k: template(v, f"{field}/{k}", states, variables, entropy) for k, v in value.items()}
    if isinstance(value, list):
        return [template(v, f"{field}[{i}]", states, variables, entropy) for i, v in enumerate(value)]
    return value


def _plain(value: Any) -> Any:
    if value is Utils.NULL_VALUE:
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _register(expression: jsonata.Jsonata, entropy: Entropy) -> None:
    functions = intrinsics.FUNCTIONS
    expression.register_lambda("partition", lambda items, size: functions["States.ArrayPartition"](_plain(items), size))
    expression.register_lambda("range", functions["States.ArrayRange"])
    expression.register_lambda("hash", lambda value, algorithm: functions["States.Hash"](_plain(value), algorithm))
    expression.register_lambda("random", lambda: entropy.random(0, 2**31, None) / 2**31)
    expression.register_lambda("uuid", entropy.uuid)
    expression.register_lambda("parse", json.loads)
