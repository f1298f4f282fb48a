"""The C core (`_core`): the scanner reads event JSON exactly as orjson plus the Python walk would, or declines.

`Scanner.scan(text)` must either return None (the matcher then parses with orjson) or return the
same values per path and the same set of array paths as `event.extract` on `orjson.loads(text)`;
and it must never accept text that orjson refuses. `Scanner.extract(dict)` must agree with
`event.extract` or decline.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trailbridge.patterns import Matcher
from trailbridge.patterns._core import OP_PREFIX, Condition, Group, Scanner, Trie, configure, match
from trailbridge.patterns.compiler import Field
from trailbridge.patterns.event import PathTrie, extract
from trailbridge.patterns.values import FALSE, NULL, TRUE, key_of, numeric

PATHS = ["a", "b", "a.b", "a.c.d", "é", 'q"t', "n.m"]
KEYS = st.sampled_from(["a", "b", "c", "d", "m", "n", "é", 'q"t', "a.b", "n.m", "z", ""])
LEAVES = st.one_of(
    st.text(max_size=8),
    st.integers(min_value=-(2**64) + 1, max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
JSON = st.recursive(
    LEAVES,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(KEYS, children, max_size=4)),
    max_leaves=15,
)
DOCUMENTS = st.dictionaries(KEYS, JSON, max_size=5)


TRIE = PathTrie(PATHS)
SCANNER = Scanner(TRIE.root, len(TRIE.slots))


def EXTRACT(event: dict[str, Any]) -> tuple[list[Any], set[str] | None]:
    return extract(event, TRIE)


def canonical(extracted: tuple[list[Any], set[str] | None]) -> tuple[list[Counter[str] | None], set[str]]:
    out, arrays = extracted
    slots = [None if values is None else Counter(f"{type(v).__name__}:{v!r}" for v in values) for values in out]
    return slots, arrays or set()


def serializations(document: dict[str, Any]) -> list[str | bytes]:
    return [
        json.dumps(document).encode(),
        json.dumps(document, ensure_ascii=True),
        json.dumps(document, ensure_ascii=False, indent=2),
        json.dumps(document, separators=(",", ":")),
    ]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=DOCUMENTS)
def test_scan_agrees_with_orjson_and_the_python_extractor(document: dict[str, Any]) -> None:
    for text in serializations(document):
        scanned = SCANNER.scan(text)
        expected = EXTRACT(orjson.loads(text))
        if scanned is not None:
            assert canonical(scanned) == canonical(expected), text


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=DOCUMENTS)
def test_extract_from_dicts_agrees_with_the_python_walk(document: dict[str, Any]) -> None:
    walked = SCANNER.extract(document)
    if walked is None:  # only for a dotted key ("a.b" and "n.m" are the dotted keys drawn)
        assert '"a.b":' in json.dumps(document) or '"n.m":' in json.dumps(document)
    else:
        assert canonical(walked) == canonical(EXTRACT(document))


def test_extract_reads_dicts_and_lists_by_exact_type() -> None:
    class Odd(dict[str, Any]):
        pass

    document = {"a": Odd(b=1), "b": (1, 2), "n": {"m": [[], [{"x": 1}], "v"]}}
    out, arrays = SCANNER.extract(document) or ([], None)
    assert canonical((out, arrays)) == canonical(EXTRACT(document))
    assert out[TRIE.slots["a.b"]] is None  # a dict subclass is a leaf, and `a` has no slot
    assert out[TRIE.slots["b"]] == [(1, 2)]
    assert out[TRIE.slots["n.m"]] == ["v"]
    assert arrays == {"n.m"}
    assert SCANNER.extract({"a": {"c.d": 1}}) is None  # dotted keys: event.extract flattens them
    assert SCANNER.extract({"a": [[[[[]]]]] * 2}) is not None


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=DOCUMENTS, cut=st.integers(min_value=0), byte=st.integers(min_value=0, max_value=255))
def test_scan_never_accepts_what_orjson_refuses(document: dict[str, Any], cut: int, byte: int) -> None:
    text = json.dumps(document).encode()
    position = cut % (len(text) + 1)
    for broken in (text[:position], text[:position] + bytes([byte]) + text[position + 1 :]):
        try:
            expected = EXTRACT(orjson.loads(broken)) if broken.lstrip().startswith(b"{") else None
        except orjson.JSONDecodeError:
            expected = None
        scanned = SCANNER.scan(broken)
        if expected is None:
            assert scanned is None, broken
        elif scanned is not None:
            assert canonical(scanned) == canonical(expected), broken


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (b'{"a": 1, "a": 2}', "a duplicated key: orjson keeps the last"),
        (b'{"a.b": 1}', "a dotted key flattens into a path"),
        (b'{"\\u0061": 1}', "an escaped key"),
        (b'{"a": 1e2}', "an exponent"),
        (b'{"a": 123456789012345678901}', "an integer orjson reads as a float"),
        (b'{"a": "\\ud800"}', "a lone surrogate, which orjson refuses"),
        (b'{"a": "\\udc00\\ud800"}', "surrogates in the wrong order"),
        (b'{"b": "\xff"}', "invalid UTF-8, which orjson refuses"),
        (b'{"b": "\xed\xa0\x80"}', "an encoded surrogate, which orjson refuses"),
        (b'{"b": "\xc0\xaf"}', "an overlong encoding"),
        (b'{"b": "\x01"}', "a control character"),
        (b'{"b": 01}', "a leading zero"),
        (b'{"b": 1.}', "a fraction without digits"),
        (b'{"b": tru}', "a broken literal"),
        (b'{"b": [1,]}', "a trailing comma"),
        (b'{"b": 1} x', "text after the object"),
        (b"\xef\xbb\xbf{}", "a byte order mark"),
        (b"[]", "not an object"),
        (b'{"b": ' + b"[" * 600 + b"]" * 600 + b"}", "nesting deeper than the scanner goes"),
        ('{"b": "\ud800"}', "a str with a lone surrogate"),
    ],
)
def test_scan_declines_what_it_does_not_read_as_orjson_does(text: bytes | str, why: str) -> None:
    assert SCANNER.scan(text) is None, why


def test_scan_reads_values_arrays_and_escapes() -> None:
    text = b'{"a": {"b": ["x\\"\\u00e9\\ud83d\\ude00", 2, 2.5, -0.0, true, null, {"b": 9}], "c": {"d": []}}, "z": [1]}'
    out, arrays = SCANNER.scan(text) or ([], None)
    slots = PathTrie(PATHS).slots
    assert out[slots["a.b"]] == ['x"é\U0001f600', 2, 2.5, -0.0, True, None]
    assert out[slots["a.c.d"]] is None  # an empty array is no value
    assert arrays == {"a.b"}
    assert canonical((out, arrays)) == canonical(EXTRACT(orjson.loads(text)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=DOCUMENTS)
def test_matcher_gives_one_answer_for_bytes_text_and_dict(document: dict[str, Any]) -> None:
    matcher = Matcher()
    matcher.add("exact", {"a": {"b": ["x", 1]}})
    matcher.add("prefix", {"b": [{"prefix": "a"}], "a": {"c": {"d": [{"exists": False}]}}})
    matcher.add("numeric", {"a": [{"numeric": [">", 0]}]})
    matcher.add("array", {"a": {"b": [{"anything-but": "x"}], "c": {"d": [True]}}})
    expected = matcher.matches(document)
    for text in serializations(document):
        assert matcher.matches(text) == expected


def test_the_c_types_refuse_malformed_input_and_pass_errors_through() -> None:
    field = Field.build("a", [], absent_ok=False)
    with pytest.raises(ValueError, match="malformed op"):
        Condition(field, 0, False, ((999, "x"),))
    with pytest.raises(ValueError, match="malformed op"):
        Condition(field, 0, False, ((OP_PREFIX, 3),))
    with pytest.raises(TypeError, match="an op is a"):
        Condition(field, 0, False, (lambda v: True,))
    with pytest.raises(TypeError):
        Group((), None, ("not a condition",), frozenset())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode"):
        Trie(7)

    def no_places(event: object) -> Any:
        return []

    def always(conditions: object, places: object) -> bool:
        return True

    matcher = Matcher()
    matcher.add("rule", {"a": [12345678901234567890]})
    items = matcher._index_items
    with pytest.raises(TypeError, match="index items"):
        match([("not", "an item")], [["x"]], None, {}, no_places, always)
    with pytest.raises(IndexError):
        match(items, [], None, {}, no_places, always)
    assert match(items, [[12345678901234567890]], None, {}, no_places, always) == {"rule"}

    def broken(value: object) -> object:
        raise RuntimeError("a key that fails")

    configure(broken, numeric, TRUE, FALSE, NULL)
    try:
        with pytest.raises(RuntimeError, match="a key that fails"):
            match(items, [[12345678901234567890]], None, {}, no_places, always)
    finally:
        configure(key_of, numeric, TRUE, FALSE, NULL)
