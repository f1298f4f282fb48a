"""A streaming JSON lexer for event patterns that fails the way EventBridge fails.

EventBridge parses patterns with Jackson's streaming parser and validates them while it reads, so a
pattern's error is the *first* problem met in document order, and syntax errors carry Jackson's
wording ("Unrecognized token 'this': was expecting ..."). Python's `json` module reports neither.
This lexer yields one token at a time, so the compiler can interleave its checks with reading
exactly as event-ruler does, and it words syntax errors as Jackson does. It never recurses, and it
caps nesting at Jackson's default of 1,000 levels.

Only the first line of Jackson's messages is reproduced; the ` at [Source: ...]` location suffix
that AWS appends on a second line is not part of `PatternError.reason`.
"""

from __future__ import annotations

from enum import Enum, auto
from typing import NamedTuple

from trailbridge.patterns.errors import PatternError

MAX_NESTING_DEPTH = 1000
VALUE_LIST = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
_WHITESPACE = " \t\r\n"
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_HEX = "0123456789abcdefABCDEF"


class Tok(Enum):
    START_OBJECT = auto()
    END_OBJECT = auto()
    START_ARRAY = auto()
    END_ARRAY = auto()
    FIELD_NAME = auto()
    STRING = auto()
    NUMBER = auto()
    TRUE = auto()
    FALSE = auto()
    NULL = auto()
    EOF = auto()


class Token(NamedTuple):
    kind: Tok
    text: str  # field name, string value, or the number's literal text ("true", "null", ...)


_SCALAR_WORDS = {"true": Tok.TRUE, "false": Tok.FALSE, "null": Tok.NULL}


def char_desc(ch: str) -> str:
    """Jackson's description of a character in an error message."""
    code = ord(ch)
    if code < 32:
        return f"(CTRL-CHAR, code {code})"
    if code > 255:
        return f"'{ch}' (code {code} / 0x{code:x})"
    return f"'{ch}' (code {code})"


class _Frame(NamedTuple):
    is_object: bool
    start: int  # offset of the opening bracket, for end-of-input messages


