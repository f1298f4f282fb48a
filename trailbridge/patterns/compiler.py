"""From pattern text to a disjunction of conjunctions of field tests, validated as EventBridge does.

EventBridge validates a pattern while it streams through it (aws/event-ruler's JsonRuleCompiler), so
the error it reports is the first one met in document order. This compiler pulls tokens from
`jsontext.Lexer` and applies the same checks in the same order with the same words. It expands
`$or` into branches as event-ruler does: each branch is a dict from a dotted field path to its
`Field`, and a later key for the same path replaces an earlier one.

The walk over nested objects uses an explicit stack, so a deeply nested pattern cannot exhaust
Python's recursion limit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from trailbridge.patterns import operators as op
from trailbridge.patterns import wildcard
from trailbridge.patterns.errors import PatternError
from trailbridge.patterns.ipaddr import cidr_range, looks_like_ip, parse_ip
from trailbridge.patterns.jsontext import Lexer, Tok, Token
from trailbridge.patterns.values import comparable, number_key

OR = "$or"
RESERVED_IN_OR = frozenset(
    [
        "exactly",
        "equals-ignore-case",
        "prefix",
        "suffix",
        "anything-but",
        "exists",
        "wildcard",
        "numeric",
        "cidr",
        "html",
        "=",
        "<",
        "<=",
        ">",
        ">=",
        "regex",
        "not-wildcard",
        "not-equals-ignore-case",
        "date-after",
        "date-on-or-after",
        "date-before",
        "date-on-or-before",
        "in-date-range",
        "ip-address-in-range",
        "ip-address-not-in-range",
    ]
)
MAX_BRANCHES = 1024
TOO_MANY_BRANCHES = f"Too many $or combinations: a pattern may expand to at most {MAX_BRANCHES} branches"
_NUMERIC_OPS = {"=", "<", "<=", ">", ">="}
_DOUBLE_MAX = 1.7976931348623157e308


@dataclass(frozen=True, slots=True)
class Field:
    """The tests of one field path: it matches when any test matches a value there, or, when
    `absent_ok` (`exists: false`), when the event has no value there at all."""

    path: str
    tests: tuple[op.Test, ...]
    absent_ok: bool
    key: tuple[object, ...] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        key = (self.path, self.absent_ok, frozenset(t.key for t in self.tests))
        object.__setattr__(self, "key", key)

    @classmethod
    def build(cls, path: str, tests: list[op.Test], absent_ok: bool) -> Field:
        exact = [t for t in tests if t.key[0] == "exact"]
        rest = [t for t in tests if t.key[0] != "exact"]
        unique = list({t.key: t for t in rest}.values())
        grouped = ([op.exact_set(t.key[1] for t in exact)] if exact else []) + unique
        return cls(path, tuple(grouped), absent_ok)

    def anchors(self, pick: Callable[[op.Test], op.Anchor] = lambda t: t.anchor) -> list[op.Anchor]:
        """Where the index finds this field's rules: an anchor of each test (`pick` chooses among a
        test's alternatives), and the events without a value there when `absent_ok`. The field holds
        for an event exactly when one of them finds it, unless one is not `exact`."""
        absent = [op.Anchor("absent", None)] if self.absent_ok else []
        return absent + [pick(t) for t in self.tests]


Branch = tuple[Field, ...]  # a conjunction, one Field per distinct path, sorted by path


class _Values(NamedTuple):
    tests: list[op.Test]
    absent_ok: bool


def compile_branches(text: str) -> tuple[Branch, ...]:
    """Validate a pattern and return its branches; raises PatternError with AWS's reason."""
    lexer = Lexer(text)
    if lexer.next().kind is not Tok.START_OBJECT:
        raise PatternError("Filter is not an object")
    maps = _Walker(lexer).run()
    branches = tuple(tuple(Field.build(path, v.tests, v.absent_ok) for path, v in sorted(m.items())) for m in maps)
    _check_complexity(branches)
    return branches


def _check_complexity(branches: tuple[Branch, ...]) -> None:
    per_path: dict[str, dict[object, tuple[tuple[str, ...], ...]]] = defaultdict(dict)
    for branch in branches:
        for fld in branch:
            for test in fld.tests:
                if test.wildcards:
                    per_path[fld.path][test.key] = test.wildcards
    for objects in per_path.values():
        if _too_complex(tuple(objects.values())):
            raise PatternError(wildcard.TOO_COMPLEX)


