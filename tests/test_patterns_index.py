"""Property tests of each index path: many rules of one operator in one Matcher, through adds and
removes, agree with the reference interpreter on every event.

Each operator is found by its own structure (`operators.Anchor`): ignore-case values by their folded
text, wildcards by a literal segment in a `_core.Trie`, numbers and addresses by interval in a
`_core.Ranges`, `exists: false` by absence, `anything-but` by presence; and the C tests the index
falls back on (case folding, IPv4 and IPv6 parsing) must read values exactly as the Python ones.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trailbridge.patterns import Matcher, PatternError, compile_pattern, reference
from trailbridge.patterns.ipaddr import parse_ip
from trailbridge.patterns.wildcard import bound, complexity, parse

# Characters whose case folding is irregular: lengths that change (ß, İ, ﬁ), letters with two lower
# forms (capital sigma, its two small forms), title case (ǅ), a sign that lowers to ASCII (the Kelvin sign), and plain ASCII.
UNICODE = st.text(alphabet="aAbBsSßẞİiIıΣσςǅǆǄKkﬁéÉ-", max_size=5)
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def agree(patterns: list[dict[str, Any]], events: list[dict[str, Any]], removals: list[int] = ()) -> None:  # type: ignore[assignment]
    """A Matcher of all valid patterns, minus the removed ones, gives the reference's answer on each event."""
    matcher = Matcher()
    live: dict[int, str] = {}
    for index, pattern in enumerate(patterns):
        try:
            live[index] = compile_pattern(pattern).text
        except PatternError:
            continue
        matcher.add(index, pattern)
    for index in removals:
        matcher.remove(index)
        live.pop(index, None)
    for event in events:
        expected = {i for i, text in live.items() if reference.matches(text, event)}
        assert matcher.matches(event) == expected, event


def values(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """An event value: one leaf, or an array of them."""
    return st.one_of(strategy, st.lists(strategy, min_size=1, max_size=3))


IGNORE_CASE = st.one_of(
    st.builds(lambda s: {"equals-ignore-case": s}, UNICODE),
    st.builds(lambda s: {"prefix": {"equals-ignore-case": s}}, UNICODE),
    st.builds(lambda s: {"suffix": {"equals-ignore-case": s}}, UNICODE),
    st.builds(lambda s: {"anything-but": {"equals-ignore-case": s}}, st.lists(UNICODE, min_size=1, max_size=2)),
)


@SETTINGS
@given(
    rules=st.lists(st.lists(IGNORE_CASE, min_size=1, max_size=2), min_size=1, max_size=12),
    removals=st.lists(st.integers(0, 11), max_size=3),
    events=st.lists(values(st.one_of(UNICODE, st.integers(0, 3))), min_size=1, max_size=4),
)
def test_ignore_case_operators_fold_unicode_as_the_reference(
    rules: list[list[Any]], removals: list[int], events: list[Any]
) -> None:
    agree([{"f": r} for r in rules], [{"f": e} for e in events], removals)


WILDCARDS = st.text(alphabet="ab*", min_size=0, max_size=6).filter(lambda w: "**" not in w)


@SETTINGS
@given(
    rules=st.lists(WILDCARDS, min_size=1, max_size=12),
    removals=st.lists(st.integers(0, 11), max_size=3),
    events=st.lists(values(st.text(alphabet="abc", max_size=8)), min_size=1, max_size=6),
)
def test_wildcards_found_by_a_literal_segment(rules: list[str], removals: list[int], events: list[Any]) -> None:
    agree([{"f": [{"wildcard": w}]} for w in rules], [{"f": e} for e in events], removals)


AFFIXES = st.one_of(
    st.builds(lambda s: {"prefix": s}, st.text(alphabet="abé", max_size=3)),
    st.builds(lambda s: {"suffix": s}, st.text(alphabet="abé", max_size=3)),
    st.builds(lambda s: {"anything-but": {"prefix": s}}, st.text(alphabet="ab", min_size=1, max_size=2)),
    st.builds(lambda s: {"anything-but": {"suffix": s}}, st.text(alphabet="ab", min_size=1, max_size=2)),
    st.builds(lambda s: {"anything-but": {"wildcard": s}}, WILDCARDS),
    st.builds(lambda s: {"anything-but": s}, st.lists(st.text(alphabet="ab", max_size=2), min_size=1, max_size=2)),
    st.text(alphabet="abé", max_size=3),
)


@SETTINGS
@given(
    rules=st.lists(st.lists(AFFIXES, min_size=1, max_size=2), min_size=1, max_size=12),
    removals=st.lists(st.integers(0, 11), max_size=4),
    events=st.lists(values(st.one_of(st.text(alphabet="abé", max_size=5), st.none())), min_size=1, max_size=5),
)
def test_prefixes_suffixes_and_anything_but_through_adds_and_removes(
    rules: list[list[Any]], removals: list[int], events: list[Any]
) -> None:
    agree([{"f": r} for r in rules], [{"f": e} for e in events], removals)


BOUNDS = st.sampled_from([-1e308, -1.5, -5e-324, -0.0, 0, 5e-324, 1, 1.5, 2, 300, 2**53, 1e308])
OPEN = st.sampled_from([">", ">="])
CLOSE = st.sampled_from(["<", "<="])
NUMERIC = st.one_of(
    st.builds(lambda o, a, c, b: {"numeric": [o, a, c, b]}, OPEN, BOUNDS, CLOSE, BOUNDS),
    st.builds(lambda o, a: {"numeric": [o, a]}, st.sampled_from([">", ">=", "<", "<=", "="]), BOUNDS),
    st.builds(lambda n: {"anything-but": n}, st.lists(BOUNDS, min_size=1, max_size=2)),
    BOUNDS,
)
NUMBERS = st.one_of(BOUNDS, st.integers(-3, 3), st.sampled_from([2**53 + 1, 12345678901234567890, "1", True]))


@SETTINGS
@given(
    rules=st.lists(st.lists(NUMERIC, min_size=1, max_size=2), min_size=1, max_size=12),
    removals=st.lists(st.integers(0, 11), max_size=3),
    events=st.lists(values(NUMBERS), min_size=1, max_size=5),
)
def test_numeric_ranges_with_open_and_closed_bounds(
    rules: list[list[Any]], removals: list[int], events: list[Any]
) -> None:
    agree([{"f": r} for r in rules], [{"f": e} for e in events], removals)


def spellings(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[str]:
    if address.version == 4:
        mapped = ipaddress.IPv6Address(f"::ffff:{address}")
        return [str(address), ".".join(f"0{p}" for p in str(address).split(".")), f"{mapped.exploded}"]
    return [str(address), address.exploded, address.exploded.upper()]


ADDRESSES = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6), st.sampled_from(list(map(ipaddress.ip_address, [
    "10.0.0.1", "10.255.255.255", "192.168.1.1", "2001:db8::1", "::ffff:a00:1", "::", "::1",
]))))  # fmt: skip
IP_TEXTS = st.one_of(
    ADDRESSES.map(lambda a: spellings(a)[0]), ADDRESSES.flatmap(lambda a: st.sampled_from(spellings(a)))
)
BLOCKS = st.one_of(
    st.builds(lambda a, m: f"{a}/{m % (32 if a.version == 4 else 128)}", ADDRESSES, st.integers(0, 127)),
    st.sampled_from(["10.0.0.0/8", "2001:db8::/32", "::/1", "8000::/1", "0.0.0.0/1", "::ffff:0:0/96"]),
)