class Lexer:
    """Pulls tokens from pattern text; `next()` raises PatternError with Jackson's wording."""

    def __init__(self, text: str) -> None:
        self._s = text
        self._i = 0
        self._stack: list[_Frame] = []
        self._expect_name = False  # inside an object, before a field name
        self._after_value = False  # a value was just completed in the current container
        self._done = False  # the root value is complete

    # -- public -------------------------------------------------------------------------------

    def next(self) -> Token:
        ch = self._skip_ws()
        if self._done or (not self._stack and self._after_value):
            self._done = True
            return Token(Tok.EOF, "")
        if not self._stack:
            if ch == "":
                return Token(Tok.EOF, "")
            return self._value(ch)
        frame = self._stack[-1]
        if ch == "":
            kind = "OBJECT" if frame.is_object else "ARRAY"
            raise self._error(
                f"Unexpected end-of-input: expected close marker for {kind} "
                f"(start marker at {self._location(frame.start)})"
            )
        if frame.is_object:
            return self._in_object(ch)
        return self._in_array(ch)

    # -- containers ---------------------------------------------------------------------------

    def _in_object(self, ch: str) -> Token:
        if self._after_value:
            if ch == "}":
                return self._close()
            if ch != ",":
                raise self._unexpected(ch, "was expecting comma to separate Object entries")
            self._i += 1
            ch = self._skip_ws()
            self._after_value = False
            return self._field_name(ch, after_comma=True)
        if self._expect_name:
            return self._field_name(ch, after_comma=False)
        # after a field name: a colon, then the value
        if ch != ":":
            raise self._unexpected(ch, "was expecting a colon to separate field name and value")
        self._i += 1
        return self._value(self._skip_ws())

    def _field_name(self, ch: str, *, after_comma: bool) -> Token:
        if ch == "}" and not after_comma:
            return self._close()
        if ch == "":
            raise self._error(
                "Unexpected end-of-input: expected close marker for OBJECT "
                f"(start marker at {self._location(self._stack[-1].start)})"
            )
        if ch != '"':
            raise self._unexpected(ch, "was expecting double-quote to start field name")
        name = self._string()
        self._expect_name = False
        return Token(Tok.FIELD_NAME, name)

    def _in_array(self, ch: str) -> Token:
        if self._after_value:
            if ch == "]":
                return self._close()
            if ch != ",":
                raise self._unexpected(ch, "was expecting comma to separate Array entries")
            self._i += 1
            ch = self._skip_ws()
            self._after_value = False
            if ch == "]":
                raise self._unexpected(ch, "expected a value")
            return self._value(ch)
        if ch == "]":
            return self._close()
        return self._value(ch)

    def _close(self) -> Token:
        frame = self._stack.pop()
        self._i += 1
        self._after_value = True
        self._expect_name = False
        return Token(Tok.END_OBJECT if frame.is_object else Tok.END_ARRAY, "")

    def _open(self, is_object: bool) -> Token:
        if len(self._stack) >= MAX_NESTING_DEPTH:
            raise self._error(
                f"Document nesting depth ({len(self._stack) + 1}) exceeds the maximum allowed "
                f"({MAX_NESTING_DEPTH}, from `StreamReadConstraints.getMaxNestingDepth()`)"
            )
        self._stack.append(_Frame(is_object, self._i))
        self._i += 1
        self._after_value = False
        self._expect_name = is_object
        return Token(Tok.START_OBJECT if is_object else Tok.START_ARRAY, "")

    # -- values -------------------------------------------------------------------------------

    def _value(self, ch: str) -> Token:
        if ch == "{":
            return self._open(True)
        if ch == "[":
            return self._open(False)
        if ch == "":
            if self._stack:
                kind = "OBJECT" if self._stack[-1].is_object else "ARRAY"
                raise self._error(
                    f"Unexpected end-of-input: expected close marker for {kind} "
                    f"(start marker at {self._location(self._stack[-1].start)})"
                )
            return Token(Tok.EOF, "")
        self._after_value = True
        if ch == '"':
            return Token(Tok.STRING, self._string())
        if ch == "-" or "0" <= ch <= "9":
            return Token(Tok.NUMBER, self._number())
        if ch.isalpha():
            word = self._word()
            if word in _SCALAR_WORDS:
                return Token(_SCALAR_WORDS[word], word)
            raise self._error(f"Unrecognized token '{word}': was expecting {VALUE_LIST}")
        if ch in "]}":
            raise self._unexpected(ch, "expected a value")
        raise self._unexpected(ch, f"expected a valid value {VALUE_LIST}")

    def _word(self) -> str:
        start = self._i
        s = self._s
        while self._i < len(s) and (s[self._i].isalnum() or s[self._i] in "_$") and self._i - start < 256:
            self._i += 1
        return s[start : self._i]

    def _string(self) -> str:
        s = self._s
        self._i += 1  # opening quote
        parts: list[str] = []
        start = self._i
        while True:
            j = self._i
            while j < len(s) and s[j] != '"' and s[j] != "\\" and s[j] >= " ":
                j += 1
            parts.append(s[start:j])
            self._i = j
            if j >= len(s):
                raise self._error("Unexpected end-of-input: was expecting closing quote for a string value")
            ch = s[j]
            if ch == '"':
                self._i = j + 1
                return "".join(parts)
            if ch < " ":
                raise self._error(
                    f"Illegal unquoted character ({char_desc(ch)}): "
                    "has to be escaped using backslash to be included in string value"
                )
            parts.append(self._escape())
            start = self._i

    def _escape(self) -> str:
        s = self._s
        self._i += 1  # the backslash
        if self._i >= len(s):
            raise self._error("Unexpected end-of-input in character escape sequence")
        ch = s[self._i]
        self._i += 1
        if ch in _ESCAPES:
            return _ESCAPES[ch]
        if ch != "u":
            raise self._error(f"Unrecognized character escape {char_desc(ch)}")
        digits = s[self._i : self._i + 4]
        for d in digits:
            if d not in _HEX:
                raise self._unexpected(d, "expected a hex-digit for character escape sequence")
        if len(digits) < 4:
            raise self._error("Unexpected end-of-input in character escape sequence")
        self._i += 4
        code = int(digits, 16)
        low = s[self._i + 2 : self._i + 6]
        paired = 0xD800 <= code < 0xDC00 and s[self._i : self._i + 2] == "\\u" and len(low) == 4
        if paired and all(d in _HEX for d in low) and 0xDC00 <= int(low, 16) < 0xE000:
            self._i += 6
            return chr(0x10000 + ((code - 0xD800) << 10) + (int(low, 16) - 0xDC00))
        return chr(code)

    def _number(self) -> str:
        s = self._s
        start = self._i
        i = start
        if s[i] == "-":
            i += 1
            if i >= len(s) or not s[i].isdigit():
                bad = s[i : i + 1]
                raise self._in_number(bad, "expected digit (0-9) to follow minus sign, for valid numeric value")
        if s[i] == "0" and i + 1 < len(s) and s[i + 1].isdigit():
            raise self._error("Invalid numeric value: Leading zeroes not allowed")
        while i < len(s) and s[i].isdigit():
            i += 1
        if i < len(s) and s[i] == ".":
            i += 1
            if i >= len(s) or not s[i].isdigit():
                raise self._in_number(s[i : i + 1], "Decimal point not followed by a digit")
            while i < len(s) and s[i].isdigit():
                i += 1
        if i < len(s) and s[i] in "eE":
            i += 1
            if i < len(s) and s[i] in "+-":
                i += 1
            if i >= len(s) or not s[i].isdigit():
                raise self._in_number(s[i : i + 1], "Exponent indicator not followed by a digit")
            while i < len(s) and s[i].isdigit():
                i += 1
        self._i = i
        return s[start:i]

    # -- errors -------------------------------------------------------------------------------

    def _in_number(self, ch: str, what: str) -> PatternError:
        if ch == "":
            return self._error("Unexpected end-of-input in a Number value")
        return self._error(f"Unexpected character ({char_desc(ch)}) in numeric value: {what}")

    def _unexpected(self, ch: str, what: str) -> PatternError:
        return self._error(f"Unexpected character ({char_desc(ch)}): {what}")

    def _error(self, reason: str) -> PatternError:
        return PatternError(reason)

    def _location(self, offset: int) -> str:
        line = self._s.count("\n", 0, offset) + 1
        column = offset - (self._s.rfind("\n", 0, offset) + 1) + 1
        return f'[Source: (String)"{self._s[:500]}"; line: {line}, column: {column}]'

    def _skip_ws(self) -> str:
        s = self._s
        i = self._i
        while i < len(s) and s[i] in _WHITESPACE:
            i += 1
        self._i = i
        return s[i] if i < len(s) else ""