@lru_cache(maxsize=4096)
def _too_complex(objects: tuple[tuple[tuple[str, ...], ...], ...]) -> bool:
    """Cached: rules on one bus tend to repeat their wildcards, and the check explores an automaton,
    unless a bound linear in the patterns already shows them simple enough (most patterns)."""
    if sum(wildcard.bound(segments) for values in objects for segments in values) <= wildcard.MAX_COMPLEXITY:
        return False
    return wildcard.complexity(objects) > wildcard.MAX_COMPLEXITY


# -- the object walk -------------------------------------------------------------------------

_Map = dict[str, _Values]


@dataclass
class _Object:
    maps: list[_Map]  # the branch list this object writes into
    in_or: bool
    pushed: bool  # whether opening it pushed a path step
    fields: bool = False


@dataclass
class _OrArray:
    maps: list[_Map]  # the enclosing list: emptied, then refilled with every branch's maps
    base: list[_Map]  # copies of what the enclosing list held before the $or
    count: int = 0


@dataclass
class _OrBranch(_Object):
    parent: _OrArray | None = None


class _Walker:
    def __init__(self, lexer: Lexer) -> None:
        self.lexer = lexer
        self.path: list[str] = []

    def run(self) -> list[_Map]:
        root: list[_Map] = []
        stack: list[_Object | _OrArray] = [_Object(root, in_or=False, pushed=False)]
        while stack:
            frame = stack[-1]
            if isinstance(frame, _OrArray):
                self._or_element(frame, stack)
            else:
                self._object_member(frame, stack)
        return root

    def _object_member(self, frame: _Object, stack: list[_Object | _OrArray]) -> None:
        token = self.lexer.next()
        if token.kind is Tok.END_OBJECT:
            if not frame.fields:
                raise PatternError("Empty objects are not allowed")
            stack.pop()
            if frame.pushed:
                self.path.pop()
            if isinstance(frame, _OrBranch) and frame.parent is not None:
                frame.parent.maps.extend(frame.maps)
                if len(frame.parent.maps) > MAX_BRANCHES:
                    raise PatternError(TOO_MANY_BRANCHES)
            return
        frame.fields = True
        name = token.text
        if name == OR:
            base = [dict(m) for m in frame.maps]
            frame.maps.clear()
            if self.lexer.next().kind is not Tok.START_ARRAY:
                raise PatternError("It must be an Array followed with $or.")
            stack.append(_OrArray(frame.maps, base))
            return
        if frame.in_or and name in RESERVED_IN_OR:
            raise PatternError(f"{name} is Ruler reserved fieldName which cannot be used inside $or.")
        value = self.lexer.next()
        if value.kind is Tok.START_OBJECT:
            self.path.append(name)
            stack.append(_Object(frame.maps, frame.in_or, pushed=True))
        elif value.kind is Tok.START_ARRAY:
            self._write(frame.maps, ".".join([*self.path, name]), self._values())
        else:
            raise PatternError(f'"{name}" must be an object or an array')

    def _or_element(self, frame: _OrArray, stack: list[_Object | _OrArray]) -> None:
        token = self.lexer.next()
        if token.kind is Tok.END_ARRAY:
            if frame.count < 2:
                raise PatternError("There must have at least 2 Objects in $or relationship.")
            stack.pop()
            return
        frame.count += 1
        if token.kind is not Tok.START_OBJECT:
            raise PatternError("Only JSON object is allowed in array of $or relationship.")
        maps = [dict(m) for m in frame.base] or [{}]
        stack.append(_OrBranch(maps, in_or=True, pushed=False, parent=frame))

    @staticmethod
    def _write(maps: list[_Map], path: str, values: _Values) -> None:
        if not maps:
            maps.append({})
        for m in maps:
            m[path] = values

    # -- one field's array of values ---------------------------------------------------------

    def _values(self) -> _Values:
        tests: list[op.Test] = []
        absent_ok = False
        while (token := self.lexer.next()).kind is not Tok.END_ARRAY:
            kind = token.kind
            if kind is Tok.START_OBJECT:
                test = _Expression(self.lexer).parse()
                if test is None:
                    absent_ok = True
                else:
                    tests.append(test)
            elif kind is Tok.STRING:
                tests.append(_string_value(token.text))
            elif kind is Tok.NUMBER:
                tests.append(op.exact_literal(number_key(token.text)))
            elif kind in (Tok.TRUE, Tok.FALSE, Tok.NULL):
                tests.append(op.exact_literal(op.LITERAL_KEYS[token.text]))
            else:
                raise PatternError("Match value must be String, number, true, false, or null")
        if not tests and not absent_ok:
            raise PatternError("Empty arrays are not allowed")
        return _Values(tests, absent_ok)


