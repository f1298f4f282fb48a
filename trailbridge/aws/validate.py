r"""Validate request parameters against a botocore input shape, worded as AWS words it.

AWS answers a request that breaks its model's constraints with one ValidationException listing every
violation: `2 validation errors detected: Value 'x' at 'name' failed to satisfy constraint: Member must
...; Value ...`. Member paths use lowerCamelCase names, and list members are `targets.1.member.id`.
Nothing here is written per operation: it walks the shape.

The models' `pattern`s are Java regular expressions. `java_regex` translates them to Python's `re` (Unicode
classes such as `\p{L}` become explicit ranges, surrogate pairs become code points, `\w` and `\d` stay ASCII
as in Java), and a repeated group that holds a repetition itself is made atomic, so that no value can make a
check backtrack exponentially. Every pattern of an operation is compiled when its model is loaded; one that
still cannot compile is logged then and that constraint is not checked, so no request ever fails on it.
"""

from __future__ import annotations

import logging
import re
import sys
import unicodedata
from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from trailbridge.errors import InvalidInputError

log = logging.getLogger("trailbridge.aws")

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "double": (int, float),
    "float": (int, float),
    "timestamp": (datetime, int, float, str),
    "blob": (bytes, bytearray, str),
}


@cache
def service_model(name: str) -> ServiceModel:
    """botocore's model of an AWS service (`events`, `sqs`, `cloudtrail`, ...)."""
    return botocore.session.get_session().get_service_model(name)


def operation(service: str, name: str) -> OperationModel:
    """An operation's model, with the patterns of its input shape compiled (see `prepare`)."""
    model = service_model(service).operation_model(name)
    prepare(model)
    return model


def prepare(op: OperationModel) -> None:
    """Compile every pattern of the operation's input shape now: one that cannot be compiled is logged (once)
    and left unchecked, here rather than in the middle of a request."""
    if op.input_shape is not None:
        for text in _patterns(op.input_shape, set()):
            _pattern(text)


def _patterns(shape: Shape, seen: set[str]) -> Iterator[str]:
    if shape.name in seen:
        return
    seen.add(shape.name)
    if isinstance(shape, StructureShape):
        for member in shape.members.values():
            yield from _patterns(member, seen)
    elif isinstance(shape, ListShape):
        yield from _patterns(shape.member, seen)
    elif isinstance(shape, MapShape):
        yield from _patterns(shape.key, seen)
        yield from _patterns(shape.value, seen)
    elif "pattern" in shape.metadata:
        yield str(shape.metadata["pattern"])


class ModelValidationError(InvalidInputError):
    """Parameters that break the model; `paths` names the members at fault (`targets.1.member.id`)."""

    def __init__(self, message: str, paths: tuple[str, ...]) -> None:
        super().__init__(message)
        self.paths = paths


class _Problem(str):
    """One violation's text, knowing the member path it is about."""

    path = ""


def _problem(path: str, text: str) -> _Problem:
    problem = _Problem(text)
    problem.path = path
    return problem


def validate(op: OperationModel, params: Mapping[str, Any]) -> None:
    """Raise `ModelValidationError` with AWS's wording if `params` break the operation's input shape."""
    shape = op.input_shape
    if shape is None:
        return
    problems = list(_check_structure(shape, params, ""))
    if problems:
        count = len(problems)
        noun = "validation error" if count == 1 else "validation errors"
        paths = tuple(problem.path for problem in problems)
        raise ModelValidationError(f"{count} {noun} detected: " + "; ".join(problems), paths)


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member


def _fail(value: Any, path: str, constraint: str) -> _Problem:
    shown = "null" if value is None else f"'{value}'"
    return _problem(path, f"Value {shown} at '{path}' failed to satisfy constraint: Member must {constraint}")


# Enums whose values AWS lists in an order of its own, not the model's (recorded from AWS). Shape names are
# unique across botocore's models: ApiDestinationHttpMethod is EventBridge's.
_AWS_ENUM_ORDER = {"ApiDestinationHttpMethod": ("HEAD", "POST", "PATCH", "DELETE", "PUT", "GET", "OPTIONS")}


