"""Reading events: parse once, then pull out only the fields that some pattern mentions.

A `PathTrie` holds the dotted paths a matcher's patterns use. `extract` walks an event along those
paths only and returns, per path slot, the leaf values found there (arrays contribute each element;
an object or an empty array is not a leaf), plus the set of paths where the event has a non-empty
array. `_core.Scanner` does the same walk in C, on JSON text or on the parsed event; `extract` is
its specification and its fallback. The set of array paths tells the matcher when array consistency
could matter; only then does it call `extract_places`, which keeps the values in the shape of the
event's arrays (a `Place` per array element), for `consistency.consistent` to reason over.

Both walks use an explicit stack, so deep events cannot exhaust Python's recursion limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from trailbridge.patterns.values import Leaf


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


class Place:
    """One path of the event within one array element (or within the event itself, outside its arrays):
    the leaf values there, the arrays there (each a list of its elements' places), and the places one key
    further down. Keys with dots are split, so `{"a.b": v}` and `{"a": {"b": v}}` reach one place, as
    they are one path; two arrays at one place come only from such spellings."""

    __slots__ = ("arrays", "kids", "leaves")

    def __init__(self) -> None:  # empty until `extract_places` fills them: most places hold one thing
        self.leaves: list[Leaf] = _NONE
        self.arrays: list[list[Place]] = _NONE
        self.kids: dict[str, Place] = _NO_KIDS

    def kid(self, key: str) -> Place:
        if self.kids is _NO_KIDS:
            self.kids = {}
        place = self.kids.get(key)
        if place is None:
            place = self.kids[key] = Place()
        return place


_NONE: list[Any] = []  # shared and never written: `extract_places` gives a place a list of its own first
_NO_KIDS: dict[str, Place] = {}


@dataclass(slots=True)
class Places:
    root: Place
    present: frozenset[int]  # the slots where the event has at least one value
    spent: int = 0  # combinations of sets of fields made for this event so far (`consistency.BUDGET`)


def extract_places(event: dict[str, Any], trie: PathTrie) -> Places:
    """The event's values along the trie's paths, arranged by the arrays that enclose them."""
    root = Place()
    present: set[int] = set()
    work: list[tuple[Any, Step, Place]] = [(event, trie.root, root)]
    while work:
        value, step, place = work.pop()
        kind = type(value)
        if kind is dict:
            for key, child in step.children.items():
                inner = value.get(key, _MISSING)
                if inner is not _MISSING:
                    work.append((inner, child, place.kid(key)))
            if step.deep and _has_dotted_key(value):
                for key, inner in value.items():
                    if "." in key and (target := step.descend(parts := key.split("."))) is not None:
                        below = place
                        for part in parts:
                            below = below.kid(part)
                        work.append((inner, target, below))
        elif kind is list:
            if value:
                elements = [Place() for _ in value]
                if place.arrays is _NONE:
                    place.arrays = []
                place.arrays.append(elements)
                work.extend(zip(value, (step,) * len(value), elements, strict=True))
        elif step.slot >= 0:
            if place.leaves is _NONE:
                place.leaves = []
            place.leaves.append(value)
            present.add(step.slot)
    return Places(root, frozenset(present))


def extract(event: dict[str, Any], trie: PathTrie) -> tuple[list[list[Leaf] | None], set[str] | None]:
    """Per slot, the leaf values of the event at that path (None when it has none), and the set of
    paths where the event has a non-empty array. `_core.Scanner` does the same walk in C; this one is
    its specification and handles what the C walk leaves to it (dotted keys)."""
    out: list[list[Leaf] | None] = [None] * len(trie.slots)
    return out, _walk([(event, trie.root)], out, None)


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
