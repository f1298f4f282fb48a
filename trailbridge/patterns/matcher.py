"""Many patterns, one index: which of them match an event.

Design (why it is fast): every pattern is compiled once, at `add`, into branches (conjunctions of
field conditions; `$or` makes several). Equal conditions are interned, so two rules that both ask
`errorCode` to be absent share one condition, evaluated at most once per event. Each branch is filed
under one *anchor*: a condition the index can look up instead of evaluating, which every operator
offers (`operators.Anchor`): exact values and case-folded ones (a dict lookup), prefixes, suffixes
(case-folded too) and a wildcard's literal segment (a walk along the value in a `_core.Trie`),
numeric ranges and cidr blocks (an interval lookup in a `_core.Ranges`), presence, and absence
(`exists: false`). The anchor chosen is the condition whose values the fewest branches ask for, then
the one whose bucket is smallest: a value every rule names (the CloudTrail `detail-type`) is in every
event those rules are about, so rules are filed under their most selective field (say `eventName`).
Anchors that nearly every value satisfies (`anything-but`, found by presence: its complement is
all but a few values) and absence come last. Matching an event then costs, all of it in C (`_core.c`;
this module keeps the index in `_core`'s types):

1. one walk over the event (its JSON text, or the parsed dict) along the trie of paths that some
   pattern mentions (`_core.Scanner`);
2. per extracted value, one lookup in each structure its path's anchors use;
3. the remaining conditions of the candidate branches found (and the anchor itself where finding it
   does not prove it, as for a wildcard found by one segment), each evaluated at most once per event.

So cost grows with the event and the number of candidates, not with the number of rules. Array
consistency (two fields of one pattern object must match inside the same array element) only
matters when the event has an array at a path two of the branch's fields share; only then is the
branch decided over the event's shape (`consistency.py`: per array element, never per combination of
values), at most once per event however many of its values are candidates.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from functools import lru_cache
from typing import Any, NamedTuple

import orjson

from trailbridge.patterns._core import (
    TRIE_CONTAINS,
    TRIE_PREFIX,
    TRIE_SUFFIX,
    Condition,
    Group,
    Ranges,
    Scanner,
    Trie,
    configure,
    match,
)
from trailbridge.patterns.compiler import Branch, Field, compile_branches
from trailbridge.patterns.consistency import consistent
from trailbridge.patterns.event import PathTrie, Places, extract, extract_places, parse_event
from trailbridge.patterns.operators import Anchor, Test
from trailbridge.patterns.values import FALSE, NULL, TRUE, key_of, numeric

configure(key_of, numeric, TRUE, FALSE, NULL)
PatternInput = str | bytes | Mapping[str, Any]
EventInput = str | bytes | Mapping[str, Any]
_KIND_RANK = {"exact": 0, "exact-ic": 0, "numbers": 0, "ip4": 0, "ip6": 0, "prefix": 1, "suffix": 1}
_KIND_RANK |= {"prefix-ic": 1, "suffix-ic": 1, "contains": 2, "present": 3, "absent": 4}
_TRIES = {"prefix": TRIE_PREFIX, "suffix": TRIE_SUFFIX, "prefix-ic": TRIE_PREFIX, "suffix-ic": TRIE_SUFFIX}
_TRIES["contains"] = TRIE_CONTAINS  # the order of `_core`'s index items
_RANGES = ("numbers", "ip4", "ip6")
_WORD = (1 << 64) - 1
IndexItem = tuple[object, ...]  # what `_core.match` reads: see _SlotIndex.item


def _keys(anchors: list[Anchor]) -> list[tuple[str, Hashable]]:
    """(kind, key) of each bucket: an exact anchor holds a set of keys, each a bucket of its own."""
    found: list[tuple[str, Hashable]] = []
    for kind, key, _ in anchors:
        if kind == "exact":
            assert isinstance(key, frozenset)
            found.extend((kind, k) for k in key)
        else:
            found.append((kind, key))
    return found


def pattern_text(pattern: PatternInput) -> str:
    if isinstance(pattern, str):
        return pattern
    if isinstance(pattern, bytes):
        return pattern.decode("utf-8", errors="replace")
    return orjson.dumps(pattern).decode()


class FieldFacts(NamedTuple):
    """What the index needs of a compiled Field once its tests are in C: the Field itself (its tests and
    their Python predicates) is then let go, which halves the memory of a small rule set."""

    path: str
    key: tuple[object, ...]
    anchors: list[Anchor]


def _condition(field: Field, slot: int, anchors: list[Anchor]) -> Condition:
    facts = FieldFacts(field.path, field.key, anchors)
    return Condition(facts, slot, field.absent_ok, tuple(t.native for t in field.tests))


def _group(conditions: tuple[Condition, ...], anchor: Condition) -> Group:
    """Branches with this anchor and these remaining conditions: evaluated once per event. The anchor
    is one of them when its lookup does not prove it (`Anchor.exact`)."""
    proven = all(a.exact for a in anchor.field.anchors)
    checks = tuple(c for c in conditions if c is not anchor or not proven)
    return Group(conditions, anchor, checks, _shared_prefixes(tuple(c.field.path for c in conditions)))


@lru_cache(maxsize=4096)
def _shared_prefixes(paths: tuple[str, ...]) -> frozenset[str]:
    """Every path prefix that two of the paths have in common: where an array would bind them."""
    shared: set[str] = set()
    for i, a in enumerate(paths):
        for b in paths[i + 1 :]:
            pa, pb = a.split("."), b.split(".")
            depth = 0
            while depth < min(len(pa), len(pb)) and pa[depth] == pb[depth]:
                depth += 1
                shared.add(".".join(pa[:depth]))
    return frozenset(shared)


class _SlotIndex:
    """Anchored groups of one path, by anchor kind (`operators.Anchor`): buckets by key, which the
    tries and interval sets of the kinds that need one share."""

    __slots__ = ("absent", "present", "ranges", "tables", "tries")

    def __init__(self) -> None:
        self.tables: dict[str, dict[Hashable, list[Group]]] = {}
        self.tries: dict[str, Trie] = {}
        self.ranges: dict[str, Ranges] = {}
        self.present: list[Group] = []
        self.absent: list[Group] = []

    def bucket(self, kind: str, key: Hashable, create: bool) -> list[Group] | None:
        if kind == "present":
            return self.present
        if kind == "absent":
            return self.absent
        table = self.tables.get(kind)
        if table is None:
            if not create:
                return None
            table = self.tables[kind] = {}
        bucket = table.get(key)
        if bucket is None and create:
            bucket = table[key] = []
            self._link(kind, key, bucket)
        return bucket

    def _link(self, kind: str, key: Hashable, bucket: list[Group]) -> None:
        if kind in _TRIES:
            assert isinstance(key, str)
            trie = self.tries.get(kind)
            if trie is None:
                trie = self.tries[kind] = Trie(_TRIES[kind])
            trie.set(key, bucket)
        elif kind in _RANGES:
            assert isinstance(key, tuple)
            low, high = key
            ranges = self.ranges.get(kind)
            if ranges is None:
                ranges = self.ranges[kind] = Ranges()
            ranges.add(low >> 64, low & _WORD, high >> 64, high & _WORD, bucket)

    def drop(self, kind: str, key: Hashable) -> None:
        """Forget an emptied bucket."""
        table = self.tables.get(kind)
        if table is None or table.get(key, True):
            return
        bucket = table.pop(key)
        if kind in self.tries:
            assert isinstance(key, str)
            self.tries[kind].discard(key)
        elif kind in self.ranges:
            self.ranges[kind].discard(bucket)
        if not table:
            del self.tables[kind]
            self.tries.pop(kind, None)
            self.ranges.pop(kind, None)

    def item(self, slot: int) -> IndexItem:
        tables, tries, ranges = self.tables, self.tries, self.ranges
        return (
            slot,
            tables.get("exact", {}),
            tables.get("exact-ic", {}),
            *(tries.get(kind) for kind in _TRIES),
            *(ranges.get(kind) for kind in _RANGES),
            self.present,
            self.absent,
        )

    def empty(self) -> bool:
        return not (self.tables or self.present or self.absent)


class Matcher:
    """A set of named event patterns, matched all at once."""

    def __init__(self) -> None:
        self._rules: dict[Hashable, list[Group]] = {}
        self._conditions: dict[tuple[object, ...], Condition] = {}
        self._groups: dict[tuple[Condition, tuple[Condition, ...]], Group] = {}
        self._trie = PathTrie()
        self._compile_readers()
        self._path_users: dict[str, int] = defaultdict(int)
        self._index: dict[int, _SlotIndex] = {}
        self._index_items: list[IndexItem] = []
        self._stale = False  # whether the index has gained or lost a structure since _index_items was made
        self._shared: dict[str, int] = defaultdict(int)  # paths two fields of a group share: groups using each
        self._shared_paths: set[str] = set()  # the same paths, for `_core.match`

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    # -- changing the set ---------------------------------------------------------------------

    def add(self, rule_id: Hashable, pattern: PatternInput) -> None:
        """Add (or replace) a rule; raises PatternError for an invalid pattern, leaving the set as it was."""
        self.add_compiled(rule_id, compile_branches(pattern_text(pattern)))

    def add_compiled(self, rule_id: Hashable, branches: Iterable[Branch]) -> None:
        if rule_id in self._rules:
            self.remove(rule_id)
        paths = len(self._trie.slots)
        self._rules[rule_id] = [self._file(rule_id, branch) for branch in branches]
        if len(self._trie.slots) != paths:
            self._compile_readers()
        self._refresh_items()

    def remove(self, rule_id: Hashable) -> None:
        """Remove a rule; removing an unknown id does nothing."""
        groups = self._rules.pop(rule_id, None)
        if groups is None:
            return
        retired = False
        for group in groups:
            self._unfile(rule_id, group)
            for condition in group.conditions:
                retired |= self._release(condition)
        if retired:
            self._rebuild_trie()
        self._refresh_items()

    def _intern(self, field: Field) -> Condition:
        condition = self._conditions.get(field.key)
        if condition is None:
            slot = self._trie.add(field.path)
            pick = functools.partial(self._pick, self._index.get(slot))
            condition = self._conditions[field.key] = _condition(field, slot, field.anchors(pick))
        condition.users += 1
        self._path_users[field.path] += 1
        return condition

    def _release(self, condition: Condition) -> bool:
        """Drop one use of a condition; True when its path is no longer used by any rule."""
        condition.users -= 1
        if condition.users == 0:
            del self._conditions[condition.field.key]
        path = condition.field.path
        self._path_users[path] -= 1
        if self._path_users[path]:
            return False
        del self._path_users[path]
        return True

    def _file(self, rule_id: Hashable, branch: Branch) -> Group:
        conditions = tuple(self._intern(f) for f in branch)
        anchor = min(conditions, key=self._anchor_cost)
        key = (anchor, tuple(c for c in conditions if c is not anchor))
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _group(conditions, anchor)
            for _, _, bucket in self._buckets(anchor, create=True):
                bucket.append(group)
            for path in group.shared:
                self._shared[path] += 1
                self._shared_paths.add(path)
        group.ids[rule_id] = group.ids.get(rule_id, 0) + 1
        return group

    def _unfile(self, rule_id: Hashable, group: Group) -> None:
        group.ids[rule_id] -= 1
        if group.ids[rule_id]:
            return
        del group.ids[rule_id]
        if group.ids:
            return
        anchor = group.anchor
        assert anchor is not None
        del self._groups[(anchor, tuple(c for c in group.conditions if c is not anchor))]
        for path in group.shared:
            self._shared[path] -= 1
            if not self._shared[path]:
                del self._shared[path]
                self._shared_paths.discard(path)
        index = self._index[anchor.slot]
        structures = len(index.tables)
        for kind, key, bucket in self._buckets(anchor, create=False):
            if group in bucket:
                bucket.remove(group)
                if not bucket:
                    index.drop(kind, key)
        self._stale |= len(index.tables) != structures
        if index.empty():
            del self._index[anchor.slot]
            self._stale = True

    @staticmethod
    def _pick(index: _SlotIndex | None, test: Test) -> Anchor:
        """The anchor of a test with alternatives (a wildcard's segments), chosen once, when its condition
        is made: the segment least likely to bring candidates, estimated by the groups already filed
        under it and by its length (a longer text is in fewer values)."""
        if not test.alternatives or index is None:
            return test.anchor

        def cost(anchor: Anchor) -> float:
            size = len(index.bucket(anchor.kind, anchor.key, False) or ())
            return (size + 1) / min(len(str(anchor.key)), 16) ** 2

        return min(test.alternatives, key=cost)

    def _buckets(self, anchor: Condition, *, create: bool) -> list[tuple[str, Hashable, list[Group]]]:
        """(kind, key, bucket) of each place the index files groups with this anchor."""
        index = self._index.get(anchor.slot)
        if index is None:
            index = self._index[anchor.slot] = _SlotIndex()
            self._stale = True
        structures = len(index.tables)
        found = []
        for kind, key in _keys(anchor.field.anchors):
            bucket = index.bucket(kind, key, create)
            if bucket is not None:
                found.append((kind, key, bucket))
        self._stale |= len(index.tables) != structures
        return found

    def _anchor_cost(self, condition: Condition) -> tuple[bool, int, int, int, int]:
        """How many candidates anchoring here would bring, estimated. Presence of a value that most values
        satisfy (`anything-but`) and absence (`exists: false`) come last; then how many branches ask
        for these same values (a value every rule asks for, like the CloudTrail detail-type, is in
        every event those rules are about), then the size of the buckets now."""
        anchors = condition.field.anchors
        coarse = any(a.kind == "absent" or (a.kind == "present" and not a.exact) for a in anchors)
        index = self._index.get(condition.slot)
        keys = _keys(anchors)
        size = 0 if index is None else sum(len(index.bucket(kind, key, False) or ()) for kind, key in keys)
        rank = max(_KIND_RANK[a.kind] for a in anchors)
        return coarse, condition.users * len(keys), size, rank, -condition.field.path.count(".")

    def _rebuild_trie(self) -> None:
        trie = PathTrie(sorted(self._path_users))
        moved = {}
        for condition in self._conditions.values():
            new_slot = trie.slots[condition.field.path]
            moved[condition.slot] = new_slot
            condition.slot = new_slot
        self._index = {moved[slot]: index for slot, index in self._index.items()}
        self._stale = True
        self._trie = trie
        self._compile_readers()

    def _compile_readers(self) -> None:
        """The event reader for the current paths (made again whenever the set of paths changes)."""
        self._scanner = Scanner(self._trie.root, len(self._trie.slots))

    def _refresh_items(self) -> None:
        """The items `_core.match` reads, made again only when a path's index gains or loses a structure
        (its buckets are shared with the items, so filing a group changes nothing here)."""
        if self._stale:
            self._index_items = [index.item(slot) for slot, index in sorted(self._index.items())]
            self._stale = False

    # -- matching -----------------------------------------------------------------------------

    def matches(self, event: EventInput) -> set[Hashable]:
        """The ids of the rules whose pattern matches the event; ValueError for a bad event."""
        scanned = self._scanner.scan(event) if isinstance(event, (bytes, str)) else None
        if scanned is None:
            event = parse_event(event)
            scanned = self._scanner.extract(event) or extract(event, self._trie)
        out, arrays = scanned
        if arrays is not None and self._shared_paths.isdisjoint(arrays):
            arrays = None  # no group has two fields an array there could bind
        return match(self._index_items, out, arrays, event, self._places, consistent)

    def _places(self, event: EventInput) -> Places:
        return extract_places(parse_event(event), self._trie)
