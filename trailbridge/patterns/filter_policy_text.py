"""Reading a filter policy as SNS reads it, and saying where it is wrong as AWS says it.

SNS parses the policy into a JSON tree (Jackson), writes the tree back out compactly, and validates
that text with aws/event-ruler. Three things follow, and this module reproduces them:

- a syntax error is Jackson's, located in the policy as sent but with its source redacted:
  ``failed to parse JSON. <reason>\\n at [Source: REDACTED (...); line: L, column: C]``;
- a key given twice keeps its last value (in the first one's place) before validation sees it;
- event-ruler's errors are located in the compact text, whose source AWS does show:
  ``<reason>\\n at [Source: (String)"{"key":[...]}"; line: 1, column: C]``, twice over for an error
  inside an `anything-but` list. Errors that event-ruler raises outside the parser (CIDR, complexity)
  and SNS's own limits carry no location.

The engine reports a reason without a place, so the place is found by asking the engine again about
shorter prefixes of the text: validation streams, so the shortest prefix that still fails with the
same reason ends where the failing token ends. The column is then where Jackson's reader stands at
that moment: after a field name it has already read the start of the value (a whole number or
literal, the opening quote of a string, a bracket), and it reads a string value's text only when
event-ruler asks for it, which it does when the message quotes the value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trailbridge.patterns import wildcard
from trailbridge.patterns.compiler import compile_branches
from trailbridge.patterns.errors import PatternError
from trailbridge.patterns.jsontext import Lexer, Tok, Token

REDACTED = "REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled)"
SOURCE_CHARS = 500  # Jackson quotes at most this much of the source
UNLOCATED = (
    "Malformed CIDR",
    "Nonstandard IP address",
    "Invalid IP address",
    "IPv4 mask bits",
    "IPv6 mask bits",
    "Too many $or combinations",
    wildcard.TOO_COMPLEX,
)
_READ_WITHOUT_QUOTING = (
    "Null prefix/suffix not allowed",
    "Consecutive wildcard characters",
    "Invalid escape character",
)
_SCALAR = frozenset("0123456789+-.eEtrufalsn")
_ANYTHING_BUT = "anything-but"
FirstError = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class Number:
    """A number as written: the tree keeps its text, which the engine then reads as it reads any pattern."""

    text: str


@dataclass(frozen=True, slots=True)
class _Raw:
    text: str


def read(text: str) -> Any:
    """The policy's JSON tree (later duplicate keys win); PatternError with Jackson's words on bad syntax."""
    lexer = Lexer(text)
    open_: list[dict[str, Any] | list[Any]] = []
    names: list[str] = []
    root: list[Any] = []
    while (token := lexer.next()).kind is not Tok.EOF:
        if token.kind is Tok.FIELD_NAME:
            names[-1] = token.text
        elif token.kind in (Tok.END_OBJECT, Tok.END_ARRAY):
            open_.pop()
            names.pop()
        else:
            value = _value(token)
            _attach(open_[-1] if open_ else root, names[-1] if names else "", value)
            if isinstance(value, dict | list):
                open_.append(value)
                names.append("")
    return root[0]


def _value(token: Token) -> Any:
    scalars = {Tok.TRUE: True, Tok.FALSE: False, Tok.NULL: None}
    if token.kind is Tok.START_OBJECT:
        return {}
    if token.kind is Tok.START_ARRAY:
        return []
    if token.kind is Tok.NUMBER:
        return Number(token.text)
    return scalars.get(token.kind, token.text)


def _attach(container: dict[str, Any] | list[Any], name: str, value: Any) -> None:
    if isinstance(container, dict):
        container[name] = value
    else:
        container.append(value)


def compact(tree: Any) -> str:
    """The tree written as Jackson writes it: no whitespace, non-ASCII characters as they are."""
    out: list[str] = []
    work: list[Any] = [tree]
    while work:
        item = work.pop()
        if isinstance(item, _Raw | Number):
            out.append(item.text)
        elif isinstance(item, dict):
            parts = [p for i, (k, v) in enumerate(item.items()) for p in (_Raw("," * bool(i) + _string(k) + ":"), v)]
            work.extend(reversed([_Raw("{"), *parts, _Raw("}")]))
        elif isinstance(item, list):
            parts = [p for i, v in enumerate(item) for p in (_Raw("," * bool(i)), v)]
            work.extend(reversed([_Raw("["), *parts, _Raw("]")]))
        else:
            out.append(_string(item) if isinstance(item, str) else json.dumps(item))
    return "".join(out)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def engine_error(text: str) -> str | None:
    """The engine's reason for refusing the pattern text, or None when it accepts it."""
    try:
        compile_branches(text)
    except PatternError as err:
        return err.reason
    return None


