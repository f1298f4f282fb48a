"""History events as GetExecutionHistory returns them: type, id, previousEventId and the details key.

The details key is AWS's: `stateEnteredEventDetails` for every `*StateEntered`, `stateExitedEventDetails`
for every `*StateExited`, otherwise the type with a lower-case first letter plus `EventDetails`.
"""

from __future__ import annotations

from typing import Any

from trailbridge.states.payload import compact


def details_key(event_type: str) -> str:
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    return event_type[0].lower() + event_type[1:] + "EventDetails"


def event(
    event_type: str, event_id: int, previous: int, timestamp: str, details: dict[str, Any] | None
) -> dict[str, Any]:
    out: dict[str, Any] = {"timestamp": timestamp, "type": event_type, "id": event_id, "previousEventId": previous}
    if details is not None:
        out[details_key(event_type)] = details
    return out


def entered(name: str, value: Any) -> dict[str, Any]:
    return {"name": name, "input": compact(value), "inputDetails": {"truncated": False}}


def exited(name: str, value: Any) -> dict[str, Any]:
    return {"name": name, "output": compact(value), "outputDetails": {"truncated": False}}


def failure(error: str | None, cause: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if error is not None:
        details["error"] = error
    if cause is not None:
        details["cause"] = cause
    return details
