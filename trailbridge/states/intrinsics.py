"""The 18 intrinsic functions (`States.Format(...)` and the rest) of JSONPath states.

`parse` turns the text of a call into a tree once; `evaluate` runs it, asking `resolve` for the value
of each path argument (`$.x`, `$$.Execution.Id`, `$var`) and `entropy` for UUID and MathRandom, so
that the functions stay deterministic under replay.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from trailbridge.states.errors import intrinsic


class Entropy(Protocol):
    def uuid(self) -> str: ...
    def random(self, start: int, end: int, seed: int | None) -> int: ...


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any
    raw: str | None = None  # a string's text as written (escapes kept), for States.Format


@dataclass(frozen=True, slots=True)
class PathArg:
    path: str


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Literal | PathArg | Call, ...]


Arg = Literal | PathArg | Call
Resolve = Callable[[str], Any]

_CALL = re.compile(r"\s*(States\.[A-Za-z0-9]+)\s*\(")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def is_intrinsic(text: str) -> bool:
    return _CALL.match(text) is not None


@lru_cache(maxsize=4096)
def parse(text: str) -> Call:
    call, end = _call(text, 0)
    if text[end:].strip():
        raise intrinsic(f"Invalid intrinsic function: {text}")
    return call


def _call(text: str, pos: int) -> tuple[Call, int]:
    head = _CALL.match(text, pos)
    if head is None:
        raise intrinsic(f"Invalid intrinsic function: {text}")
    name, pos = head.group(1), head.end()
    args: list[Arg] = []
    pos = _skip(text, pos)
    if text[pos : pos + 1] == ")":
        return Call(name, ()), pos + 1
    while True:
        arg, pos = _arg(text, _skip(text, pos))
        args.append(arg)
        pos = _skip(text, pos)
        if text[pos : pos + 1] == ")":
            return Call(name, tuple(args)), pos + 1
        if text[pos : pos + 1] != ",":
            raise intrinsic(f"Invalid intrinsic function: {text}")
        pos += 1


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _arg(text: str, pos: int) -> tuple[Arg, int]:
    if text.startswith("States.", pos):
        return _call(text, pos)
    if text.startswith("'", pos):
        return _string(text, pos)
    if text.startswith("$", pos):
        return _path(text, pos)
    for word, value in (("true", True), ("false", False), ("null", None)):
        if text.startswith(word, pos):
            return Literal(value), pos + len(word)
    number = _NUMBER.match(text, pos)
    if number is None:
        raise intrinsic(f"Invalid intrinsic function: {text}")
    literal = number.group()
    is_float = number.group(1) or number.group(2)
    return Literal(float(literal) if is_float else int(literal)), number.end()


def _string(text: str, pos: int) -> tuple[Literal, int]:
    end = pos + 1
    while end < len(text) and text[end] != "'":
        end += 2 if text[end] == "\\" else 1
    if end >= len(text):
        raise intrinsic(f"Invalid intrinsic function: {text}")
    raw = text[pos + 1 : end]
    return Literal(re.sub(r"\\(.)", r"\1", raw), raw), end + 1


def _path(text: str, pos: int) -> tuple[PathArg, int]:
    end, depth, quote = pos, 0, ""
    while end < len(text):
        char = text[end]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])" and depth:
            depth -= 1
        elif char in ",)":
            break
        end += 1
    return PathArg(text[pos:end].strip()), end


def evaluate(call: Call, resolve: Resolve, entropy: Entropy) -> Any:
    args = [_value(arg, resolve, entropy) for arg in call.args]
    function = FUNCTIONS.get(call.name)
    if function is None:
        raise intrinsic(f"Function {call.name} is not supported")
    if call.name == "States.Format":
        return _format(call.args, args)
    if call.name in ("States.UUID", "States.MathRandom"):
        return function(entropy, *args)
    return function(*args)


def _value(arg: Arg, resolve: Resolve, entropy: Entropy) -> Any:
    if isinstance(arg, Literal):
        return arg.value
    if isinstance(arg, PathArg):
        return resolve(arg.path)
    return evaluate(arg, resolve, entropy)


def _format(written: tuple[Arg, ...], args: list[Any]) -> str:
    if not args or not isinstance(args[0], str):
        raise intrinsic("The first argument of States.Format must be a string")
    first = written[0]
    template = first.raw if isinstance(first, Literal) and first.raw is not None else args[0]
    pieces = re.split(r"(\\.|\{\})", template)
    values = iter(args[1:])
    needed = sum(1 for p in pieces if p == "{}")
    if needed != len(args) - 1:
        raise intrinsic("Number of arguments in States.Format does not match the number of placeholders")
    return "".join(_text(next(values)) if p == "{}" else p[1:] if p.startswith("\\") else p for p in pieces)


def _text(value: Any) -> str:
    """An argument as States.Format writes it: Java's toString of the value ({a=1, b=[x, y]})."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return _json(value)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _need(condition: bool, message: str) -> None:
    if not condition:
        raise intrinsic(message)


