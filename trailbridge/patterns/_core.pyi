"""Types of the C extension built from _core.c (the matcher's hot path)."""

from collections.abc import Callable, Hashable
from typing import Any

from trailbridge.patterns.event import Places, Step
from trailbridge.patterns.matcher import FieldFacts
from trailbridge.patterns.values import Leaf

OP_IN: int
OP_PREFIX: int
OP_SUFFIX: int
OP_EXISTS: int
OP_ANYTHING_BUT: int
OP_NOT_PREFIX: int
OP_NOT_SUFFIX: int
OP_NUMERIC: int
OP_WILDCARD: int
OP_NOT_WILDCARD: int
OP_CIDR: int
OP_IN_IC: int
OP_PREFIX_IC: int
OP_SUFFIX_IC: int
OP_NOT_IN_IC: int
TRIE_PREFIX: int
TRIE_SUFFIX: int
TRIE_CONTAINS: int

Extracted = tuple[list[list[Leaf] | None], set[str] | None]

class Condition:
    field: FieldFacts
    slot: int
    users: int
    absent_ok: bool
    def __init__(self, field: FieldFacts, slot: int, absent_ok: bool, ops: tuple[object, ...]) -> None: ...
    def accepts(self, value: Leaf) -> bool: ...

class Group:
    anchor: Condition | None
    conditions: tuple[Condition, ...]
    checks: tuple[Condition, ...]
    shared: frozenset[str]
    ids: dict[Hashable, int]
    def __init__(
        self,
        conditions: tuple[Condition, ...],
        anchor: Condition | None,
        checks: tuple[Condition, ...],
        shared: frozenset[str],
    ) -> None: ...

class Trie:
    def __init__(self, mode: int) -> None: ...
    def set(self, text: str, bucket: list[Group]) -> None: ...
    def discard(self, text: str) -> None: ...
    def nodes(self) -> int: ...

class Ranges:
    def __init__(self) -> None: ...
    def add(self, low_hi: int, low_lo: int, high_hi: int, high_lo: int, bucket: list[Group]) -> None: ...
    def discard(self, bucket: list[Group]) -> None: ...

class Scanner:
    def __init__(self, root: Step, slots: int) -> None: ...
    def scan(self, data: bytes | str) -> Extracted | None: ...
    def extract(self, event: dict[str, Any]) -> Extracted | None: ...

def configure(
    key_of: Callable[[Leaf], Any], numeric: Callable[[Leaf], float | None], true: object, false: object, null: object
) -> None: ...
def match(
    index_items: list[Any],
    out: list[list[Leaf] | None],
    arrays: set[str] | None,
    event: object,
    places_of: Callable[[Any], Places],
    consistent: Callable[[tuple[Condition, ...], Places], bool],
) -> set[Hashable]: ...