@SETTINGS
@given(
    blocks=st.lists(st.one_of(BLOCKS.map(lambda b: {"cidr": b}), IP_TEXTS), min_size=1, max_size=12),
    removals=st.lists(st.integers(0, 11), max_size=3),
    events=st.lists(values(st.one_of(IP_TEXTS, st.text(alphabet="0123456789abcdef:.", max_size=12))), max_size=6),
)
def test_ipv4_and_ipv6_cidr_blocks_and_addresses(blocks: list[Any], removals: list[int], events: list[Any]) -> None:
    agree([{"ip": [b]} for b in blocks], [{"ip": e} for e in events], removals)


@settings(max_examples=2000, deadline=None)
@given(text=st.one_of(st.text(alphabet="0123456789abcdefABCDEF:.", max_size=42), IP_TEXTS))
def test_the_c_address_reader_agrees_with_parse_ip(text: str) -> None:
    """Every address, through a block that holds it: the C reader finds the same address as Python's."""
    ip = parse_ip(text)
    halves = ["0.0.0.0/1", "128.0.0.0/1"] if ip is None or ip[0] == 4 else ["::/1", "8000::/1"]
    rules = {block: compile_pattern({"ip": [{"cidr": block}]}) for block in halves}
    exact = ip is not None and compile_pattern({"ip": [text]}).matches({"ip": text})
    assert exact == (ip is not None)
    found = {block for block, pattern in rules.items() if pattern.matches({"ip": text})}
    assert found == {block for block in halves if ip is not None and reference.matches(rules[block].text, {"ip": text})}


@SETTINGS
@given(
    rules=st.lists(
        st.dictionaries(
            st.sampled_from(["a", "b", "c.d"]),
            st.lists(
                st.one_of(st.builds(lambda b: {"exists": b}, st.booleans()), st.sampled_from(["x", 1])),
                min_size=1,
                max_size=2,
            ),
            min_size=1,
            max_size=2,
        ),
        min_size=1,
        max_size=10,
    ),
    removals=st.lists(st.integers(0, 9), max_size=3),
    events=st.lists(
        st.dictionaries(
            st.sampled_from(["a", "b", "c"]), st.one_of(st.sampled_from(["x", 1, [], {}]), st.just({"d": "x"}))
        ),
        min_size=1,
        max_size=5,
    ),
)
def test_exists_true_and_false_found_by_presence_and_absence(
    rules: list[dict[str, Any]], removals: list[int], events: list[dict[str, Any]]
) -> None:
    agree(rules, events, removals)


@settings(max_examples=500, deadline=None)
@given(patterns=st.lists(st.lists(WILDCARDS.filter(bool), min_size=1, max_size=2), min_size=1, max_size=3))
def test_the_linear_complexity_bound_is_never_below_the_complexity(patterns: list[list[str]]) -> None:
    objects = [[parse(p) for p in values] for values in patterns]
    assert sum(bound(segments) for values in objects for segments in values) >= complexity(objects, cap=1000)


def test_removing_rules_gives_back_their_trie_nodes_and_intervals() -> None:
    matcher = Matcher()
    matcher.add("keep", {"f": [{"wildcard": "*:role/keep*"}]})
    index = matcher._index[0]
    used = index.tries["contains"].nodes()
    for n in range(50):
        matcher.add(n, {"f": [{"wildcard": f"*:role/gone{n}-*"}], "n": [{"numeric": [">", n]}]})
    for n in range(50):
        matcher.remove(n)
    assert index.tries["contains"].nodes() == used
    assert matcher.matches({"f": "arn:aws:iam::1:role/keeper", "n": 99}) == {"keep"}
    assert set(matcher._index) == {0}