def error_end(text: str, reason: str, first_error: FirstError) -> int:
    """Where the token that `first_error` fails on ends: the shortest prefix failing the same way.

    A number cut short is still a number, so a prefix can fail the same way inside one: the end is
    then moved on to the number's (or literal's) last character.
    """
    low, high = 1, len(text)
    while low < high:
        middle = (low + high) // 2
        if first_error(text[:middle]) == reason:
            high = middle
        else:
            low = middle + 1
    while 0 < high < len(text) and text[high - 1] in _SCALAR and text[high] in _SCALAR:
        high += 1
    return high


def syntax_message(text: str, reason: str) -> str:
    """Jackson's syntax error as SNS reports it, located in the policy as sent."""
    end = error_end(text, reason, _syntax_error)
    offset = end - 1 if reason.startswith("Unexpected character") else end
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"failed to parse JSON. {reason}\n at [Source: {REDACTED}; line: {line}, column: {column}]"


def _syntax_error(text: str) -> str | None:
    try:
        read(text)
    except PatternError as err:
        return err.reason
    except IndexError:  # a prefix without a complete value
        return None
    return None


def validation_message(text: str, reason: str, first_error: FirstError) -> str:
    """event-ruler's reason with the location suffix AWS appends, for an error in the compact text."""
    if reason.startswith(UNLOCATED):
        return reason
    end = error_end(text, reason, first_error)
    source = (
        text[:SOURCE_CHARS]
        + '"'
        + (f"[truncated {len(text) - SOURCE_CHARS} chars]" if len(text) > SOURCE_CHARS else "")
    )
    suffix = f'\n at [Source: (String)"{source}; line: 1, column: {_column(text, end, reason)}]'
    return reason + suffix * (2 if _in_anything_but_list(text[:end]) else 1)


def _column(text: str, end: int, reason: str) -> int:
    if text[end - 1] != '"':
        return end + 1
    start = _string_start(text, end)
    after = _skip_space(text, end)
    if after < len(text) and text[after] == ":":  # a field name: Jackson has read on into the value
        return _value_start_end(text, _skip_space(text, after + 1)) + 1
    quoted = reason.startswith(_READ_WITHOUT_QUOTING) or reason.endswith(": " + json.loads(text[start:end]))
    return (end if quoted else start + 1) + 1


def _string_start(text: str, end: int) -> int:
    """The opening quote of the string whose closing quote is at end - 1."""
    i = end - 2
    while True:
        i = text.rindex('"', 0, i + 1)
        backslashes = len(text[:i]) - len(text[:i].rstrip("\\"))
        if backslashes % 2 == 0:
            return i
        i -= 1


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _value_start_end(text: str, i: int) -> int:
    """Where Jackson stops when it reads the start of the value at i along with its field name."""
    if i >= len(text) or text[i] in '{["':
        return i + 1
    while i < len(text) and text[i] not in ",]} \t\r\n":
        i += 1
    return i


def _in_anything_but_list(prefix: str) -> bool:
    """Whether the prefix ends inside an array that is an `anything-but` operand (or one of its variants')."""
    lexer = Lexer(prefix)
    keys: list[tuple[bool, str]] = []  # (is array, the field name it is the value of)
    name = ""
    try:
        while (token := lexer.next()).kind is not Tok.EOF:
            if token.kind is Tok.FIELD_NAME:
                name = token.text
            elif token.kind in (Tok.START_OBJECT, Tok.START_ARRAY):
                keys.append((token.kind is Tok.START_ARRAY, name))
                name = ""
            elif token.kind in (Tok.END_OBJECT, Tok.END_ARRAY):
                keys.pop()
    except PatternError:
        pass
    if not keys or not keys[-1][0]:
        return False
    return keys[-1][1] == _ANYTHING_BUT or (len(keys) > 1 and keys[-2] == (False, _ANYTHING_BUT))
