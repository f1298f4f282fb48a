"""Why a pattern did or did not match an event: per `$or` branch, the conditions that failed and what the
event held there.

    e = explain(pattern, event)
    e.matched                 # exactly what compile_pattern(pattern).matches(event) says
    print(e.text())           # for people
    e.as_dict()               # JSON form

Each branch's verdict is the matcher's own (a `Matcher` holding one rule per branch), so an explanation
never disagrees with matching. The reasons come from the event's leaf values (`reference.flatten`) tested
with each field's compiled tests, as the reference interpreter tests them: a field fails when the event has
no value at its path (and the condition is not `exists: false`), or when no value there passes the
condition. A branch whose fields all pass on their own can still fail: its fields inside arrays must match
within one element of each array they share; the explanation then names those fields.

Conditions are shown as written in the pattern (compact JSON), found by expanding `$or` as the compiler does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

from trailbridge.patterns.compiler import OR, compile_branches
from trailbridge.patterns.event import parse_event
from trailbridge.patterns.jsontext import Lexer, Tok
from trailbridge.patterns.matcher import EventInput, Matcher, PatternInput, pattern_text
from trailbridge.patterns.reference import flatten
from trailbridge.patterns.values import Leaf

__all__ = ["BranchResult", "Explanation", "Failure", "explain"]

SHOWN_VALUES = 10  # values of one field shown in `text()`; `as_dict()` has them all
SHOWN_PATHS = 5  # paths listed as being below or elsewhere


@dataclass(frozen=True, slots=True)
class Failure:
    """One field condition a branch needs and the event does not satisfy."""

    path: str  # dotted, as the pattern nests it
    condition: str  # the field's array as written in the pattern (compact JSON)
    values: tuple[Leaf, ...]  # the event's values there; empty when it has none
    below: tuple[str, ...] = ()  # when it has none: paths of the event inside an object or array there
    elsewhere: tuple[str, ...] = ()  # when it has none: paths of the event that end with the same key

    def text(self) -> str:
        if self.values:
            shown = ", ".join(_json(v) for v in self.values[:SHOWN_VALUES])
            more = len(self.values) - SHOWN_VALUES
            held = f"the event has {shown}" + (f" (and {more} more)" if more > 0 else "")
        else:
            held = "the event has no value there"
            if self.below:
                held += f"; it has an object there, with {_paths(self.below)}"
            if self.elsewhere:
                held += f"; {_paths(self.elsewhere)} {'has' if len(self.elsewhere) == 1 else 'have'} that key"
        return f"{self.path}: {self.condition}, but {held}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "condition": self.condition,
            "present": bool(self.values),
            "values": list(self.values),
            "below": list(self.below),
            "elsewhere": list(self.elsewhere),
        }


@dataclass(frozen=True, slots=True)
class BranchResult:
    """One branch of the pattern (a pattern without `$or` has one)."""

    number: int  # from 1, in the order the compiler expands `$or`
    matched: bool
    conditions: dict[str, str]  # every field of the branch: path -> condition as written
    failures: tuple[Failure, ...] = ()
    apart: tuple[str, ...] = ()  # fields that each match, but not within one element of the arrays they share

    def lines(self) -> list[str]:
        out = [f.text() for f in self.failures]
        if self.apart:
            out.append(
                f"{', '.join(self.apart)} each match a value, but no element of the event's arrays holds matching "
                "values for all of them together (fields of one pattern object match within one array element)"
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "branch": self.number,
            "matched": self.matched,
            "conditions": dict(self.conditions),
            "failures": [f.as_dict() for f in self.failures],
            "apart": list(self.apart),
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    pattern: str
    matched: bool
    branches: tuple[BranchResult, ...]

    def text(self) -> str:
        count = len(self.branches)
        if count == 1:
            branch = self.branches[0]
            if branch.matched:
                return "The pattern matches the event."
            return "\n".join(["The pattern does not match the event:", *(f"  {line}" for line in branch.lines())])
        matched = [b.number for b in self.branches if b.matched]
        if matched:
            which = ", ".join(str(n) for n in matched)
            verb = "matches" if len(matched) == 1 else "match"
            out = [f"The pattern matches the event: $or branch {which} of {count} {verb}."]
        else:
            out = [f"The pattern does not match the event: none of its {count} $or branches matches."]
        for branch in self.branches:
            fields = ", ".join(branch.conditions)
            verdict = "matches" if branch.matched else "does not match"
            out.append(f"Branch {branch.number} of {count} ({fields}) {verdict}" + ("." if branch.matched else ":"))
            out.extend(f"  {line}" for line in branch.lines())
        return "\n".join(out)

    def as_dict(self) -> dict[str, Any]:
        return {"pattern": self.pattern, "matched": self.matched, "branches": [b.as_dict() for b in self.branches]}


def explain(pattern: PatternInput, event: EventInput) -> Explanation:
    """The explanation; raises PatternError for an invalid pattern, ValueError for an event that is not a JSON
    object, as matching does."""
    text = pattern_text(pattern)
    branches = compile_branches(text)
    written = _written(text)
    matcher = Matcher()
    for number, branch in enumerate(branches, 1):
        matcher.add_compiled(number, (branch,))
    matched = matcher.matches(event)
    flat = flatten(parse_event(event))
    flat.reverse()  # `flatten` walks a stack: reversed, the values of one path are in document order
    results = []
    for number, branch in enumerate(branches, 1):
        conditions = {f.path: written[number - 1][f.path] for f in branch}
        if number in matched:
            results.append(BranchResult(number, True, conditions))
            continue
        failures: list[Failure] = []
        in_arrays: list[str] = []
        for field in branch:
            present = [(value, members) for path, value, members in flat if path == field.path]
            if not present and field.absent_ok:
                continue
            if any(t.fn(value) for value, _ in present for t in field.tests):
                if any(members for _, members in present):
                    in_arrays.append(field.path)
                continue
            values = tuple(value for value, _ in present)
            below, elsewhere = ((), ()) if values else _nearby(field.path, flat)
            failures.append(Failure(field.path, conditions[field.path], values, below, elsewhere))
        results.append(BranchResult(number, False, conditions, tuple(failures), () if failures else tuple(in_arrays)))
    return Explanation(text, bool(matched), tuple(results))


def _nearby(path: str, flat: list[tuple[str, Leaf, Any]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Paths of the event below `path`, and paths elsewhere that end with its last key."""
    key = path.rsplit(".", 1)[-1]
    below: dict[str, None] = {}
    elsewhere: dict[str, None] = {}
    for other, _, _ in flat:
        if other.startswith(path + "."):
            below[other] = None
        elif other == key or other.endswith("." + key):
            elsewhere[other] = None
    return tuple(below), tuple(elsewhere)


