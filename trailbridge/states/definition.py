"""Validation of a definition, refused as AWS refuses it (`InvalidDefinition`, with the failing path).

AWS's messages have the form `Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: <what> at
/States/X/Next'` (several problems joined by ", "); the codes used here are AWS's:
SCHEMA_VALIDATION_FAILED, MISSING_TRANSITION_TARGET, INVALID_JSON_DESCRIPTION.
"""

from __future__ import annotations

import json
from typing import Any

from trailbridge.states.choice import COMPARISONS
from trailbridge.states.errors import InvalidDefinition

STATE_TYPES = frozenset({"Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"})


def parse(text: str) -> dict[str, Any]:
    try:
        definition = json.loads(text)
    except ValueError as exc:
        raise InvalidDefinition(f"Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {exc}'") from None
    if not isinstance(definition, dict):
        raise InvalidDefinition("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Expected an object at /'")
    validate(definition)
    return definition


def validate(definition: dict[str, Any]) -> None:
    problems = list(_machine(definition, ""))
    if problems:
        raise InvalidDefinition("Invalid State Machine Definition: '" + ", ".join(problems) + "'")


def _machine(machine: dict[str, Any], at: str) -> list[str]:
    states = machine.get("States")
    if not isinstance(states, dict) or not states:
        return [f"SCHEMA_VALIDATION_FAILED: These fields are required: [States] at {at or '/'}"]
    problems: list[str] = []
    start = machine.get("StartAt")
    if not isinstance(start, str):
        problems.append(f"SCHEMA_VALIDATION_FAILED: These fields are required: [StartAt] at {at or '/'}")
    elif start not in states:
        problems.append(f"MISSING_TRANSITION_TARGET: Missing 'Next' target: {start} at {at}/StartAt")
    for name, spec in states.items():
        problems.extend(_state(states, name, spec, f"{at}/States/{name}"))
    return problems


def _state(states: dict[str, Any], name: str, spec: Any, at: str) -> list[str]:
    if not isinstance(spec, dict) or spec.get("Type") not in STATE_TYPES:
        return [f"SCHEMA_VALIDATION_FAILED: Value is not a valid state type at {at}/Type"]
    problems = [
        f"MISSING_TRANSITION_TARGET: Missing 'Next' target: {t} at {at}/{f}"
        for f, t in _targets(spec)
        if t not in states
    ]
    kind = spec["Type"]
    if kind not in ("Choice", "Succeed", "Fail") and not spec.get("End") and "Next" not in spec:
        problems.append(f"SCHEMA_VALIDATION_FAILED: No transition found at {at}")
    if kind == "Task" and "Resource" not in spec:
        problems.append(f"SCHEMA_VALIDATION_FAILED: These fields are required: [Resource] at {at}")
    if kind == "Choice":
        problems.extend(_choices(spec, at))
    for index, branch in enumerate(spec.get("Branches", []) if kind == "Parallel" else []):
        problems.extend(_machine(branch, f"{at}/Branches[{index}]"))
    processor = spec.get("ItemProcessor", spec.get("Iterator")) if kind == "Map" else None
    if isinstance(processor, dict):
        problems.extend(_machine(processor, f"{at}/ItemProcessor"))
    return problems


def _targets(spec: dict[str, Any]) -> list[tuple[str, Any]]:
    targets = [("Next", spec["Next"])] if "Next" in spec else []
    targets += [("Default", spec["Default"])] if "Default" in spec else []
    targets += [(f"Choices[{i}]/Next", c.get("Next")) for i, c in enumerate(spec.get("Choices", []))]
    targets += [(f"Catch[{i}]/Next", c.get("Next")) for i, c in enumerate(spec.get("Catch", []))]
    return targets


def _choices(spec: dict[str, Any], at: str) -> list[str]:
    problems = []
    for index, rule in enumerate(spec.get("Choices", [])):
        if not _rule_ok(rule):
            problems.append(f"SCHEMA_VALIDATION_FAILED: The Choice rule is not valid at {at}/Choices[{index}]")
    return problems


def _rule_ok(rule: Any) -> bool:
    if not isinstance(rule, dict):
        return False
    if "Condition" in rule:
        return True
    for combinator in ("And", "Or"):
        if combinator in rule:
            return all(_rule_ok(r) for r in rule[combinator])
    if "Not" in rule:
        return _rule_ok(rule["Not"])
    return "Variable" in rule and any(key in COMPARISONS for key in rule)
