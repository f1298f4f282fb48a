"""A slow, obviously correct interpreter of compiled patterns: the test oracle for `Matcher`.

It flattens the *whole* event into (dotted path, value, array membership) triples, then for each
branch tries every combination of values, keeping only combinations whose values sit in the same
element of every array they share. No index, no memo, no fast path. The property tests check the matcher
against it; `explain` and `hints` use its `flatten` to say what an event holds where (never to decide a match).
"""

from __future__ import annotations

import itertools
from typing import Any

from trailbridge.patterns.compiler import Branch, compile_branches
from trailbridge.patterns.event import parse_event
from trailbridge.patterns.values import Leaf

Membership = tuple[tuple[int, int], ...]  # (array id, element index) for each enclosing array
Flat = list[tuple[str, Leaf, Membership]]


def flatten(event: dict[str, Any]) -> Flat:
    out: Flat = []
    arrays = itertools.count()
    work: list[tuple[str | None, Any, Membership]] = [(None, event, ())]
    while work:
        path, value, members = work.pop()
        if isinstance(value, dict):
            for key, inner in value.items():
                work.append((key if path is None else f"{path}.{key}", inner, members))
        elif isinstance(value, list):
            array = next(arrays)
            for index, element in enumerate(value):
                work.append((path, element, (*members, (array, index))))
        elif path is not None:
            out.append((path, value, members))
    return out


def _compatible(memberships: tuple[Membership, ...]) -> bool:
    seen: dict[int, int] = {}
    for membership in memberships:
        for array, index in membership:
            if seen.setdefault(array, index) != index:
                return False
    return True


def branch_matches(branch: Branch, flat: Flat) -> bool:
    options: list[list[Membership]] = []
    for field in branch:
        present = [(v, m) for p, v, m in flat if p == field.path]
        if not present:
            if field.absent_ok:
                continue
            return False
        accepted = [m for v, m in present if any(t.fn(v) for t in field.tests)]
        if not accepted:
            return False
        options.append(accepted)
    return any(_compatible(choice) for choice in itertools.product(*options))


def matches(pattern: str, event: str | dict[str, Any]) -> bool:
    flat = flatten(parse_event(event))
    return any(branch_matches(b, flat) for b in compile_branches(pattern))