def _paths(paths: tuple[str, ...]) -> str:
    shown = ", ".join(paths[:SHOWN_PATHS])
    return shown + (f" and {len(paths) - SHOWN_PATHS} more" if len(paths) > SHOWN_PATHS else "")


def _json(value: Leaf) -> str:
    return orjson.dumps(value).decode()


# -- the conditions as written -------------------------------------------------------------------


def _written(text: str) -> list[dict[str, str]]:
    """Per branch, each field's array as written, expanding `$or` exactly as `compiler._Walker` does (the
    pattern is valid: `compile_branches` has read it)."""
    lexer = Lexer(text)
    lexer.next()  # the root object
    root: list[dict[str, str]] = []
    path: list[str] = []
    # ("object", maps, pushed, or-array-or-None) | ("or", maps, base)
    stack: list[tuple[Any, ...]] = [("object", root, False, None)]
    while stack:
        frame = stack[-1]
        token = lexer.next()
        if frame[0] == "or":
            _, maps, base = frame
            if token.kind is Tok.END_ARRAY:
                stack.pop()
            else:
                stack.append(("object", [dict(m) for m in base] or [{}], False, maps))
            continue
        _, maps, pushed, parent = frame
        if token.kind is Tok.END_OBJECT:
            stack.pop()
            if pushed:
                path.pop()
            if parent is not None:
                parent.extend(maps)
            continue
        name = token.text
        if name == OR:
            base = [dict(m) for m in maps]
            maps.clear()
            lexer.next()  # [
            stack.append(("or", maps, base))
            continue
        if lexer.next().kind is Tok.START_OBJECT:
            path.append(name)
            stack.append(("object", maps, True, None))
            continue
        if not maps:
            maps.append({})
        condition = _array_text(lexer)
        for m in maps:
            m[".".join([*path, name])] = condition
    return root


def _array_text(lexer: Lexer) -> str:
    """The rest of an array whose `[` was read, as compact JSON (numbers as written)."""
    out = ["["]
    first = [True]  # per open container: nothing written in it yet
    after_name = False
    while first:
        token = lexer.next()
        kind = token.kind
        if kind in (Tok.END_ARRAY, Tok.END_OBJECT):
            first.pop()
            out.append("]" if kind is Tok.END_ARRAY else "}")
            continue
        if not first[-1] and not after_name:
            out.append(", ")
        first[-1], after_name = False, False
        if kind in (Tok.START_ARRAY, Tok.START_OBJECT):
            out.append("[" if kind is Tok.START_ARRAY else "{")
            first.append(True)
        elif kind is Tok.FIELD_NAME:
            out.append(_string(token.text) + ": ")
            after_name = True
        elif kind is Tok.STRING:
            out.append(_string(token.text))
        else:
            out.append(token.text)
    return "".join(out)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