def _string_value(text: str) -> op.Test:
    if looks_like_ip(text):
        ip = parse_ip(text)
        if ip is not None:
            return op.ip_equals(ip)
    return op.exact_string(text)


def _token_text(token: Token) -> str:
    texts = {Tok.START_OBJECT: "{", Tok.END_OBJECT: "}", Tok.START_ARRAY: "[", Tok.END_ARRAY: "]"}
    return texts.get(token.kind, token.text)


class _Expression:
    """One `{"operator": operand}` object inside a field's array (event-ruler's processMatchExpression)."""

    def __init__(self, lexer: Lexer) -> None:
        self.lexer = lexer

    def parse(self) -> op.Test | None:
        """The operator's test; None for `exists: false`."""
        token = self.lexer.next()
        if token.kind is not Tok.FIELD_NAME:
            raise PatternError("Match expression name not found")
        handler = _OPERATORS.get(token.text)
        if handler is None:
            raise PatternError(f"Unrecognized match type {token.text}")
        return handler(self)

    def _string(self, error: str) -> str:
        token = self.lexer.next()
        if token.kind is not Tok.STRING:
            raise PatternError(error)
        return token.text

    def _end(self, error: str = "Only one key allowed in match expression") -> None:
        if self.lexer.next().kind is not Tok.END_OBJECT:
            raise PatternError(error)

    def _simple(self, name: str, make: Callable[[str], op.Test]) -> op.Test:
        test = make(self._string(f"{name} match pattern must be a string"))
        self._end()
        return test

    def exactly(self) -> op.Test:
        return self._simple("exact", op.exact_string)

    def equals_ignore_case(self) -> op.Test:
        return self._simple("equals-ignore-case", op.equals_ignore_case)

    def wildcard(self) -> op.Test:
        return self._simple("wildcard", op.wildcard_match)

    def prefix(self) -> op.Test:
        return self._affix("prefix", op.prefix, op.prefix_ignore_case)

    def suffix(self) -> op.Test:
        return self._affix("suffix", op.suffix, op.suffix_ignore_case)

    def _affix(self, name: str, plain: Callable[[str], op.Test], ignore_case: Callable[[str], op.Test]) -> op.Test:
        token = self.lexer.next()
        if token.kind is Tok.START_OBJECT:
            inner = self.lexer.next()
            if inner.kind is not Tok.FIELD_NAME:
                raise PatternError(f"{name.capitalize()} expression name not found")
            if inner.text != "equals-ignore-case":
                raise PatternError(f"Unsupported {name} pattern: {inner.text}")
            test = ignore_case(self._string("equals-ignore-case match pattern must be a string"))
            self._end()
            self._end()
            return test
        if token.kind is not Tok.STRING:
            raise PatternError(f"{name} match pattern must be a string")
        self._end()
        return plain(token.text)

    def exists(self) -> op.Test | None:
        token = self.lexer.next()
        if token.kind not in (Tok.TRUE, Tok.FALSE):
            raise PatternError("exists match pattern must be either true or false.")
        self._end()
        return op.exists() if token.kind is Tok.TRUE else None

    def cidr(self) -> op.Test:
        test = op.cidr(*cidr_range(self._string("prefix match pattern must be a string")))
        self._end()
        return test

    # -- numeric -------------------------------------------------------------------------------

    def numeric(self) -> op.Test:
        if self.lexer.next().kind is not Tok.START_ARRAY:
            raise PatternError("Value of numeric must be an array.")
        test = self._numeric_body()
        self._end("Too many elements in numeric expression")
        return test

    def _numeric_body(self) -> op.Test:
        token = self.lexer.next()
        if token.kind is not Tok.STRING:
            raise PatternError(f"Invalid member in numeric match: {_token_text(token)}")
        operator = token.text
        if operator not in _NUMERIC_OPS:
            self.lexer.next()
            raise PatternError(f"Unrecognized numeric range operator: {operator}")
        name = "equals" if operator == "=" else operator
        value = self._number(f"Value of {name} must be numeric")
        if operator in ("=", "<", "<="):
            if self.lexer.next().kind is not Tok.END_ARRAY:
                raise PatternError("Too many elements in numeric expression")
            if operator == "=":
                number = _comparable(value)
                return op.numeric_range(number, False, number, False)
            return _range(str(-_DOUBLE_MAX), False, value, operator == "<")
        token = self.lexer.next()
        if token.kind is Tok.END_ARRAY:
            return _range(value, operator == ">", str(_DOUBLE_MAX), False)
        if token.kind is not Tok.STRING:
            raise PatternError(f"Bad value in numeric range: {_token_text(token)}")
        upper = token.text
        if upper not in ("<", "<="):
            raise PatternError(f"Bad numeric range operator: {upper}")
        top = self._number(f"Value of {upper} must be numeric")
        if self.lexer.next().kind is not Tok.END_ARRAY:
            raise PatternError("Too many terms in numeric range expression")
        return _range(value, operator == ">", top, upper == "<")

    def _number(self, error: str) -> str:
        token = self.lexer.next()
        if token.kind is not Tok.NUMBER:
            raise PatternError(error)
        return token.text

    # -- anything-but ----------------------------------------------------------------------------

    def anything_but(self) -> op.Test:
        token = self.lexer.next()
        variant = ""
        if token.kind is Tok.START_OBJECT:
            inner = self.lexer.next()
            if inner.kind is not Tok.FIELD_NAME:
                raise PatternError("Anything-But expression name not found")
            if inner.text not in _ANYTHING_BUT_SETS:
                raise PatternError(f"Unsupported anything-but pattern: {inner.text}")
            variant = inner.text
            token = self.lexer.next()
        if token.kind not in (Tok.START_ARRAY, Tok.STRING, Tok.NUMBER):
            raise PatternError("Value of anything-but must be an array or single string/number value.")
        test = self._anything_but_set(variant, token) if variant else self._anything_but_values(token)
        self._end("Too many elements in numeric expression")
        if variant:
            self._end("Too many elements in numeric expression")
        return test

    def _elements(self, token: Token) -> Iterator[Token]:
        """The operand's values: the token itself, or each element of the array it opens."""
        if token.kind is not Tok.START_ARRAY:
            yield token
            return
        while (item := self.lexer.next()).kind is not Tok.END_ARRAY:
            yield item

    def _anything_but_values(self, token: Token) -> op.Test:
        strings: set[str] = set()
        numbers: set[float] = set()
        for item in self._elements(token):
            if item.kind is Tok.STRING:
                strings.add(item.text)
            elif item.kind is Tok.NUMBER:
                numbers.add(_comparable(item.text))
            else:
                raise PatternError("Inside anything but list, start|null|boolean is not supported.")
        if bool(strings) == bool(numbers):
            raise PatternError(
                "Inside anything but list, either all values are number or string, mixed type is not supported"
            )
        return op.anything_but(frozenset(strings), frozenset(numbers))

    def _anything_but_set(self, variant: str, token: Token) -> op.Test:
        texts: set[str] = set()
        for item in self._elements(token):
            if item.kind is not Tok.STRING:
                raise PatternError(_ANYTHING_BUT_SET_ERRORS[variant])
            if variant in ("prefix", "suffix") and item.text == "":
                raise PatternError("Null prefix/suffix not allowed")
            texts.add(item.text)
        return _ANYTHING_BUT_SETS[variant](frozenset(texts))


