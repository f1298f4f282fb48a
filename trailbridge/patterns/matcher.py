"""Many patterns, one index: which of them match an event.

Design (why it is fast): every pattern is compiled once, at `add`, into branches (conjunctions of
field conditions; `$or` makes several). Equal conditions are interned, so two rules that both ask
`errorCode` to be absent share one condition, evaluated at most once per event. Each branch is filed
under one *anchor*: a condition the index can look up instead of evaluating: an exact value (a
dict lookup), a prefix or suffix (a dict lookup per distinct length), or mere presence. The anchor
chosen is the condition whose values the fewest branches ask for, then the one whose bucket is
smallest: a value every rule names (the CloudTrail `detail-type`) is in every event those rules are
about, so rules are filed under their most selective field (say `eventName`). Matching an event
then costs, all of it in C (`_core.c`; this module keeps the index in `_core`'s types):

1. one walk over the event (its JSON text, or the parsed dict) along the trie of paths that some
   pattern mentions (`_core.Scanner`);
2. one lookup per extracted value in each anchored index;
3. the remaining conditions of the candidate branches found, each evaluated at most once per event;
4. branches with no anchorable condition (only `anything-but`, `numeric`, `exists: false`, ...),
   which are always evaluated.

So cost grows with the event and the number of candidates, not with the number of rules. Array
consistency (two fields of one pattern object must match inside the same array element) only
matters when the event has an array at a path two of the branch's fields share; only then is the
branch decided over the event's shape (`consistency.py`: per array element, never per combination of
values), at most once per event however many of its values are candidates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from functools import lru_cache
from typing import Any, NamedTuple

import orjson

from trailbridge.patterns._core import Condition, Group, Scanner, configure, match
from trailbridge.patterns.compiler import Branch, Field, compile_branches
from trailbridge.patterns.consistency import consistent
from trailbridge.patterns.event import PathTrie, Places, extract, extract_places, parse_event
from trailbridge.patterns.operators import Anchor
from trailbridge.patterns.values import FALSE, NULL, TRUE, key_of, numeric

configure(key_of, numeric, TRUE, FALSE, NULL)
PatternInput = str | bytes | Mapping[str, Any]
EventInput = str | bytes | Mapping[str, Any]
_KIND_RANK = {"exact": 0, "prefix": 1, "suffix": 1, "present": 2}
ByLength = dict[int, dict[str, list[Group]]]  # prefix or suffix length -> text -> bucket
IndexItem = tuple[int, dict[Hashable, list[Group]], ByLength, ByLength, list[Group]]  # what `_core.match` reads


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
    anchors: list[Anchor] | None


def _condition(field: Field, slot: int) -> Condition:
    facts = FieldFacts(field.path, field.key, field.anchors)
    return Condition(facts, slot, field.absent_ok, tuple(t.op for t in field.tests))


def _group(conditions: tuple[Condition, ...], anchor: Condition | None) -> Group:
    """Branches with this anchor and these remaining conditions: evaluated once per event."""
    checks = tuple(c for c in conditions if c is not anchor)
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
    """Anchored branches of one path: by exact key, by prefix and suffix (grouped by length), by presence."""

    __slots__ = ("exact", "prefixes", "present", "suffixes")

    def __init__(self) -> None:
        self.exact: dict[Hashable, list[Group]] = {}
        self.prefixes: dict[int, dict[str, list[Group]]] = {}
        self.suffixes: dict[int, dict[str, list[Group]]] = {}
        self.present: list[Group] = []

    def bucket(self, kind: str, key: Hashable, create: bool) -> list[Group] | None:
        if kind == "present":
            return self.present
        if kind == "exact":
            table: dict[Hashable, list[Group]] = self.exact
        else:
            by_length = self.prefixes if kind == "prefix" else self.suffixes
            assert isinstance(key, str)
            table = by_length.setdefault(len(key), {}) if create else by_length.get(len(key), {})  # type: ignore[assignment]
        if create:
            return table.setdefault(key, [])
        return table.get(key)

    def item(self, slot: int) -> IndexItem:
        return slot, self.exact, self.prefixes, self.suffixes, self.present

    def empty(self) -> bool:
        return not (self.exact or self.prefixes or self.suffixes or self.present)


class Matcher:
    """A set of named event patterns, matched all at once."""

    def __init__(self) -> None:
        self._rules: dict[Hashable, list[Group]] = {}
        self._conditions: dict[tuple[object, ...], Condition] = {}
        self._groups: dict[tuple[Condition | None, tuple[Condition, ...]], Group] = {}
        self._trie = PathTrie()
        self._compile_readers()
        self._path_users: dict[str, int] = defaultdict(int)
        self._index: dict[int, _SlotIndex] = {}
        self._index_items: list[IndexItem] = []
        self._unanchored: list[Group] = []

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
            condition = self._conditions[field.key] = _condition(field, self._trie.add(field.path))
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
        anchor = min(
            (c for c in conditions if c.field.anchors is not None),
            key=self._anchor_cost,
            default=None,
        )
        key = (anchor, tuple(c for c in conditions if c is not anchor))
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _group(conditions, anchor)
            for bucket in self._buckets(group, create=True):
                bucket.append(group)
        group.ids[rule_id] = group.ids.get(rule_id, 0) + 1
        return group

    def _unfile(self, rule_id: Hashable, group: Group) -> None:
        group.ids[rule_id] -= 1
        if group.ids[rule_id]:
            return
        del group.ids[rule_id]
        if group.ids:
            return
        del self._groups[(group.anchor, group.checks)]
        for bucket in self._buckets(group, create=False):
            bucket.remove(group)
        if group.anchor is not None:
            self._prune(group.anchor.slot)

    def _prune(self, slot: int) -> None:
        index = self._index[slot]
        for by_length in (index.prefixes, index.suffixes):
            for length, table in list(by_length.items()):
                for text in [k for k, v in table.items() if not v]:
                    del table[text]
                if not table:
                    del by_length[length]
        for key in [k for k, v in index.exact.items() if not v]:
            del index.exact[key]
        if index.empty():
            del self._index[slot]

    def _buckets(self, group: Group, *, create: bool) -> list[list[Group]]:
        anchor = group.anchor
        if anchor is None:
            return [self._unanchored]
        index = self._index.get(anchor.slot)
        if index is None:
            index = self._index[anchor.slot] = _SlotIndex()
        buckets = []
        for kind, key in anchor.field.anchors or ():
            keys = key if kind == "exact" and isinstance(key, frozenset) else (key,)
            for k in keys:
                bucket = index.bucket(kind, k, create)
                if bucket is not None and (create or group in bucket):
                    buckets.append(bucket)
        return buckets

    def _anchor_cost(self, condition: Condition) -> tuple[int, int, int, int]:
        """How many candidates anchoring here would bring, estimated: first by how many branches ask
        for these same values (a value every rule asks for, like the CloudTrail detail-type, is in
        every event those rules are about), then by the size of the buckets now."""
        index = self._index.get(condition.slot)
        size = 0
        rank = 0
        count = 0
        for kind, key in condition.field.anchors or ():
            rank = max(rank, _KIND_RANK[kind])
            keys = key if kind == "exact" and isinstance(key, frozenset) else (key,)
            count += len(keys)
            if index is not None:
                size += sum(len(index.bucket(kind, k, False) or ()) for k in keys)
        return condition.users * count, size, rank, -condition.field.path.count(".")

    def _rebuild_trie(self) -> None:
        trie = PathTrie(sorted(self._path_users))
        moved = {}
        for condition in self._conditions.values():
            new_slot = trie.slots[condition.field.path]
            moved[condition.slot] = new_slot
            condition.slot = new_slot
        self._index = {moved[slot]: index for slot, index in self._index.items()}
        self._trie = trie
        self._compile_readers()

    def _compile_readers(self) -> None:
        """The event reader for the current paths (made again whenever the set of paths changes)."""
        self._scanner = Scanner(self._trie.root, len(self._trie.slots))

    def _refresh_items(self) -> None:
        self._index_items = [index.item(slot) for slot, index in sorted(self._index.items())]

    # -- matching -----------------------------------------------------------------------------

    def matches(self, event: EventInput) -> set[Hashable]:
        """The ids of the rules whose pattern matches the event; ValueError for a bad event."""
        scanned = self._scanner.scan(event) if isinstance(event, (bytes, str)) else None
        if scanned is None:
            event = parse_event(event)
            scanned = self._scanner.extract(event) or extract(event, self._trie)
        return match(self._unanchored, self._index_items, *scanned, event, self._places, consistent)

    def _places(self, event: EventInput) -> Places:
        return extract_places(parse_event(event), self._trie)