def _integer(value: Any, name: str) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    _need(isinstance(value, int) and not isinstance(value, bool), f"The {name} argument must be an integer")
    return int(value)


def _array(value: Any, function: str) -> list[Any]:
    _need(isinstance(value, list), f"The first argument of {function} must be an array")
    return list(value)


def _string_to_json(text: Any) -> Any:
    _need(isinstance(text, str), "The argument of States.StringToJson must be a string")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise intrinsic(f"The argument of States.StringToJson is not valid JSON: {text}") from exc


def _partition(items: Any, size: Any) -> list[list[Any]]:
    values, size = _array(items, "States.ArrayPartition"), _integer(size, "chunk size")
    _need(size > 0, "The chunk size argument of States.ArrayPartition must be greater than 0")
    return [values[i : i + size] for i in range(0, len(values), size)]


def _range(start: Any, end: Any, step: Any) -> list[int]:
    first, last, by = _integer(start, "start"), _integer(end, "end"), _integer(step, "step")
    _need(by != 0, "The step argument of States.ArrayRange cannot be 0")
    values = list(range(first, last + (1 if by > 0 else -1), by))
    _need(len(values) <= 1000, "States.ArrayRange cannot create an array of more than 1000 items")
    return values


def _get_item(items: Any, index: Any) -> Any:
    values, at = _array(items, "States.ArrayGetItem"), _integer(index, "index")
    _need(0 <= at < len(values), f"Index {at} is out of bounds of the array of length {len(values)}")
    return values[at]


def _unique(items: Any) -> list[Any]:
    out: list[Any] = []
    for item in _array(items, "States.ArrayUnique"):
        if item not in out:
            out.append(item)
    return out


def _base64_encode(text: Any) -> str:
    _need(
        isinstance(text, str) and len(text) <= 10000, "States.Base64Encode takes a string of at most 10000 characters"
    )
    return base64.b64encode(str(text).encode()).decode()


def _base64_decode(text: Any) -> str:
    _need(
        isinstance(text, str) and len(text) <= 10000, "States.Base64Decode takes a string of at most 10000 characters"
    )
    try:
        return base64.b64decode(str(text), validate=True).decode()
    except ValueError as exc:
        raise intrinsic("The argument of States.Base64Decode is not valid base64") from exc


_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _hash(data: Any, algorithm: Any) -> str:
    _need(algorithm in _HASHES, f"Hash algorithm {algorithm} is not supported: use one of {', '.join(_HASHES)}")
    text = data if isinstance(data, str) else _json(data)
    return hashlib.new(_HASHES[algorithm], text.encode()).hexdigest()


def _merge(left: Any, right: Any, deep: Any) -> dict[str, Any]:
    _need(isinstance(left, dict) and isinstance(right, dict), "States.JsonMerge merges two objects")
    _need(deep is False, "States.JsonMerge supports the shallow mode only: its third argument must be false")
    return {**left, **right}


def _random(entropy: Entropy, start: Any, end: Any, seed: Any = None) -> int:
    low, high = _rounded(start, "start"), _rounded(end, "end")
    _need(low < high, "The start argument of States.MathRandom must be less than its end argument")
    return entropy.random(low, high, None if seed is None else _integer(seed, "seed"))


def _add(left: Any, right: Any) -> int:
    return _rounded(left, "first") + _rounded(right, "second")


def _rounded(value: Any, name: str) -> int:
    """A number as MathAdd takes it: rounded half up, as Java's Math.round (-1.5 -> -1, 2.5 -> 3)."""
    if isinstance(value, float):
        return math.floor(value + 0.5)
    return _integer(value, name)


def _split(text: Any, delimiters: Any) -> list[str]:
    _need(isinstance(text, str) and isinstance(delimiters, str), "States.StringSplit takes two strings")
    if not delimiters:
        return [text]
    parts = re.split("[" + re.escape(delimiters) + "]", text)
    return [part for part in parts if part]


def _contains(items: Any, value: Any) -> bool:
    return value in _array(items, "States.ArrayContains")


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "States.Format": _format,
    "States.StringToJson": _string_to_json,
    "States.JsonToString": _json,
    "States.Array": lambda *items: list(items),
    "States.ArrayPartition": _partition,
    "States.ArrayContains": _contains,
    "States.ArrayRange": _range,
    "States.ArrayGetItem": _get_item,
    "States.ArrayLength": lambda items: len(_array(items, "States.ArrayLength")),
    "States.ArrayUnique": _unique,
    "States.Base64Encode": _base64_encode,
    "States.Base64Decode": _base64_decode,
    "States.Hash": _hash,
    "States.JsonMerge": _merge,
    "States.MathRandom": _random,
    "States.MathAdd": _add,
    "States.StringSplit": _split,
    "States.UUID": lambda entropy: entropy.uuid(),
}