def _comparable(text: str) -> float:
    value = comparable(text)
    if value is None:
        raise PatternError(f"Cannot compare number : {text}")
    return value


def _range(low: str, low_open: bool, high: str, high_open: bool) -> op.Test:
    bottom, top = _comparable(low), _comparable(high)
    if bottom >= top:
        raise PatternError("Bottom must be less than top")
    return op.numeric_range(bottom, low_open, top, high_open)


_OPERATORS: dict[str, Callable[[_Expression], op.Test | None]] = {
    "exactly": _Expression.exactly,
    "prefix": _Expression.prefix,
    "suffix": _Expression.suffix,
    "numeric": _Expression.numeric,
    "anything-but": _Expression.anything_but,
    "exists": _Expression.exists,
    "cidr": _Expression.cidr,
    "equals-ignore-case": _Expression.equals_ignore_case,
    "wildcard": _Expression.wildcard,
}

_ANYTHING_BUT_SETS: dict[str, Callable[[frozenset[str]], op.Test]] = {
    "equals-ignore-case": op.anything_but_ignore_case,
    "prefix": op.anything_but_prefix,
    "suffix": op.anything_but_suffix,
    "wildcard": op.anything_but_wildcard,
}

_ANYTHING_BUT_SET_ERRORS = {
    "equals-ignore-case": "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
    "prefix": "prefix/suffix match pattern must be a string",
    "suffix": "prefix/suffix match pattern must be a string",
    "wildcard": "wildcard match pattern must be a string",
}
