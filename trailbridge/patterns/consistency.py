"""Array consistency, decided without enumerating combinations of values.

A branch's fields that lie inside one event array must match within one element of it (PATTERNS.md;
`reference.branch_matches` states it as a search over every combination of values, which grows as the
product of the values' counts: 40 x 1,600 x 11,200 for an event of arrays nested 40 x 40 x 7).

Here the question is asked of the event's shape instead (`event.extract_places`): can the values
within one place (an event path inside one array element) satisfy a given set of the branch's fields
together? Outside dotted keys, every field has one way into a place: by its value there, or by the
one key its path continues with, or, where the place holds an array, by the one element chosen, so

- a place without arrays satisfies the fields when its values satisfy those of its own path and each
  key below satisfies the fields whose path continues with it;
- a place that is an array satisfies them when one of its elements satisfies them all.

Each place is visited at most once per branch: the cost is linear in the values along the branch's
paths. Only keys with dots can give a place more than one array, or an array beside values or keys
(`{"a.b": [...], "a": {"b": {...}}}`): a field may then come from any of them, and the place is
asked for every maximal set of fields each of its parts can satisfy (bit masks), joined part by part.
Those sets are subsets of the n fields below the place, at most C(n, n/2) of them. They grow only where
an event spells one path in several ways with arrays in more than one of them, and no method avoids that
in general (choosing one element in each of several arrays so that together they cover the fields is a
set cover): a path of d keys has 2^(d-1) spellings, and an event of 3 KB that spells one path in all 16
ways, against a rule of 20 fields there, asks for C(20, 10) sets. So the work on such sets is bounded per
event (`BUDGET`: sets joined and compared, for every branch the event is checked against); a branch that
would need more is decided as not matching, and a warning says so. No event without such spellings comes
near it: they need no sets at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator

from trailbridge.patterns._core import Condition
from trailbridge.patterns.event import Place, Places
from trailbridge.patterns.values import Leaf

log = logging.getLogger("trailbridge.patterns")
BUDGET = 2_000_000  # sets of fields joined or compared per event, for paths spelled in several ways with arrays
Masks = list[int]  # sets of fields, as bits: the maximal sets some values can satisfy together
Visit = Generator[tuple[Place, int, int, bool], Masks, Masks]  # asks about inner places, answers its own


def consistent(conditions: tuple[Condition, ...], places: Places) -> bool:
    """Whether values satisfying every condition exist that sit in the same element of every array
    they share (a condition without values is satisfied only by `exists: false`)."""
    fields: list[Condition] = []
    for condition in conditions:
        if condition.slot in places.present:
            fields.append(condition)
        elif not condition.absent_ok:
            return False
    goal = (1 << len(fields)) - 1
    if goal == 0:
        return True
    try:
        return bool(_Branch(fields, places).run(places.root, goal))
    except _TooComplexError:
        return False


class _TooComplexError(Exception):
    """The event's budget of sets of fields is spent."""


Tests = list[tuple[int, Callable[[Leaf], bool]]]  # a field's bit and its test
Split = tuple[int, Tests, list[tuple[str, int, Tests | None]]]


