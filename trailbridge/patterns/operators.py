"""Value tests: one per operator, each a plain function of one event leaf value.

A `Test` carries an interning `key` (equal tests are shared between rules), the predicate `fn`, and
an `anchor` when the matcher's index can find candidate rules by this test without evaluating it
(exact values, prefixes, suffixes, presence). Operator semantics follow aws/event-ruler: string
operators never match numbers, booleans or null; `anything-but` matches every value that is not
excluded, including values of another type and `null`.

`native` is the same test for the C matcher (`_core`), as `(OP_..., operands...)`; tests without
one (ignore-case and IPv6 tests) are run there by calling `fn`, and so are IPv6-looking values in
an IPv4 `cidr` test.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import NamedTuple

from trailbridge.patterns import _core, wildcard
from trailbridge.patterns.ipaddr import parse_ip
from trailbridge.patterns.values import FALSE, NULL, TRUE, Key, Leaf, key_of, numeric

Anchor = tuple[str, Hashable]  # ("exact", key) | ("prefix", text) | ("suffix", text) | ("present", None)


class Test(NamedTuple):
    key: tuple[Hashable, ...]
    fn: Callable[[Leaf], bool]
    anchor: Anchor | None = None
    wildcards: tuple[tuple[str, ...], ...] = ()  # parsed wildcard values, for the complexity check
    native: tuple[object, ...] | None = None

    @property
    def op(self) -> object:
        """What `_core.Condition` takes for this test."""
        return self.fn if self.native is None else self.native


def exact_string(text: str) -> Test:
    return Test(("exact", text), lambda v: v == text and type(v) is str, ("exact", text))


def exact_literal(key: Key) -> Test:
    """`true`, `false`, `null`, or a number (as its `values.number_key`)."""
    return Test(("exact", key), lambda v: key_of(v) == key, ("exact", key))


LITERAL_KEYS = {"true": TRUE, "false": FALSE, "null": NULL}
_NOTHING: frozenset[Hashable] = frozenset()


def exact_set(tests: Iterable[Test]) -> Test:
    """All exact values of one field as one set lookup."""
    keys = frozenset(t.key[1] for t in tests)
    others: frozenset[Hashable] = frozenset(k for k in keys if type(k) is not str) or _NOTHING
    strings = keys - others if others else keys  # the usual case shares the set: thousands of rules hold them

    def fn(v: Leaf) -> bool:
        if type(v) is str:
            return v in strings
        return bool(others) and key_of(v) in others

    return Test(("in", keys), fn, ("exact", keys), native=(_core.OP_IN, strings, others))


def ip_equals(ip: tuple[int, int]) -> Test:
    def fn(v: Leaf) -> bool:
        return type(v) is str and parse_ip(v) == ip

    version, address = ip
    return Test(("ip", ip), fn, native=(_core.OP_CIDR4, address, address, fn) if version == 4 else None)


def prefix(text: str) -> Test:
    return Test(
        ("prefix", text),
        lambda v: type(v) is str and v.startswith(text),
        ("prefix", text),
        native=(_core.OP_PREFIX, text),
    )


def suffix(text: str) -> Test:
    return Test(
        ("suffix", text),
        lambda v: type(v) is str and v.endswith(text),
        ("suffix", text),
        native=(_core.OP_SUFFIX, text),
    )


def prefix_ignore_case(text: str) -> Test:
    low = text.lower()
    return Test(("prefix-ic", low), lambda v: type(v) is str and v.lower().startswith(low))


def suffix_ignore_case(text: str) -> Test:
    low = text.lower()
    return Test(("suffix-ic", low), lambda v: type(v) is str and v.lower().endswith(low))


def equals_ignore_case(text: str) -> Test:
    low = text.lower()
    return Test(("eq-ic", low), lambda v: type(v) is str and v.lower() == low)


def wildcard_match(text: str) -> Test:
    segments = wildcard.parse(text)
    return Test(
        ("wildcard", segments),
        lambda v: type(v) is str and wildcard.matches(segments, v),
        wildcards=(segments,),
        native=(_core.OP_WILDCARD, segments),
    )


def exists() -> Test:
    return Test(("exists",), lambda v: True, ("present", None), native=(_core.OP_EXISTS,))


def anything_but(strings: frozenset[str], numbers: frozenset[float]) -> Test:
    def fn(v: Leaf) -> bool:
        if type(v) is str:
            return v not in strings
        number = numeric(v)
        return number is None or number not in numbers

    return Test(("anything-but", strings, numbers), fn, native=(_core.OP_ANYTHING_BUT, strings, numbers))


def anything_but_prefix(texts: frozenset[str]) -> Test:
    starts = tuple(texts)
    return Test(
        ("anything-but-prefix", texts),
        lambda v: type(v) is not str or not v.startswith(starts),
        native=(_core.OP_NOT_PREFIX, starts),
    )


def anything_but_suffix(texts: frozenset[str]) -> Test:
    ends = tuple(texts)
    return Test(
        ("anything-but-suffix", texts),
        lambda v: type(v) is not str or not v.endswith(ends),
        native=(_core.OP_NOT_SUFFIX, ends),
    )


def anything_but_ignore_case(texts: frozenset[str]) -> Test:
    lows = frozenset(t.lower() for t in texts)
    return Test(("anything-but-ic", lows), lambda v: type(v) is not str or v.lower() not in lows)


def anything_but_wildcard(texts: frozenset[str]) -> Test:
    parsed = tuple(sorted({wildcard.parse(t) for t in texts}))

    def fn(v: Leaf) -> bool:
        return type(v) is not str or not any(wildcard.matches(p, v) for p in parsed)

    return Test(("anything-but-wildcard", parsed), fn, wildcards=parsed, native=(_core.OP_NOT_WILDCARD, parsed))


def numeric_range(low: float, low_open: bool, high: float, high_open: bool) -> Test:
    def fn(v: Leaf) -> bool:
        n = numeric(v)
        if n is None:
            return False
        above = n > low if low_open else n >= low
        return above and (n < high if high_open else n <= high)

    native = (_core.OP_NUMERIC, low, low_open, high, high_open)
    return Test(("numeric", low, low_open, high, high_open), fn, native=native)


def cidr(version: int, first: int, last: int) -> Test:
    def fn(v: Leaf) -> bool:
        ip = parse_ip(v) if type(v) is str else None
        return ip is not None and ip[0] == version and first <= ip[1] <= last

    return Test(("cidr", version, first, last), fn, native=(_core.OP_CIDR4, first, last, fn) if version == 4 else None)
