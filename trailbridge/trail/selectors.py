"""Event selectors: which records a trail logs. Basic selectors (ReadWriteType, IncludeManagementEvents,
ExcludeManagementEventSources, DataResources) and advanced ones (FieldSelectors with Equals, StartsWith,
EndsWith and their Not- forms), evaluated as CloudTrail documents them. (Validation: services.trails.)"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

DEFAULT_SELECTORS: list[dict[str, Any]] = [
    {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [], "ExcludeManagementEventSources": []}
]


def admits(trail: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """Whether the trail's selectors log this record."""
    advanced = trail.get("AdvancedEventSelectors")
    if advanced:
        return any(_advanced(selector, record) for selector in advanced)
    return any(_basic(selector, record) for selector in trail.get("EventSelectors") or DEFAULT_SELECTORS)


def _basic(selector: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    kind = selector.get("ReadWriteType", "All")
    if kind != "All" and (kind == "ReadOnly") != bool(record.get("readOnly")):
        return False
    if record.get("managementEvent", True):
        excluded = selector.get("ExcludeManagementEventSources") or []
        return bool(selector.get("IncludeManagementEvents", True)) and record["eventSource"] not in excluded
    types = {resource.get("type") for resource in _resources(record)}
    return any(resource.get("Type") in types for resource in selector.get("DataResources") or [])


def _advanced(selector: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    return all(_field(field, _values(field["Field"], record)) for field in selector.get("FieldSelectors") or [])


def _values(field: str, record: Mapping[str, Any]) -> list[str]:
    if field == "readOnly":
        return ["true" if record.get("readOnly") else "false"]
    if field.startswith("resources."):
        key = field.split(".", 1)[1]
        return [str(r[key]) for r in _resources(record) if key in r]
    value = record.get(field)
    return [] if value is None else [str(value)]


def _field(field: Mapping[str, Any], values: list[str]) -> bool:
    tests: dict[str, Callable[[str, str], bool]] = {
        "Equals": str.__eq__,
        "StartsWith": str.startswith,
        "EndsWith": str.endswith,
    }
    for name, test in tests.items():
        wanted = field.get(name)
        if wanted and not any(test(v, x) for v in values for x in wanted):
            return False
        unwanted = field.get("Not" + name)
        if unwanted and any(test(v, x) for v in values for x in unwanted):
            return False
    return True


def may_select_data(trail: Mapping[str, Any]) -> bool:
    """Whether any of the trail's selectors can admit a data event (so data events are worth recording)."""
    advanced = trail.get("AdvancedEventSelectors")
    if advanced:
        return any(
            all(_field(f, ["Data"]) for f in selector.get("FieldSelectors") or [] if f["Field"] == "eventCategory")
            for selector in advanced
        )
    return any(selector.get("DataResources") for selector in trail.get("EventSelectors") or DEFAULT_SELECTORS)


def _resources(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The record's resources that are objects (an imported record may hold anything there)."""
    found = record.get("resources")
    return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []
