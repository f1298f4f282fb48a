"""Lint hints for event patterns: said beside EventBridge's own error (never instead of it), and about valid
patterns that cannot match what their authors meant.

    for hint in hints(pattern, records):
        print(hint.text())

Each hint says what is wrong in words and, where one fix is clear, gives the whole pattern corrected:

- an array of objects where a field's values belong (`"items": [{"instanceType": ["t2.micro"]}]`, which
  EventBridge refuses with `Unrecognized match type instanceType`): array elements are matched by writing
  the object without brackets;
- a bare value where an array belongs (`"source": "aws.ec2"`);
- a misspelled operator (`prefixes`, `equal-ignore-case`, `anything_but`, `starts-with`);
- a number or boolean written as a string where the operator wants a number or boolean (`"numeric": [">",
  "100"]`, `"exists": "true"`);
- an envelope field spelled another way (`detailType`), or a CloudTrail record's field written at the top of
  the pattern (`eventName`) when CloudTrail's events carry it inside `detail`.

Given recorded CloudTrail records (of the pattern's `eventName`, when it names some), a further hint says
where a field of the pattern's `detail` actually occurs in them when it never occurs where the pattern looks:
recorded `RunInstances` calls carry `instanceType` directly under `requestParameters`.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from trailbridge.patterns.compiler import OR
from trailbridge.patterns.matcher import PatternInput, pattern_text
from trailbridge.patterns.reference import flatten

__all__ = ["Hint", "event_names", "hints"]

OPERATORS = (
    "exactly",
    "prefix",
    "suffix",
    "numeric",
    "anything-but",
    "exists",
    "cidr",
    "equals-ignore-case",
    "wildcard",
)
_INNER = {
    "anything-but": ("equals-ignore-case", "prefix", "suffix", "wildcard"),
    "prefix": ("equals-ignore-case",),
    "suffix": ("equals-ignore-case",),
}
# Operators of other languages, by what EventBridge calls them (their spelling without "-" or "_", lower case).
_ALIASES = {
    "beginswith": "prefix",
    "startswith": "prefix",
    "endswith": "suffix",
    "not": "anything-but",
    "equals": "exactly",
    "ignorecase": "equals-ignore-case",
    "ip": "cidr",
    "like": "wildcard",
}
ENVELOPE = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")
# A CloudTrail record's own fields: in the events CloudTrail delivers to EventBridge they are inside `detail`.
RECORD_FIELDS = frozenset(
    [
        "eventVersion",
        "userIdentity",
        "eventTime",
        "eventSource",
        "eventName",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "errorCode",
        "errorMessage",
        "requestParameters",
        "responseElements",
        "additionalEventData",
        "requestID",
        "eventID",
        "readOnly",
        "resources",
        "eventType",
        "managementEvent",
        "recipientAccountId",
        "eventCategory",
        "sessionCredentialFromConsole",
        "tlsDetails",
    ]
)
Loc = tuple[str | int, ...]  # keys and indexes from the pattern's root to a node


@dataclass(frozen=True, slots=True)
class Hint:
    message: str
    path: str  # the dotted path of the field it is about
    corrected: str | None = None  # the whole pattern with this one fix, as JSON

    def text(self) -> str:
        return f"hint: {self.message}" + (f"\n  {self.corrected}" if self.corrected else "")

    def as_dict(self) -> dict[str, Any]:
        return {"message": self.message, "path": self.path, "corrected": self.corrected}


@dataclass(frozen=True, slots=True)
class _Fix:
    loc: Loc  # the node it replaces
    apply: Callable[[Any], Any]  # the node's new value, from its value


def hints(pattern: PatternInput, records: Iterable[Mapping[str, Any]] | None = None) -> list[Hint]:
    """Hints for a pattern, valid or not; `records` are recorded CloudTrail records (or CloudTrail events, their
    `detail` taken) for the hint on where a field of `detail` occurs. A pattern that is not JSON has none."""
    try:
        doc = json.loads(pattern_text(pattern))
    except ValueError:
        return []
    if not isinstance(doc, dict):
        return []
    found: list[tuple[Hint, _Fix | None]] = []
    cloudtrail = _about_aws(doc)
    work: list[tuple[Loc, tuple[str, ...], dict[str, Any]]] = [((), (), doc)]
    while work:
        loc, path, obj = work.pop()
        for key, value in obj.items():
            if key == OR and isinstance(value, list):
                work.extend(((*loc, key, i), path, v) for i, v in enumerate(value) if isinstance(v, dict))
                continue
            if not loc:
                found.extend(_top_level(key, cloudtrail))
            dotted = ".".join((*path, key))
            if isinstance(value, dict):
                work.append(((*loc, key), (*path, key), value))
            elif isinstance(value, list):
                found.extend(_in_values((*loc, key), dotted, value))
            else:
                fix = _Fix((*loc, key), lambda v: [v])
                hint = Hint(f"match values are listed in an array: write {_show(key, [value])}", dotted)
                found.append((hint, fix))
    out = [_corrected(hint, doc, fix) for hint, fix in found]
    if records is not None:
        repaired = _applied(doc, [fix for _, fix in found if fix is not None])
        out.extend(_recorded(repaired, list(records)))
    return out


def _corrected(hint: Hint, doc: dict[str, Any], fix: _Fix | None) -> Hint:
    if fix is None:
        return hint
    return Hint(hint.message, hint.path, json.dumps(_applied(doc, [fix]), ensure_ascii=False))


def _applied(doc: dict[str, Any], fixes: list[_Fix]) -> Any:
    """A copy of the pattern with the fixes made, the deepest first (so that the locations of the others hold)."""
    root: Any = json.loads(json.dumps(doc))
    for fix in sorted(fixes, key=lambda f: -len(f.loc)):
        if not fix.loc:
            root = fix.apply(root)
            continue
        parent = root
        for step in fix.loc[:-1]:
            parent = parent[step]
        parent[fix.loc[-1]] = fix.apply(parent[fix.loc[-1]])
    return root


def _show(key: str, value: Any) -> str:
    return f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}"


def _squashed(name: str) -> str:
    return name.replace("-", "").replace("_", "").replace(" ", "").lower()


def _renamed(old: str, new: str) -> Callable[[Any], Any]:
    return lambda obj: {new if k == old else k: v for k, v in obj.items()}


def _about_aws(doc: dict[str, Any]) -> bool:
    """Whether the pattern asks for events of an AWS service (a `source` of `aws.`, a `detail-type` of CloudTrail)."""
    for key, mark in (("source", "aws."), ("detail-type", "via CloudTrail")):
        values = doc.get(key)
        values = [values] if isinstance(values, str) else values  # a bare value, which another hint is about
        if isinstance(values, list) and any(isinstance(v, str) and mark in v for v in values):
            return True
    return False


def _top_level(key: str, cloudtrail: bool) -> list[tuple[Hint, _Fix | None]]:
    """An envelope field spelled another way, or (in a pattern for AWS's events) a CloudTrail record's field
    outside `detail`."""
    for name in ENVELOPE:
        if key != name and _squashed(key) == _squashed(name):
            message = f"the event's field is {json.dumps(name)}, not {json.dumps(key)}: this pattern never matches"
            return [(Hint(message, key), _Fix((), _renamed(key, name)))]
    if cloudtrail and key in RECORD_FIELDS and key not in ENVELOPE:
        message = (
            f"in the events CloudTrail delivers to EventBridge, {key} is inside detail: "
            f'write {{"detail": {{{json.dumps(key)}: ...}}}}'
        )
        return [(Hint(message, key), _Fix((), lambda root: _moved_into_detail(root, key)))]
    return []


def _moved_into_detail(root: dict[str, Any], key: str) -> dict[str, Any]:
    out = {k: v for k, v in root.items() if k != key}
    detail = out.get("detail")
    if not isinstance(detail, dict):
        detail = {}
    out["detail"] = {**detail, key: root[key]}
    return out


def _in_values(loc: Loc, path: str, values: list[Any]) -> list[tuple[Hint, _Fix | None]]:
    """Hints for one field's array of values."""
    out: list[tuple[Hint, _Fix | None]] = []
    for index, element in enumerate(values):
        if not isinstance(element, dict) or not element:
            continue
        name = next(iter(element))
        operand = element[name]
        at: Loc = (*loc, index)
        if name in OPERATORS:
            out.extend(_operand(at, path, name, operand))
            continue
        spelled = _operator_like(name, OPERATORS)
        if spelled is not None:
            message = f"{json.dumps(name)} is not an operator; did you mean {json.dumps(spelled)}?"
            out.append((Hint(message, path), _Fix(at, _renamed(name, spelled))))
        elif isinstance(operand, dict | list) and all(isinstance(v, dict) for v in values):
            return [_brackets(loc, path, values)]
        else:
            message = f"{json.dumps(name)} is not an operator; the operators are {', '.join(OPERATORS)}"
            out.append((Hint(message, path), None))
    return out


def _brackets(loc: Loc, path: str, values: list[dict[str, Any]]) -> tuple[Hint, _Fix | None]:
    """`"items": [{"instanceType": [...]}]`: an array's elements are matched as if their fields were the array's."""
    key = path.rsplit(".", 1)[-1]
    message = (
        f"array elements are matched by writing the object without brackets: the pattern names the fields of "
        f"the elements of {key} as if they were fields of {key} itself, and matches when one element has them"
    )
    if len(values) == 1:
        message += f": write {_show(key, values[0])}"
        return Hint(message, path), _Fix(loc, lambda v: v[0])
    return Hint(message + "; to match any of several objects, use $or", path), None


def _operator_like(name: str, names: tuple[str, ...]) -> str | None:
    squashed = _squashed(name)
    for known in names:
        if _squashed(known) == squashed:
            return known
    alias = _ALIASES.get(squashed)
    if alias in names:
        return alias
    close = difflib.get_close_matches(squashed, [_squashed(n) for n in names], n=1, cutoff=0.75)
    return next((n for n in names if close and _squashed(n) == close[0]), None)


def _operand(loc: Loc, path: str, name: str, operand: Any) -> list[tuple[Hint, _Fix | None]]:
    """Hints for a known operator's operand."""
    out: list[tuple[Hint, _Fix | None]] = []
    if name == "numeric" and isinstance(operand, list):
        for index in range(1, len(operand), 2):  # [op, value, op, value]
            number = _number(operand[index])
            if number is not None:
                message = f"numeric compares numbers: write {operand[index]} without quotes"
                out.append((Hint(message, path), _Fix((*loc, name, index), _number)))
    elif name == "exists" and operand in ("true", "false"):
        message = f"exists takes true or false: write {operand} without quotes"
        out.append((Hint(message, path), _Fix((*loc, name), lambda v: v == "true")))
    elif name in _INNER and isinstance(operand, dict) and operand:
        inner = next(iter(operand))
        spelled = _operator_like(inner, _INNER[name]) if inner not in _INNER[name] else None
        if spelled is not None:
            message = f"{json.dumps(inner)} is not one of {name}'s forms; did you mean {json.dumps(spelled)}?"
            out.append((Hint(message, path), _Fix((*loc, name), _renamed(inner, spelled))))
    return out


def _number(value: Any) -> int | float | None:
    if not isinstance(value, str):
        return None
    try:
        number = json.loads(value)
    except ValueError:
        return None
    return number if isinstance(number, int | float) and not isinstance(number, bool) else None


# -- where recorded calls carry a field ------------------------------------------------------------


def _fields(doc: Any) -> list[tuple[Loc | None, str]]:
    """The fields of a pattern: where their array is (None under `$or`, where no move is offered), their path."""
    out: list[tuple[Loc | None, str]] = []
    work: list[tuple[Loc, tuple[str, ...], bool, Any]] = [((), (), False, doc)]
    while work:
        loc, path, under_or, obj = work.pop()
        for key, value in obj.items():
            if key == OR and isinstance(value, list):
                work.extend(((*loc, key, i), path, True, v) for i, v in enumerate(value) if isinstance(v, dict))
            elif isinstance(value, dict):
                work.append(((*loc, key), (*path, key), under_or, value))
            elif isinstance(value, list):
                out.append((None if under_or else (*loc, key), ".".join((*path, key))))
    return out


def event_names(doc: Mapping[str, Any]) -> list[str]:
    """The `eventName` values a parsed pattern asks for exactly (in `detail`, outside `$or`)."""
    detail = doc.get("detail")
    names = detail.get("eventName") if isinstance(detail, Mapping) else None
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def _recorded(doc: Any, records: list[Mapping[str, Any]]) -> list[Hint]:
    """For each field of `detail` that no record has, the paths of the records that end with its key."""
    wanted = set(event_names(doc))
    details = [r["detail"] if "detail-type" in r and isinstance(r.get("detail"), dict) else r for r in records]
    leaves = [{path for path, _, _ in flatten(dict(r))} for r in details if not wanted or r.get("eventName") in wanted]
    if not leaves:
        return []
    calls = f"{' and '.join(sorted(wanted))} calls" if wanted else "calls"
    out = []
    for loc, path in _fields(doc):
        inner = path.removeprefix("detail.")
        if inner == path or any(inner in paths for paths in leaves):
            continue
        key = inner.rsplit(".", 1)[-1]
        counts = Counter(p for paths in leaves for p in paths if p == key or p.endswith("." + key))
        if not counts:
            continue
        ranked = sorted(counts, key=lambda p: (-_shared(p, inner), -counts[p], p))
        best = ranked[0]
        message = (
            f"recorded {calls} ({len(leaves)}) have no {path}; they carry {key} at detail.{best} "
            f"({counts[best]} of {len(leaves)})"
        )
        if len(ranked) > 1:
            message += ", also at " + ", ".join(f"detail.{p}" for p in ranked[1:4])
        corrected = _moved(doc, loc, ("detail", *best.split("."))) if loc is not None else None
        out.append(Hint(message, path, None if corrected is None else json.dumps(corrected, ensure_ascii=False)))
    return out


def _shared(path: str, other: str) -> int:
    """How many leading keys two dotted paths share."""
    count = 0
    for a, b in zip(path.split("."), other.split("."), strict=False):
        if a != b:
            break
        count += 1
    return count


def _moved(doc: Any, loc: Loc, to: tuple[str, ...]) -> Any:
    """The pattern with the field at `loc` moved to the path `to`, emptied objects dropped; None when something
    other than an object is in the way."""
    root = json.loads(json.dumps(doc))
    parents = [root]
    for step in loc[:-1]:
        parents.append(parents[-1][step])
    values = parents[-1].pop(loc[-1])
    for depth in range(len(parents) - 1, 0, -1):
        if parents[depth]:
            break
        del parents[depth - 1][loc[depth - 1]]
    node = root
    for key in to[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            return None
    if to[-1] in node:
        return None
    node[to[-1]] = values
    return root
