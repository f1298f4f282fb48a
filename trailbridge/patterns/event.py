"""Reading events: parse once, then pull out only the fields that some pattern mentions.

A `PathTrie` holds the dotted paths a matcher's patterns use. `compile_extractor` turns it into a
function that walks an event along those paths only and returns, per path slot, the leaf values
found there (arrays contribute each element; an object or an empty array is not a leaf), plus the
set of paths where the event has a non-empty array. That set tells the matcher when array
consistency could matter; only then does it call `extract_members`, which also records for every
value the array elements it sits in.

Both walks use an explicit stack, so deep events cannot exhaust Python's recursion limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from trailbridge.patterns.values import Leaf

Membership = tuple[tuple[int, int], ...]  # (array id, element index) for each enclosing array


@dataclass(slots=True)
class Step:
    name: str  # the dotted path up to here
    slot: int = -1  # where values of this exact path go, or -1 when no pattern uses it
    children: dict[str, Step] = field(default_factory=dict)
    deep: bool = False  # some path continues at least two keys below this step

    def descend(self, parts: list[str]) -> Step | None:
        step: Step | None = self
        for part in parts:
            step = step.children.get(part) if step is not None else None
        return step


class PathTrie:
    """The dotted paths in use, each with a slot number, arranged as a tree of key steps."""

    def __init__(self, paths: Iterable[str] = ()) -> None:
        self.root = Step("")
        self.slots: dict[str, int] = {}
        for path in paths:
            self.add(path)

    def add(self, path: str) -> int:
        slot = self.slots.get(path)
        if slot is not None:
            return slot
        slot = len(self.slots)
        self.slots[path] = slot
        step = self.root
        parts = path.split(".")
        for depth, part in enumerate(parts):
            if depth < len(parts) - 1:
                step.deep = True
            nxt = step.children.get(part)
            if nxt is None:
                nxt = step.children[part] = Step(".".join(parts[: depth + 1]))
            step = nxt
        step.slot = slot
        return slot


_MISSING: Any = object()


def parse_event(event: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    """The event as a dict; raises ValueError for text that is not a JSON object."""
    if isinstance(event, dict):
        return event
    if isinstance(event, Mapping):
        return dict(event)
    try:
        parsed = orjson.loads(event)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"Event is not valid JSON: {exc}") from None
    if type(parsed) is not dict:
        raise ValueError("Event is not a JSON object")
    return parsed


def _has_dotted_key(obj: dict[str, Any]) -> bool:
    try:
        return "." in "".join(obj)
    except TypeError:  # a caller's dict with keys that are not strings
        return False


def _dotted(obj: dict[str, Any], step: Step) -> list[tuple[Any, Step]]:
    """Values under keys that contain dots: EventBridge flattens `{"a.b": 1}` like `{"a": {"b": 1}}`."""
    found = []
    for key, value in obj.items():
        if "." in key:
            target = step.descend(key.split("."))
            if target is not None:
                found.append((value, target))
    return found


def extract_members(event: dict[str, Any], trie: PathTrie) -> list[list[tuple[Leaf, Membership]]]:
    """Per slot, each leaf value with the array elements that enclose it."""
    out: list[list[tuple[Leaf, Membership]]] = [[] for _ in trie.slots]
    next_array = 0
    work: list[tuple[Any, Step, Membership]] = [(event, trie.root, ())]
    while work:
        value, step, members = work.pop()
        kind = type(value)
        if kind is dict:
            for key, child in step.children.items():
                inner = value.get(key, _MISSING)
                if inner is not _MISSING:
                    work.append((inner, child, members))
            if step.deep and _has_dotted_key(value):
                work.extend((inner, child, members) for inner, child in _dotted(value, step))
        elif kind is list:
            array_id, next_array = next_array, next_array + 1
            work.extend((e, step, (*members, (array_id, i))) for i, e in enumerate(value))
        elif step.slot >= 0:
            out[step.slot].append((value, members))
    return out


_MAX_INLINE_INDENT = 4 + 8 * 12  # deeper paths are left to the generic walk (Python caps nesting)
Extractor = Callable[[dict[str, Any]], tuple[list[list[Leaf] | None], set[str] | None]]


def compile_extractor(trie: PathTrie) -> Extractor:
    """The extraction function for this trie, generated as straight-line code.

    The generated code handles the common case (objects and leaves) inline and hands arrays, and
    objects with dotted keys, to the generic walk. It is regenerated only when a path is added.
    """
    lines = [
        "def extract(event):",
        f"    out = [None] * {len(trie.slots)}",
        "    arrays = None",
    ]
    steps: dict[str, Step] = {}
    counter = iter(range(1_000_000))

    def emit(obj: str, step: Step, indent: str) -> None:
        deeper = indent + "        "
        for key, child in step.children.items():
            var = f"v{next(counter)}"
            steps[var] = child
            lines.append(f"{indent}{var} = {obj}.get({key!r}, MISSING)")
            lines.append(f"{indent}if {var} is not MISSING:")
            lines.append(f"{indent}    kind = type({var})")
            lines.append(f"{indent}    if kind is dict:")
            if child.children and len(deeper) > _MAX_INLINE_INDENT:
                lines.append(f"{deeper}arrays = walk([({var}, STEPS[{var!r}])], out, arrays)")
            elif child.children:
                emit(var, child, deeper)
            else:
                lines.append(f"{indent}        pass")
            lines.append(f"{indent}    elif kind is list:")
            lines.append(f"{indent}        arrays = walk([({var}, STEPS[{var!r}])], out, arrays)")
            if child.slot >= 0:
                lines.append(f"{indent}    else:")
                lines.append(f"{indent}        out[{child.slot}] = [{var}]")
        if step.deep:
            steps[f"{obj}@"] = step
            lines.append(f"{indent}if has_dotted({obj}):")
            lines.append(f"{indent}    arrays = walk(dotted({obj}, STEPS[{obj + '@'!r}]), out, arrays)")

    emit("event", trie.root, "    ")
    lines.append("    return out, arrays")
    namespace: dict[str, Any] = {
        "MISSING": _MISSING,
        "STEPS": steps,
        "walk": _walk,
        "has_dotted": _has_dotted_key,
        "dotted": _dotted,
    }
    exec(compile("\n".join(lines), "<trailbridge extractor>", "exec"), namespace)
    return namespace["extract"]  # type: ignore[no-any-return]


def _walk(work: list[tuple[Any, Step]], out: list[list[Leaf] | None], arrays: set[str] | None) -> set[str] | None:
    """The generic walk from some (value, step) pairs, adding to `out`; returns the array paths seen."""
    while work:
        value, step = work.pop()
        kind = type(value)
        if kind is dict:
            for key, child in step.children.items():
                inner = value.get(key, _MISSING)
                if inner is not _MISSING:
                    work.append((inner, child))
            if step.deep and _has_dotted_key(value):
                work.extend(_dotted(value, step))
        elif kind is list:
            if value:
                if arrays is None:
                    arrays = set()
                arrays.add(step.name)
                work.extend((element, step) for element in value)
        elif step.slot >= 0:
            values = out[step.slot]
            if values is None:
                out[step.slot] = [value]
            else:
                values.append(value)
    return arrays
