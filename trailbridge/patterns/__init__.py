"""The EventBridge event-pattern language: AWS's results and errors, compiled once, matched fast.

    p = compile_pattern(pattern)      # JSON text, bytes or dict; raises PatternError
    p.matches(event)                  # JSON text, bytes or dict -> bool
    m = Matcher(); m.add("rule-1", pattern); m.matches(event) -> {"rule-1"}

The language is specified in PATTERNS.md beside this file.
"""

from __future__ import annotations

from collections.abc import Hashable

from trailbridge.patterns.compiler import Branch, compile_branches
from trailbridge.patterns.errors import PatternError
from trailbridge.patterns.explain import BranchResult, Explanation, Failure, explain
from trailbridge.patterns.hints import Hint, hints
from trailbridge.patterns.matcher import EventInput, Matcher, PatternInput, pattern_text

__all__ = [
    "BranchResult",
    "Explanation",
    "Failure",
    "Hint",
    "Matcher",
    "Pattern",
    "PatternError",
    "compile_pattern",
    "explain",
    "hints",
]

_ONLY: Hashable = "pattern"


class Pattern:
    """One compiled, validated event pattern."""

    __slots__ = ("_matcher", "branches", "text")

    def __init__(self, text: str, branches: tuple[Branch, ...]) -> None:
        self.text = text
        self.branches = branches
        self._matcher = Matcher()
        self._matcher.add_compiled(_ONLY, branches)

    def matches(self, event: EventInput) -> bool:
        """Whether the event matches; ValueError when the event is not a JSON object."""
        return bool(self._matcher.matches(event))

    def __repr__(self) -> str:
        return f"Pattern({self.text!r})"


def compile_pattern(pattern: PatternInput) -> Pattern:
    """Validate and compile a pattern; raises PatternError with EventBridge's reason."""
    text = pattern_text(pattern)
    return Pattern(text, compile_branches(text))
