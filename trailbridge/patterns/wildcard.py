"""The `wildcard` operator: parsing with EventBridge's errors, matching, and the complexity check.

A wildcard pattern is literal text in which `*` stands for zero or more characters; `\\*` is a literal
star and `\\\\` a literal backslash; any other backslash, and two stars in a row, are errors whose
positions count UTF-8 bytes of the value *with* its surrounding quotes, as event-ruler reports them.

EventBridge also refuses patterns that would be too costly to match ("Rule is too complex"). It
measures, per field, the largest number of pattern prefixes that a single input can match at once
(event-ruler's MachineComplexityEvaluator). `complexity` computes the same number by exploring the
subset automaton of all wildcard patterns on one field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from trailbridge.patterns.errors import PatternError

TOO_COMPLEX = (
    "Rule is too complex - try using fewer wildcard characters or fewer repeating character "
    "sequences after a wildcard character"
)
# AWS accepted every recorded pattern of complexity <= 7 and refused one of complexity 11; the
# exact service threshold is not published. We refuse above 10 (see PATTERNS.md).
MAX_COMPLEXITY = 10
_MAX_STATES = 20_000  # exploring more subset states than this is itself "too complex"


def parse(text: str) -> tuple[str, ...]:
    """The literal segments between unescaped stars; raises PatternError as event-ruler does."""
    raw = ('"' + text + '"').encode()
    segments: list[str] = []
    current = bytearray()
    i = 0
    while i < len(raw):
        byte = raw[i]
        if byte == 0x2A:  # *
            if i + 1 < len(raw) and raw[i + 1] == 0x2A:
                raise PatternError(f"Consecutive wildcard characters at pos {i}")
            segments.append(current.decode())
            current = bytearray()
        elif byte == 0x5C:  # backslash
            if i + 1 < len(raw) and raw[i + 1] in (0x2A, 0x5C):
                current.append(raw[i + 1])
                i += 1
            else:
                raise PatternError(f"Invalid escape character at pos {i}")
        else:
            current.append(byte)
        i += 1
    segments.append(current.decode())
    segments[0] = segments[0][1:]
    segments[-1] = segments[-1][:-1]
    return tuple(segments)


def matches(segments: Sequence[str], value: str) -> bool:
    """Whether `value` matches the pattern whose star-separated literal parts are `segments`."""
    if len(segments) == 1:
        return value == segments[0]
    first, last = segments[0], segments[-1]
    if len(value) < len(first) + len(last) or not value.startswith(first) or not value.endswith(last):
        return False
    position, end = len(first), len(value) - len(last)
    for middle in segments[1:-1]:
        found = value.find(middle, position, end)
        if found < 0:
            return False
        position = found + len(middle)
    return True


# -- complexity ------------------------------------------------------------------------------

_STAR = ""  # token standing for `*`; literal tokens are single characters
_OTHER = "\x00other"  # one input symbol standing for every character no pattern mentions


class _Trie:
    """The quoted token sequences of one pattern object, sharing prefixes as event-ruler's states do."""

    def __init__(self, values: Iterable[Sequence[str]]) -> None:
        self.children: list[dict[str, int]] = [{}]
        self.after_star = [False]
        for segments in values:
            node = 0
            for token in _tokens(segments):
                node = self._child(node, token)

    def _child(self, node: int, token: str) -> int:
        nxt = self.children[node].get(token)
        if nxt is None:
            nxt = len(self.children)
            self.children[node][token] = nxt
            self.children.append({})
            self.after_star.append(token == _STAR)
        return nxt

    def closure(self, active: set[int]) -> frozenset[int]:
        pending = list(active)
        while pending:
            star = self.children[pending.pop()].get(_STAR)
            if star is not None and star not in active:
                active.add(star)
                pending.append(star)
        return frozenset(active)

    def step(self, active: frozenset[int], symbol: str) -> frozenset[int]:
        nxt = {self.children[n][symbol] for n in active if symbol in self.children[n]}
        nxt.update(n for n in active if self.after_star[n])
        return self.closure(nxt)

    def symbols(self) -> set[str]:
        return {t for children in self.children for t in children if t != _STAR}


def _tokens(segments: Sequence[str]) -> tuple[str, ...]:
    out: list[str] = ['"']
    for index, segment in enumerate(segments):
        if index:
            out.append(_STAR)
        out.extend(segment)
    out.append('"')
    return tuple(out)


def _borders(text: str) -> int:
    """The most prefixes of `text` that can end at one place in an input: a prefix and its borders."""
    fail = [0] * (len(text) + 1)  # fail[j]: the longest proper border of text[:j] (KMP)
    chain = [0] * (len(text) + 1)  # chain[j]: how many non-empty borders text[:j] has
    k = 0
    for j in range(1, len(text)):
        while k and text[j] != text[k]:
            k = fail[k]
        k += text[j] == text[k]
        fail[j + 1] = k
        chain[j + 1] = chain[k] + 1 if k else 0
    return 1 + max(chain)


def bound(segments: Sequence[str]) -> int:
    """An upper bound of what `complexity` counts for one pattern, in time linear in it.

    Before the first star one position at most is live. After each star, the star itself, and within
    the segment that follows, positions i < j live at once only when the text's first i characters are
    a border of its first j (both end where the input does): so at most one prefix and its borders."""
    if len(segments) == 1:
        return 1
    tail = [*segments[1:-1], segments[-1] + '"']
    return 1 + sum(1 + _borders(segment) for segment in tail)


def complexity(patterns: Iterable[Iterable[Sequence[str]]], cap: int = MAX_COMPLEXITY + 1) -> int:
    """The most wildcard-pattern prefixes one input can match at once, capped at `cap`.

    `patterns` holds one entry per pattern object on a field: the parsed values of a `wildcard`, or
    all values of one `anything-but` wildcard list, which event-ruler counts as a single pattern.
    """
    tries = [_Trie(values) for values in patterns]
    if not tries:
        return 0
    alphabet = set().union(*(t.symbols() for t in tries)) | {_OTHER}
    start = tuple(t.closure({0}) for t in tries)
    seen = {start}
    pending = [start]
    best = 0
    while pending:
        state = pending.pop()
        for symbol in alphabet:
            nxt = tuple(t.step(a, symbol) for t, a in zip(tries, state, strict=True))
            if nxt in seen:
                continue
            best = max(best, sum(len(a) - (0 in a) for a in nxt))
            if best >= cap or len(seen) >= _MAX_STATES:
                return cap
            seen.add(nxt)
            pending.append(nxt)
    return best
