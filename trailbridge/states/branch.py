"""A branch of an execution (the root, a Parallel branch, a Map iteration) as plain JSON."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Protocol

Branch = dict[str, Any]


class Emit(Protocol):
    def __call__(self, event_type: str, details: dict[str, Any] | None = None) -> int: ...


@dataclass(frozen=True, slots=True)
class Blocked:
    """Why a branch cannot move now: it waits until an instant, or for a task's answer."""

    wait_until: str | None = None
    pending: bool = False


def new_branch(at: list[Any], start: str, value: Any, variables: dict[str, Any], extra: dict[str, Any]) -> Branch:
    return {
        "at": at,
        "name": start,
        "phase": "enter",
        "input": value,
        "vars": copy.deepcopy(variables),
        "extra": extra,
        "retries": {},
        "quiet": False,
    }


def states_of(definition: dict[str, Any], at: list[Any]) -> dict[str, Any]:
    node: Any = definition
    for key in at:
        node = node[key]
    return node["States"]  # type: ignore[no-any-return]