def _check(shape: Shape, value: Any, path: str) -> Iterator[_Problem]:
    if isinstance(shape, StructureShape):
        if not isinstance(value, Mapping):
            yield _fail(value, path, "be a structure")
        else:
            yield from _check_structure(shape, value, path)
    elif isinstance(shape, ListShape):
        yield from _check_list(shape, value, path)
    elif isinstance(shape, MapShape):
        yield from _check_map(shape, value, path)
    else:
        yield from _check_scalar(shape, value, path)


def _check_structure(shape: StructureShape, value: Mapping[str, Any], path: str) -> Iterator[_Problem]:
    for name in shape.required_members:
        if value.get(name) is None:
            yield _fail(None, _join(path, _camel(name)), "not be null")
    for name, member_value in value.items():
        member = shape.members.get(name)
        if member is None:
            yield _problem(_join(path, _camel(name)), f"Unknown parameter '{_join(path, _camel(name))}'")
        elif member_value is not None:
            yield from _check(member, member_value, _join(path, _camel(name)))


def _check_list(shape: ListShape, value: Any, path: str) -> Iterator[_Problem]:
    if not isinstance(value, list | tuple):
        yield _fail(value, path, "be a list")
        return
    yield from _check_size(shape, value, path, "length")
    for index, item in enumerate(value, 1):
        yield from _check(shape.member, item, f"{path}.{index}.member")


def _check_map(shape: MapShape, value: Any, path: str) -> Iterator[_Problem]:
    if not isinstance(value, Mapping):
        yield _fail(value, path, "be a map")
        return
    yield from _check_size(shape, value, path, "length")
    for key, item in value.items():
        yield from _check(shape.key, key, f"{path}.key")
        yield from _check(shape.value, item, f"{path}.{key}.value")


def _check_scalar(shape: Shape, value: Any, path: str) -> Iterator[_Problem]:
    kinds = _TYPES.get(shape.type_name, (object,))
    if not isinstance(value, kinds) or (shape.type_name != "boolean" and isinstance(value, bool)):
        yield _fail(value, path, f"be of type {shape.type_name}")
        return
    meta = shape.metadata
    if shape.type_name == "string":  # AWS reports a string's pattern before its length
        if "pattern" in meta and not _matches(meta["pattern"], str(value), meta.get("max")):
            yield _fail(value, path, f"satisfy regular expression pattern: {meta['pattern']}")
        yield from _check_size(shape, value, path, "length")
        if "enum" in meta and value not in meta["enum"]:
            listed = _AWS_ENUM_ORDER.get(shape.name, meta["enum"])
            yield _fail(value, path, f"satisfy enum value set: [{', '.join(listed)}]")
    elif shape.type_name in ("integer", "long", "double", "float"):
        yield from _check_size(shape, value, path, "value", measure=False)


def _check_size(shape: Shape, value: Any, path: str, what: str, *, measure: bool = True) -> Iterator[_Problem]:
    size = len(value) if measure else value
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        yield _fail(value, path, f"have {what} greater than or equal to {low}")
    if high is not None and size > high:
        yield _fail(value, path, f"have {what} less than or equal to {high}")


# Longest value checked against a pattern that has a repetition inside a repetition (when the shape sets no
# length limit): atomic groups keep such a check polynomial, not linear.
_NESTED_REPEAT_LIMIT = 64 * 1024


def _matches(text: str, value: str, longest: int | None) -> bool:
    compiled = _pattern(text)
    if compiled is None:
        return True  # a pattern we cannot compile was logged when the model was loaded; not checked
    regex, nested = compiled
    if nested and len(value) > (longest or _NESTED_REPEAT_LIMIT):
        return True  # too long already: that is the violation reported; matching it would cost for nothing
    return regex.fullmatch(value) is not None


