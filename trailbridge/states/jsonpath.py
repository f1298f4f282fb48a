"""JSONPath as the States Language uses it (Jayway's dialect, which AWS runs).

A path is compiled once into steps. `$` is the state's input, `$$` the context object, `$name` a
variable. A *definite* path (names, indexes, `.length()`) yields one value; a path with a wildcard, a slice,
a filter or `..` yields the list of what it found (possibly empty), as Jayway does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from trailbridge.states.errors import runtime


class PathNotFound(LookupError):
    """The path selects nothing in the value (a definite path with a missing name or index)."""


@dataclass(frozen=True, slots=True)
class Step:
    kind: str  # "name" | "index" | "wild" | "slice" | "filter" | "descend"
    key: Any = None


@dataclass(frozen=True, slots=True)
class Path:
    text: str
    root: str  # "$" | "$$" | a variable name
    steps: tuple[Step, ...]

    @property
    def definite(self) -> bool:
        return all(s.kind in ("name", "index", "length") for s in self.steps)


_NAME = re.compile(r"[^.\[\]\s()]+")
_BRACKET_NAME = re.compile(r"\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*\"((?:[^\"\\]|\\.)*)\"\s*\]")
_INDEX = re.compile(r"\[\s*(-?\d+)\s*\]")
_SLICE = re.compile(r"\[\s*(-?\d*)\s*:\s*(-?\d*)\s*\]")
_FILTER = re.compile(r"\[\s*\?\s*\((.*?)\)\s*\]")
_CONDITION = re.compile(r"^@((?:\.[^\s=<>!]+)*)\s*(==|!=|<=|>=|<|>)?\s*(.*)$")


@lru_cache(maxsize=4096)
def compile_path(text: str) -> Path:
    if text.startswith("$$"):
        root, pos = "$$", 2
    else:
        match = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?", text)
        if match is None:
            raise ValueError(f"not a JSONPath: {text}")
        root, pos = (match.group(1) or "$"), match.end()
    steps: list[Step] = []
    while pos < len(text):
        pos = _step(text, pos, steps)
    return Path(text, root, tuple(steps))


def _step(text: str, pos: int, steps: list[Step]) -> int:
    if text.startswith("..", pos):
        steps.append(Step("descend"))
        return pos + 2 if text.startswith("..[", pos) else _step(text, pos + 1, steps)
    if text.startswith(".*", pos) or text.startswith("[*]", pos):
        steps.append(Step("wild"))
        return pos + (2 if text[pos] == "." else 3)
    if text.startswith(".length()", pos):
        steps.append(Step("length"))
        return pos + 9
    if text[pos] == ".":
        name = _NAME.match(text, pos + 1)
        if name is None:
            raise ValueError(f"bad JSONPath {text!r} at {pos}")
        steps.append(Step("name", name.group()))
        return name.end()
    for pattern, kind in ((_BRACKET_NAME, "name"), (_INDEX, "index"), (_SLICE, "slice"), (_FILTER, "filter")):
        found = pattern.match(text, pos)
        if found is not None:
            steps.append(Step(kind, _bracket_key(kind, found)))
            return found.end()
    raise ValueError(f"bad JSONPath {text!r} at {pos}")


def _bracket_key(kind: str, found: re.Match[str]) -> Any:
    if kind == "name":
        raw = found.group(1) if found.group(1) is not None else found.group(2)
        return raw.replace("\\'", "'")
    if kind == "index":
        return int(found.group(1))
    if kind == "slice":
        return (int(found.group(1)) if found.group(1) else None, int(found.group(2)) if found.group(2) else None)
    return found.group(1).strip()


def select(path: Path, value: Any) -> Any:
    """The value the path selects: one value for a definite path, else the list of matches."""
    if path.definite:
        return _definite(path, value)
    found = [value]
    for step in path.steps:
        found = [out for item in found for out in _apply(step, item)]
    return found


def _definite(path: Path, value: Any) -> Any:
    for step in path.steps:
        if step.kind == "length":
            if not isinstance(value, list):
                raise PathNotFound(path.text)
            value = len(value)
        elif _has(step, value):
            value = value[step.key]
        else:
            raise PathNotFound(path.text)
    return value


def _has(step: Step, value: Any) -> bool:
    if step.kind == "name":
        return isinstance(value, dict) and step.key in value
    return step.kind == "index" and isinstance(value, list) and -len(value) <= step.key < len(value)


def _apply(step: Step, value: Any) -> list[Any]:
    if step.kind == "name":
        return [value[step.key]] if isinstance(value, dict) and step.key in value else []
    if step.kind == "index":
        ok = isinstance(value, list) and -len(value) <= step.key < len(value)
        return [value[step.key]] if ok else []
    if step.kind == "wild":
        return list(value.values()) if isinstance(value, dict) else list(value) if isinstance(value, list) else []
    if step.kind == "slice":
        return value[step.key[0] : step.key[1]] if isinstance(value, list) else []
    if step.kind == "filter":
        items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else []
        return [item for item in items if _matches(step.key, item)]
    return _descendants(value)


def _descendants(value: Any) -> list[Any]:
    out = [value]
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        out.extend(_descendants(child))
    return out


def _matches(condition: str, item: Any) -> bool:
    parsed = _CONDITION.match(condition)
    if parsed is None:
        raise runtime(f"Unsupported JSONPath filter: {condition}")
    names, operator, literal = parsed.groups()
    try:
        value = _definite(Path("@", "@", tuple(Step("name", n) for n in names.split(".")[1:])), item)
    except PathNotFound:
        return False
    if operator is None:
        return True
    return _compare(value, operator, _literal(literal.strip()))


def _literal(text: str) -> Any:
    if text[:1] in "'\"":
        return text[1:-1]
    if text in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[text]
    return float(text) if "." in text else int(text)


def _compare(left: Any, operator: str, right: Any) -> bool:
    if operator == "==":
        return bool(left == right)
    if operator == "!=":
        return bool(left != right)
    if type(left) is not type(right) and not all(isinstance(v, (int, float)) for v in (left, right)):
        return False
    ops = {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}
    return bool(ops[operator])


def set_path(target: Any, path: Path, value: Any) -> Any:
    """A copy of `target` with `value` placed at a definite `path` (ResultPath), objects made on the way."""
    if not path.steps:
        return value
    step, rest = path.steps[0], Path(path.text, path.root, path.steps[1:])
    if step.kind == "name" and (target is None or isinstance(target, dict)):
        base = dict(target or {})
        base[step.key] = set_path(base.get(step.key), rest, value)
        return base
    if step.kind == "index" and isinstance(target, list) and -len(target) <= step.key < len(target):
        items = list(target)
        items[step.key] = set_path(items[step.key], rest, value)
        return items
    raise PathNotFound(path.text)
