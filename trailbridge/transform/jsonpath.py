"""The JSONPath subset EventBridge accepts in `InputPath` and `InputPathsMap`.

`$` then any number of steps: `.name` (letters, digits, `_`, `-`, `/`, `@`, `:`, and other characters
except `.`, `[`, `]`, whitespace and quotes), `[N]` (an array index), and `.*` or `[*]` (every member;
the result is then a list). A path that leads nowhere gives no value (`MISSING`).
"""

from __future__ import annotations

import re
from typing import Any, Final

from trailbridge.errors import InvalidInputError

MISSING: Final = object()
_STEP = re.compile(r"\.([^.\[\]\s'\"*]+)|\.\*|\[(\d+)\]|\[\*\]")
_WILD: Final = object()


class JsonPath:
    __slots__ = ("_steps", "text")

    def __init__(self, text: str, steps: tuple[object, ...]) -> None:
        self.text = text
        self._steps = steps

    def find(self, document: Any) -> Any:
        """The value at this path, a list of values under a wildcard, or MISSING."""
        values = [document]
        spread = False
        for step in self._steps:
            if step is _WILD:
                spread = True
                values = [v for value in values for v in _members(value)]
            else:
                values = [found for value in values if (found := _step(value, step)) is not MISSING]
        if spread:
            return values
        return values[0] if values else MISSING


def _members(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    return list(value) if isinstance(value, list) else []


def _step(value: Any, step: object) -> Any:
    if isinstance(step, int):
        return value[step] if isinstance(value, list) and step < len(value) else MISSING
    return value.get(step, MISSING) if isinstance(value, dict) else MISSING


def compile_path(text: str) -> JsonPath:
    """Parse a path; raise InvalidInputError naming the path when EventBridge would refuse it."""
    if not text.startswith("$"):
        raise InvalidInputError(f"{text} is not a valid JSONPath: it must start with $")
    steps: list[object] = []
    position = 1
    while position < len(text):
        match = _STEP.match(text, position)
        if match is None:
            raise InvalidInputError(f"{text} is not a valid JSONPath: unexpected text at position {position}")
        name, index = match.groups()
        steps.append(name if name is not None else int(index) if index is not None else _WILD)
        position = match.end()
    return JsonPath(text, tuple(steps))