@cache
def _pattern(text: str) -> tuple[re.Pattern[str], bool] | None:
    r"""The compiled translation of a model's Java pattern, and whether it repeats a repetition; None (logged
    once) for one that cannot be translated or compiled."""
    try:
        translated, nested = java_regex(text)
        # Java's `\w`, `\d`, `\s` and case folding are ASCII-only; `.` matches any character as the models mean.
        return re.compile(translated, re.DOTALL | re.ASCII), nested
    except (UnsupportedPattern, re.error) as exc:
        log.warning("model pattern %r is not checked: %s", text, exc)
        return None


class UnsupportedPattern(ValueError):
    """A Java regular expression `java_regex` cannot translate."""


# Java's POSIX classes (\p{Alpha}, ...) are ASCII-only, as ranges for a character class.
_POSIX = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7f",
    "Alpha": "A-Za-z",
    "Digit": "0-9",
    "Alnum": "0-9A-Za-z",
    "Punct": "!-/:-@\\[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1f\\x7f",
    "XDigit": "0-9A-Fa-f",
    "Space": " \\t\\n\\x0b\\f\\r",
}
_JAVA_CATEGORIES = {
    "javaLowerCase": "Ll",
    "javaUpperCase": "Lu",
    "javaTitleCase": "Lt",
    "javaDigit": "Nd",
    "javaLetter": "L",
    "Letter": "L",
    "Lowercase_Letter": "Ll",
    "Uppercase_Letter": "Lu",
    "Number": "N",
    "Separator": "Z",
    "Punctuation": "P",
    "Symbol": "S",
    "Mark": "M",
    "Other": "C",
    "L&": "LC",
}
_SHORTHAND_SETS = {
    "h": " \\t\\xa0\\u1680\\u180e\\u2000-\\u200a\\u202f\\u205f\\u3000",
    "v": "\\n\\x0b\\f\\r\\x85\\u2028\\u2029",
}


@cache
def _categories() -> dict[str, tuple[tuple[int, int], ...]]:
    """Unicode general category (`Lu`, `Zs`, ...) -> its code point ranges (one pass over all code points)."""
    found: dict[str, list[tuple[int, int]]] = {}
    start, current = 0, unicodedata.category("\x00")
    for code in range(1, sys.maxunicode + 2):
        category = unicodedata.category(chr(code)) if code <= sys.maxunicode else ""
        if category != current:
            found.setdefault(current, []).append((start, code - 1))
            start, current = code, category
    return {name: tuple(ranges) for name, ranges in found.items()}


def _escaped(code: int) -> str:
    return f"\\U{code:08x}"


@cache
def _property_set(name: str) -> str:
    r"""The inside of a character class for Java's `\p{name}`."""
    for prefix in ("general_category=", "gc=", "Is"):
        if name.startswith(prefix) and len(name) > len(prefix):
            name = name[len(prefix) :]
            break
    if name in _POSIX:
        return _POSIX[name]
    name = _JAVA_CATEGORIES.get(name, name)
    categories = _categories()
    if name == "LC":
        chosen = ["Lu", "Ll", "Lt"]
    elif len(name) == 1:
        chosen = [c for c in categories if c.startswith(name)]
    else:
        chosen = [name] if name in categories else []
    if not chosen:
        raise UnsupportedPattern(f"unknown character property {name!r}")
    ranges = sorted(r for c in chosen for r in categories[c])
    return "".join(_escaped(a) if a == b else f"{_escaped(a)}-{_escaped(b)}" for a, b in ranges)


def java_regex(pattern: str) -> tuple[str, bool]:
    r"""A Java regular expression as Python's `re` reads it (with `re.ASCII`: Java's `\w`, `\d`, `\s` are
    ASCII), and whether it repeats a group that holds a repetition (such a group is made atomic, `(?>...)`)."""
    return _Translation(pattern).run()


