"""What Amazon SNS refuses in a filter policy beyond what EventBridge refuses in an event pattern.

SNS validates a filter policy with the same library as EventBridge (aws/event-ruler), so the engine's
compiler already gives most of AWS's verdicts word for word. SNS then adds its own rules:

- operators: SNS knows fewer of them. `wildcard` and `exactly` are unknown match types, and inside
  `anything-but` only `prefix` is supported (AWS refused `{"anything-but": {"suffix": ...}}` with
  `Unsupported anything-but pattern: suffix`). This check reads the policy's text, so it can be placed
  in document order among event-ruler's own errors, as AWS reports whichever comes first;
- then, on the parsed policy once event-ruler has accepted it: at most 5 keys (`key_count`), no nested
  objects on the `MessageAttributes` scope (`is_nested`), and at most 150 combinations, counted as AWS
  counts them (`combinations`).

The checks on the parsed policy recurse one frame per level of nesting. The engine caps nesting at
1,000 levels, past Python's recursion limit, so `depth` (iterative) comes first: a leaf at depth d
alone weighs d combinations, so a policy deeper than 150 levels is too complex whatever it holds.
"""

from __future__ import annotations

from typing import Any

from trailbridge.patterns.errors import PatternError
from trailbridge.patterns.jsontext import Lexer, Tok

OR = "$or"
MAX_KEYS = 5
MAX_COMBINATIONS = 150
UNKNOWN_OPERATORS = frozenset(["wildcard", "exactly"])
ANYTHING_BUT_VARIANTS = frozenset(["prefix"])
TOO_MANY_KEYS = f"Filter policy can not have more than {MAX_KEYS} keys"
TOO_COMPLEX = "Filter policy is too complex"
NESTED_ON_ATTRIBUTES = "Filter policy scope MessageAttributes does not support nested filter policy"


def depth(policy: dict[str, Any]) -> int:
    """How deeply the policy's objects nest (a flat policy is 1), counting `$or` alternatives as one level."""
    deepest = 0
    work: list[tuple[dict[str, Any], int]] = [(policy, 1)]
    while work:
        obj, level = work.pop()
        deepest = max(deepest, level)
        for key, value in obj.items():
            if key == OR:
                work.extend((branch, level) for branch in value)
            elif isinstance(value, dict):
                work.append((value, level + 1))
    return deepest


def operator_error(text: str) -> str | None:
    """The first operator SNS does not know, in document order, as AWS words it; None when all are known.

    It reads tokens, so it also answers for a prefix of a policy (the location search asks it about
    prefixes): a prefix that ends before such an operator is complete has none.
    """
    lexer = Lexer(text)
    roles: list[str] = []
    name = ""
    try:
        while (token := lexer.next()).kind is not Tok.EOF:
            if token.kind is Tok.FIELD_NAME:
                name = token.text
                error = _name_error(roles[-1] if roles else "", name)
                if error is not None:
                    return error
            elif token.kind in (Tok.START_OBJECT, Tok.START_ARRAY):
                roles.append(_role(roles[-1] if roles else "", name, token.kind is Tok.START_ARRAY))
            elif token.kind in (Tok.END_OBJECT, Tok.END_ARRAY):
                roles.pop()
    except PatternError:  # the text ends early: a prefix
        return None
    return None


def _role(parent: str, name: str, is_array: bool) -> str:
    """What a container holds, from its parent's role and the field name it is the value of."""
    if is_array:
        if parent == "fields":
            return "alternatives" if name == OR else "values"
        return "other"
    if parent in ("", "fields", "alternatives"):
        return "fields"
    if parent == "values":
        return "expression"
    return "anything-but" if parent == "expression" and name == "anything-but" else "other"


def _name_error(role: str, name: str) -> str | None:
    if role == "expression" and name in UNKNOWN_OPERATORS:
        return f"Unrecognized match type {name}"
    if role == "anything-but" and name not in ANYTHING_BUT_VARIANTS:
        return f"Unsupported anything-but pattern: {name}"
    return None


def is_nested(policy: dict[str, Any]) -> bool:
    """Whether some field of the policy is an object rather than a list of values (`$or` aside)."""
    for key, value in policy.items():
        if key == OR:
            if any(is_nested(branch) for branch in value):
                return True
        elif isinstance(value, dict):
            return True
    return False


def key_count(policy: dict[str, Any]) -> int:
    """The most field paths any one `$or` alternative asks about: AWS's "keys" of a policy.

    A flat policy's keys are its names; a nested one counts its leaves (`{"a": {"b": [..], "c": [..]}}`
    has two), and a `$or` counts the keys of its largest alternative, joined with the keys around it.
    """
    return max(len(paths) for paths in _branch_paths(policy, ""))


def _branch_paths(policy: dict[str, Any], prefix: str) -> list[set[str]]:
    branches: list[set[str]] = [set()]
    for key, value in policy.items():
        if key == OR:
            alternatives = [paths for branch in value for paths in _branch_paths(branch, prefix)]
            branches = [have | more for have in branches for more in alternatives]
        elif isinstance(value, dict):
            inner = _branch_paths(value, f"{prefix}{key}.")
            branches = [have | more for have in branches for more in inner]
        else:
            branches = [have | {prefix + key} for have in branches]
    return branches


def combinations(policy: dict[str, Any], depth: int = 1, running: int = 1) -> int:
    """AWS's complexity of a policy, which must not exceed 150.

    For a flat policy it is the product of the lengths of its value arrays, as the developer guide
    says. Nested keys weigh more: an array at nesting depth d multiplies by its length times d, so
    `{"a": {"b": {"c": [4 values]}}, "d": {"e": [3 values]}, "f": [3 values]}` is (4·3)·(3·2)·(3·1) =
    216, which AWS refused as too complex. A `$or` adds up its alternatives, each computed from the
    product so far: the count of value combinations of the policy written out as separate policies.
    """
    for key, value in policy.items():
        if key == OR:
            running = sum(combinations(branch, depth, running) for branch in value)
        elif isinstance(value, dict):
            running = combinations(value, depth + 1, running)
        else:
            running *= len(value) * depth
    return running
