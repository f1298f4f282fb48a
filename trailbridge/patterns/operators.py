"""Value tests: one per operator, each a plain function of one event leaf value.

A `Test` carries an interning `key` (equal tests are shared between rules), the predicate `fn` (the
specification, which the reference interpreter runs), the same test for the C matcher (`native`, as
`(OP_..., operands...)`), and the `anchor` under which the matcher's index finds the rules that use
it without evaluating it. Every operator has one (see `Anchor`). Operator semantics follow
aws/event-ruler: string operators never match numbers, booleans or null; `anything-but` matches every
value that is not excluded, including values of another type and `null`. Ignore-case operators
compare `str.lower()` of both sides (PATTERNS.md: case folding).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Hashable, Iterable
from typing import NamedTuple

from trailbridge.patterns import _core, wildcard
from trailbridge.patterns.ipaddr import parse_ip
from trailbridge.patterns.values import FALSE, NULL, TRUE, Key, Leaf, key_of, numeric

_WORD = (1 << 64) - 1


class Anchor(NamedTuple):
    """Where the index files a test's rules, by `kind`:

    - `exact` (a key or a frozenset of keys), `exact-ic` (the folded text): a dict lookup per value;
    - `prefix`, `suffix`, `prefix-ic`, `suffix-ic` (text), `contains` (a wildcard's literal segment):
      a walk of a `_core.Trie` along the value;
    - `numbers`, `ip4`, `ip6`: `(low, high)`, a closed interval of 128-bit keys (addresses; a double's
      `double_key` in the high 64 bits, an open bound being the next key in) in a `_core.Ranges`;
    - `present`: every event with a value there; `absent` (`exists: false`): every event without.

    `exact` is False when finding the rule there does not yet mean the test passed (a wildcard by one
    of its segments, `anything-but` by presence: its complement is every value but a few): the
    matcher then still evaluates the test, in C, for the candidates it finds."""

    kind: str
    key: Hashable
    exact: bool = True


class Test(NamedTuple):
    key: tuple[Hashable, ...]
    fn: Callable[[Leaf], bool]
    anchor: Anchor
    native: tuple[object, ...]
    wildcards: tuple[tuple[str, ...], ...] = ()  # parsed wildcard values, for the complexity check
    alternatives: tuple[Anchor, ...] = ()  # other places `anchor` could be (a wildcard's segments)


ANY_VALUE = Anchor("present", None, exact=False)


def exact_string(text: str) -> Test:
    return exact_set([text])


def exact_literal(key: Key) -> Test:
    """`true`, `false`, `null`, or a number (as its `values.number_key`)."""
    return exact_set([key])


LITERAL_KEYS = {"true": TRUE, "false": FALSE, "null": NULL}
_NOTHING: frozenset[Hashable] = frozenset()


def exact_set(values: Iterable[Hashable]) -> Test:
    """Exact values (keys, as `values.key_of` gives them) as one set lookup: all those of one field."""
    keys = frozenset(values)
    others: frozenset[Hashable] = frozenset(k for k in keys if type(k) is not str) or _NOTHING
    strings = keys - others if others else keys  # the usual case shares the set: thousands of rules hold them

    def fn(v: Leaf) -> bool:
        if type(v) is str:
            return v in strings
        return bool(others) and key_of(v) in others

    key = ("exact", *keys) if len(keys) == 1 else ("in", keys)
    return Test(key, fn, Anchor("exact", keys), (_core.OP_IN, strings, others))


def _halves(address: int) -> tuple[int, int]:
    return address >> 64, address & _WORD


def _address_test(key: tuple[Hashable, ...], version: int, first: int, last: int) -> Test:
    def fn(v: Leaf) -> bool:
        ip = parse_ip(v) if type(v) is str else None
        return ip is not None and ip[0] == version and first <= ip[1] <= last

    native = (_core.OP_CIDR, version, *_halves(first), *_halves(last))
    return Test(key, fn, Anchor(f"ip{version}", (first, last)), native)


def ip_equals(ip: tuple[int, int]) -> Test:
    """A string value that is an IP address: the same address, however it is written."""
    version, address = ip
    return _address_test(("ip", ip), version, address, address)


def cidr(version: int, first: int, last: int) -> Test:
    return _address_test(("cidr", version, first, last), version, first, last)


def prefix(text: str) -> Test:
    fn = lambda v: type(v) is str and v.startswith(text)  # noqa: E731
    return Test(("prefix", text), fn, Anchor("prefix", text), (_core.OP_PREFIX, text))


def suffix(text: str) -> Test:
    fn = lambda v: type(v) is str and v.endswith(text)  # noqa: E731
    return Test(("suffix", text), fn, Anchor("suffix", text), (_core.OP_SUFFIX, text))


def prefix_ignore_case(text: str) -> Test:
    low = text.lower()
    fn = lambda v: type(v) is str and v.lower().startswith(low)  # noqa: E731
    return Test(("prefix-ic", low), fn, Anchor("prefix-ic", low), (_core.OP_PREFIX_IC, low))


def suffix_ignore_case(text: str) -> Test:
    low = text.lower()
    fn = lambda v: type(v) is str and v.lower().endswith(low)  # noqa: E731
    return Test(("suffix-ic", low), fn, Anchor("suffix-ic", low), (_core.OP_SUFFIX_IC, low))


def equals_ignore_case(text: str) -> Test:
    low = text.lower()
    fn = lambda v: type(v) is str and v.lower() == low  # noqa: E731
    return Test(("eq-ic", low), fn, Anchor("exact-ic", low), (_core.OP_IN_IC, frozenset([low])))


def wildcard_anchors(segments: tuple[str, ...]) -> tuple[Anchor, ...]:
    """Where a wildcard can be found: by any one of its literal segments, as the prefix or suffix it is
    when it comes first or last (exactly so when the pattern is just `text*` or `*text`), else as a
    substring; longest first. The matcher picks one (`Matcher._pick`)."""
    if len(segments) == 1:
        return (Anchor("exact", frozenset(segments)),)
    two = len(segments) == 2
    found = [Anchor("prefix", segments[0], exact=two and not segments[-1])] if segments[0] else []
    found += [Anchor("contains", middle, exact=False) for middle in segments[1:-1]]
    found += [Anchor("suffix", segments[-1], exact=two and not segments[0])] if segments[-1] else []
    return tuple(sorted(found, key=lambda a: -len(str(a.key)))) or (ANY_VALUE,)


def wildcard_match(text: str) -> Test:
    segments = wildcard.parse(text)
    anchors = wildcard_anchors(segments)
    return Test(
        ("wildcard", segments),
        lambda v: type(v) is str and wildcard.matches(segments, v),
        anchors[0],
        (_core.OP_WILDCARD, segments),
        wildcards=(segments,),
        alternatives=anchors,
    )


def exists() -> Test:
    return Test(("exists",), lambda v: True, Anchor("present", None), (_core.OP_EXISTS,))


def anything_but(strings: frozenset[str], numbers: frozenset[float]) -> Test:
    def fn(v: Leaf) -> bool:
        if type(v) is str:
            return v not in strings
        number = numeric(v)
        return number is None or number not in numbers

    return Test(("anything-but", strings, numbers), fn, ANY_VALUE, (_core.OP_ANYTHING_BUT, strings, numbers))


def anything_but_prefix(texts: frozenset[str]) -> Test:
    starts = tuple(texts)
    fn = lambda v: type(v) is not str or not v.startswith(starts)  # noqa: E731
    return Test(("anything-but-prefix", texts), fn, ANY_VALUE, (_core.OP_NOT_PREFIX, starts))


def anything_but_suffix(texts: frozenset[str]) -> Test:
    ends = tuple(texts)
    fn = lambda v: type(v) is not str or not v.endswith(ends)  # noqa: E731
    return Test(("anything-but-suffix", texts), fn, ANY_VALUE, (_core.OP_NOT_SUFFIX, ends))


def anything_but_ignore_case(texts: frozenset[str]) -> Test:
    lows = frozenset(t.lower() for t in texts)
    fn = lambda v: type(v) is not str or v.lower() not in lows  # noqa: E731
    return Test(("anything-but-ic", lows), fn, ANY_VALUE, (_core.OP_NOT_IN_IC, lows))


def anything_but_wildcard(texts: frozenset[str]) -> Test:
    parsed = tuple(sorted({wildcard.parse(t) for t in texts}))

    def fn(v: Leaf) -> bool:
        return type(v) is not str or not any(wildcard.matches(p, v) for p in parsed)

    return Test(("anything-but-wildcard", parsed), fn, ANY_VALUE, (_core.OP_NOT_WILDCARD, parsed), wildcards=parsed)


def double_key(number: float) -> int:
    """The unsigned integer under which a double sorts (as `_core`'s double_key; -0.0 as 0.0)."""
    bits: int = struct.unpack("<Q", struct.pack("<d", number + 0.0))[0]
    return bits ^ _WORD if bits >> 63 else bits | 1 << 63


def numeric_range(low: float, low_open: bool, high: float, high_open: bool) -> Test:
    def fn(v: Leaf) -> bool:
        n = numeric(v)
        if n is None:
            return False
        above = n > low if low_open else n >= low
        return above and (n < high if high_open else n <= high)

    keys = ((double_key(low) + low_open) << 64, (double_key(high) - high_open) << 64)
    native = (_core.OP_NUMERIC, low, low_open, high, high_open)
    return Test(("numeric", low, low_open, high, high_open), fn, Anchor("numbers", keys), native)