class _Translation:
    def __init__(self, pattern: str) -> None:
        self.pattern, self.i = pattern, 0
        self.out: list[str] = []
        # Open groups: (index in `out` of a plain capturing or `(?:` opening, or -1; holds a repetition).
        self.groups: list[tuple[int, bool]] = []
        self.nested = False

    def run(self) -> tuple[str, bool]:
        pattern = self.pattern
        while self.i < len(pattern):
            char = pattern[self.i]
            if char == "\\":
                piece, self.i, _ = _escape(pattern, self.i, in_class=False)
                self.out.append(piece)
            elif char == "[":
                self._char_class()
            elif char == "(":
                self._open_group()
            elif char == ")":
                self._close_group()
            elif char in "*+?{":
                self._quantifier(char)
            else:
                self.out.append(char)
                self.i += 1
        if self.groups:
            raise UnsupportedPattern("unbalanced parentheses")
        return "".join(self.out), self.nested

    def _repeated(self) -> None:
        if self.groups:
            self.groups[-1] = (self.groups[-1][0], True)

    def _quantifier(self, char: str) -> None:
        pattern, i = self.pattern, self.i
        end = i + 1
        if char == "{":
            bound = re.match(r"\{\d*(,\d*)?\}", pattern[i:])
            if bound is None:
                raise UnsupportedPattern("a '{' that is not a repetition")
            end = i + len(bound.group())
        if pattern[end : end + 1] in ("?", "+"):
            end += 1  # lazy or possessive (Python >= 3.11 reads both)
        self._repeated()
        self.out.append(pattern[i:end])
        self.i = end

    def _open_group(self) -> None:
        pattern, i = self.pattern, self.i
        if pattern.startswith("(?<", i) and pattern[i + 3 : i + 4] not in ("=", "!"):
            self.out.append("(?P<")  # a named group
            self.groups.append((-1, False))
            self.i += 3
            return
        if pattern.startswith("(?", i):
            construct = re.match(r"\(\?[a-zA-Z-]*[:)]|\(\?[=!>]|\(\?<[=!]", pattern[i:])
            if construct is None:
                raise UnsupportedPattern("an unknown (? construct")
            text = construct.group()
            if text.endswith(")"):  # inline flags: only at the very start in Python
                if i > 0:
                    raise UnsupportedPattern("inline flags in the middle of a pattern")
                self.out.append(text)
                self.i += len(text)
                return
            self.out.append(text)
            self.groups.append((len(self.out) - 1 if text == "(?:" else -1, False))
            self.i += len(text)
            return
        self.out.append("(")
        self.groups.append((len(self.out) - 1, False))
        self.i += 1

    def _close_group(self) -> None:
        if not self.groups:
            raise UnsupportedPattern("unbalanced parentheses")
        opening, holds = self.groups.pop()
        self.out.append(")")
        self.i += 1
        quantified = self.pattern[self.i : self.i + 1] in ("*", "+", "{")
        if holds and quantified and opening >= 0:
            # A repetition of something that repeats: atomic, so a failing match cannot try every way of
            # splitting the text between the two (exponential backtracking).
            self.out[opening] = "(?>"
            self.nested = True
        if holds:
            self._repeated()

    def _char_class(self) -> None:
        pattern = self.pattern
        self.out.append("[")
        i = self.i + 1
        if pattern[i : i + 1] == "^":
            self.out.append("^")
            i += 1
        first, after_set = i, False
        while True:
            if i >= len(pattern):
                raise UnsupportedPattern("unterminated character class")
            char = pattern[i]
            if char == "\\":
                piece, i, after_set = _escape(pattern, i, in_class=True)
                self.out.append(piece)
                continue
            if char == "]" and i > first:
                break
            if char == "[":
                raise UnsupportedPattern("nested character classes")
            if char == "&" and pattern.startswith("&&", i):
                raise UnsupportedPattern("character class intersection")
            if char == "-" and after_set and pattern[i + 1 : i + 2] != "]":
                char = "\\-"  # Java: a '-' after a class such as \w is a literal
            elif char in "-&~|" and pattern[i + 1 : i + 2] == char:
                char = "\\" + char  # Python warns of set operations it may add
            self.out.append(char)
            after_set = False
            i += 1
        self.out.append("]")
        self.i = i + 1