class _Branch:
    """The fields of one branch, with their paths split into keys, asked of the places of one event."""

    __slots__ = ("fields", "paths", "places", "splits")

    def __init__(self, fields: list[Condition], places: Places) -> None:
        self.fields, self.places = fields, places
        self.paths = [f.field.path.split(".") for f in fields]
        self.splits: dict[tuple[int, int], Split] = {}

    def split(self, depth: int, goal: int) -> Split:
        """Of the fields in `goal` at a place `depth` keys down: those of its own path (as bits, and
        their tests), and the others by the key their path continues with, with the tests of those
        that end one key down (None when some go further)."""
        known = self.splits.get((depth, goal))
        if known is not None:
            return known
        own, tests = 0, []
        below: dict[str, list[int]] = {}
        for i in _bits(goal):
            path = self.paths[i]
            if len(path) == depth:
                own |= 1 << i
                tests.append((1 << i, self.test(i)))
            else:
                below.setdefault(path[depth], []).append(i)
        kids: list[tuple[str, int, Tests | None]] = []
        for key, indexes in below.items():
            last = [(1 << i, self.test(i)) for i in indexes if len(self.paths[i]) == depth + 1]
            kids.append((key, sum(1 << i for i in indexes), last if len(last) == len(indexes) else None))
        split = self.splits[(depth, goal)] = (own, tests, kids)
        return split

    def test(self, i: int) -> Callable[[Leaf], bool]:
        return self.fields[i].accepts

    def spend(self, work: int) -> None:
        places = self.places
        before, places.spent = places.spent, places.spent + work
        if places.spent > BUDGET:
            if before <= BUDGET:
                log.warning(
                    "array consistency: an event past %d sets of fields; its rules that need more do not match", BUDGET
                )
            raise _TooComplexError

    def join(self, left: Masks, right: Masks) -> Masks:
        """The maximal unions of a set from each side."""
        self.spend(len(left) * len(right))
        return self.maximal({a | b for a in left for b in right})

    def maximal(self, masks: set[int]) -> Masks:
        kept: Masks = []
        for mask in sorted(masks, key=int.bit_count, reverse=True):
            self.spend(len(kept) + 1)
            if all(mask | k != k for k in kept):
                kept.append(mask)
        return kept

    def run(self, root: Place, goal: int) -> Masks:
        """`visit(root, 0, goal, True)`, with an explicit stack (events nest deeper than Python recurses)."""
        stack = [self.visit(root, 0, goal, True)]
        answer: Masks | None = None
        while stack:
            try:
                question = stack[-1].send(answer)  # type: ignore[arg-type]  # None starts a visit
            except StopIteration as done:
                stack.pop()
                answer = done.value
            else:
                stack.append(self.visit(*question))
                answer = None
        assert answer is not None
        return answer

    def settled(self, place: Place, depth: int, goal: int) -> bool | None:
        """`visit(place, depth, goal, True)` without a visit, for a place without arrays whose fields end
        there or one key down at places without arrays (most array elements); None for others."""
        _, tests, below = self.split(depth, goal)
        if place.arrays:
            return None
        kids = place.kids
        for key, _, last in below:
            kid = kids.get(key)
            if kid is None:
                return False
            if last is None or kid.arrays:
                return None
        leaves = place.leaves
        for _, accepts in tests:
            if not any(map(accepts, leaves)):
                return False
        for key, _, last in below:
            leaves = kids[key].leaves
            for _, accepts in last or ():
                if not any(map(accepts, leaves)):
                    return False
        return True

    def visit(self, place: Place, depth: int, goal: int, whole: bool) -> Visit:
        """The maximal subsets of `goal` (fields whose paths run through this place, `depth` keys down)
        that the values within this place satisfy together; when `whole`, only whether all of `goal`
        is one of them: `[goal]` or `[]`. Inner places are asked by yielding (place, depth, goal, whole)."""
        own, tests, below = self.split(depth, goal)
        leaves, arrays, kids = place.leaves, place.arrays, place.kids
        satisfied = 0
        for bit, accepts in tests:
            if any(map(accepts, leaves)):
                satisfied |= bit
        if whole and not arrays:
            if satisfied != own:
                return []
            for key, fields, _ in below:
                kid = kids.get(key)
                if kid is None:
                    return []
                answer = self.settled(kid, depth + 1, fields)
                if not (answer if answer is not None else (yield kid, depth + 1, fields, True)):
                    return []
            return [goal]
        inner = [(kid, fields) for key, fields, _ in below if (kid := kids.get(key)) is not None]
        if whole and len(arrays) == 1 and not inner and not (own and leaves):  # one element must do
            for element in arrays[0]:
                answer = self.settled(element, depth, goal)
                if answer if answer is not None else (yield element, depth, goal, True):
                    return [goal]
            return []
        # Keys with dots: parts to combine (or a part of a place an outer combination asks about).
        found: Masks = [satisfied]
        for kid, fields in inner:
            found = self.join(found, (yield kid, depth + 1, fields, False))
        for elements in arrays:
            wanted = goal & ~_common(found)  # the fields some set found so far lacks
            if not wanted:
                break
            either: set[int] = set()
            for element in elements:
                either.update((yield element, depth, wanted, False))
                if wanted in either:
                    break
            found = self.join(found, self.maximal(either))
        if whole:
            return [goal] if goal in found else []
        return found


def _bits(mask: int) -> Generator[int, None, None]:
    i = 0
    while mask:
        if mask & 1:
            yield i
        mask >>= 1
        i += 1


def _common(masks: Masks) -> int:
    """The fields every one of the sets has: no further part needs to satisfy those."""
    common = -1
    for mask in masks:
        common &= mask
    return common if masks else 0
