"""Values that fill every member of a botocore shape, for the protocols' round-trip tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

SCALARS: dict[str, Any] = {
    "string": "a <b> & 'c'",
    "integer": 7,
    "long": 1 << 40,
    "float": 1.5,
    "double": 2.25,
    "boolean": True,
    "timestamp": datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
    "blob": b"\x00bytes\xff",
}


def example(shape: Shape, depth: int = 0, scalars: dict[str, Any] | None = None) -> Any:
    """A value filling every member, lists and maps of two entries; None past the depth limit. `scalars`
    replaces some of the scalar values (a protocol that cannot carry one of them in some place)."""
    if depth > 5:
        return None
    if isinstance(shape, StructureShape):
        members = {name: example(member, depth + 1, scalars) for name, member in shape.members.items()}
        return {name: value for name, value in members.items() if value is not None}
    if isinstance(shape, ListShape):
        items = [example(shape.member, depth + 1, scalars) for _ in range(2)]
        return [item for item in items if item is not None] or None
    if isinstance(shape, MapShape):
        value = example(shape.value, depth + 1, scalars)
        return None if value is None else {"k1": value, "k2 <&>": value}
    return {**SCALARS, **(scalars or {})}[shape.type_name]