_SIMPLE_ESCAPES = {"e": "\\x1b", "a": "\\x07"}
_OUTSIDE_CLASS = {
    "z": "\\Z",
    "Z": "(?=\\n?\\Z)",
    "R": "(?:\\r\\n|[\\n\\x0b\\f\\r\\x85\\u2028\\u2029])",
    "A": "\\A",
    "b": "\\b",
    "B": "\\B",
}


def _escape(pattern: str, i: int, *, in_class: bool) -> tuple[str, int, bool]:
    """(Python text, index after it, whether it stands for a set of characters) for the escape at `i`."""
    kind = pattern[i + 1 : i + 2]
    if kind in ("p", "P"):
        return _property(pattern, i, kind, in_class=in_class)
    if kind == "u":
        code, after = _hex(pattern[i + 2 : i + 6]), i + 6
        low = pattern[after + 2 : after + 6] if pattern.startswith("\\u", after) else ""
        if 0xD800 <= code < 0xDC00 and len(low) == 4 and 0xDC00 <= _hex(low) < 0xE000:
            code, after = 0x10000 + ((code - 0xD800) << 10) + (_hex(low) - 0xDC00), after + 6  # a surrogate pair
        return _escaped(code), after, False
    if kind == "x" and pattern[i + 2 : i + 3] == "{":
        end = pattern.find("}", i + 3)
        if end < 0:
            raise UnsupportedPattern("unterminated \\x{...}")
        return _escaped(_hex(pattern[i + 3 : end])), end + 1, False
    if kind == "Q":
        end = pattern.find("\\E", i + 2)
        quoted = pattern[i + 2 : end if end >= 0 else len(pattern)]
        return "".join(_escaped(ord(c)) for c in quoted), (end + 2 if end >= 0 else len(pattern)), False
    if kind in _SHORTHAND_SETS or kind in ("H", "V"):
        inside = _SHORTHAND_SETS[kind.lower()]
        if kind.isupper():
            if in_class:
                raise UnsupportedPattern(f"\\{kind} inside a character class")
            return f"[^{inside}]", i + 2, True
        return (inside if in_class else f"[{inside}]"), i + 2, True
    if kind in _OUTSIDE_CLASS and not in_class:
        return _OUTSIDE_CLASS[kind], i + 2, False
    if kind in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[kind], i + 2, False
    if kind == "c" and i + 2 < len(pattern):
        return _escaped(ord(pattern[i + 2]) ^ 0x40), i + 3, False
    if kind == "0":
        digits = re.match(r"[0-7]{1,3}", pattern[i + 2 :])
        if digits is None:
            raise UnsupportedPattern("\\0 without octal digits")
        return _escaped(int(digits.group(), 8)), i + 2 + len(digits.group()), False
    if kind and kind in "wWdDsS":
        return pattern[i : i + 2], i + 2, True
    if kind and (kind.isalnum() and kind not in "tnrfx"):
        raise UnsupportedPattern(f"the escape \\{kind}")  # back references, \G, \X, \N{...}, ...
    if not kind:
        raise UnsupportedPattern("a trailing backslash")
    if kind == "x":
        return _escaped(_hex(pattern[i + 2 : i + 4])), i + 4, False
    return pattern[i : i + 2], i + 2, False


def _property(pattern: str, i: int, kind: str, *, in_class: bool) -> tuple[str, int, bool]:
    r"""Java's `\p{Name}`, `\pL`, `\P{Name}`."""
    if pattern[i + 2 : i + 3] == "{":
        end = pattern.find("}", i + 3)
        if end < 0:
            raise UnsupportedPattern("unterminated \\p{...}")
        name, after = pattern[i + 3 : end], end + 1
    else:
        name, after = pattern[i + 2 : i + 3], i + 3
    inside = _property_set(name)
    if in_class:
        if kind == "P":
            raise UnsupportedPattern("\\P{...} inside a character class")
        return inside, after, True
    return f"[{'^' if kind == 'P' else ''}{inside}]", after, True


def _hex(text: str) -> int:
    if not text or any(c not in "0123456789abcdefABCDEF" for c in text) or int(text, 16) > sys.maxunicode:
        raise UnsupportedPattern(f"bad hexadecimal escape {text!r}")
    return int(text, 16)
