"""The console's Sandbox: test an event pattern on an event, with the pattern engine's explanation of why it
matches or not (`patterns.explain`) and its lint hints (`patterns.hints`), and the event EventBridge makes of a
recorded call (`trail.forward.cloudtrail_event`, the envelope the bus routes).

Pure computation on what the browser sends: nothing is read or changed, so nothing here is an AWS call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from trailbridge.patterns import explain, hints
from trailbridge.patterns.errors import PatternError
from trailbridge.trail.forward import cloudtrail_event

MAX_RECORDS = 200  # recorded calls the hints look at for where the pattern's fields occur
SAMPLE_ID = "00000000-0000-0000-0000-000000000000"  # the envelope's id: the sandbox's events are not sent


class SandboxError(ValueError):
    """Input the sandbox cannot use; `field` is the one it concerns (`pattern`, `event`, `record`)."""

    def __init__(self, field: str, message: str, hints: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.field, self.hints = field, hints or []


def tested(document: Mapping[str, Any]) -> dict[str, Any]:
    """`{"pattern": TEXT, "event": TEXT, "records": [RECORD, ...]}` -> whether it matches, the explanation (as
    text and as JSON) and the hints; an invalid pattern's error carries the hints too."""
    pattern, event = document.get("pattern"), document.get("event")
    if not isinstance(pattern, str) or not pattern.strip():
        raise SandboxError("pattern", "Enter an event pattern.")
    if not isinstance(event, str) or not event.strip():
        raise SandboxError("event", "Enter an event, or pick a recorded call.")
    records = document.get("records") or []
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise SandboxError("records", "records must be a list of CloudTrail records.")
    found = [hint.as_dict() for hint in hints(pattern, records[:MAX_RECORDS])]
    try:
        explanation = explain(pattern, event)
    except PatternError as exc:  # AWS's message; the hints often say how to correct it
        raise SandboxError("pattern", exc.message, found) from None
    except ValueError as exc:
        raise SandboxError("event", f"{exc}.") from None
    return {"matched": explanation.matched, "text": explanation.text(), "explanation": explanation.as_dict()} | {
        "hints": found
    }


def event_of(document: Mapping[str, Any]) -> dict[str, Any]:
    """`{"record": RECORD}` -> `{"event": TEXT}`, the EventBridge event of a recorded call."""
    record = document.get("record")
    needed = ("eventSource", "recipientAccountId", "eventTime", "awsRegion")
    if not isinstance(record, dict) or any(not isinstance(record.get(key), str) for key in needed):
        raise SandboxError("record", f"A recorded call is a CloudTrail record with {', '.join(needed)}.")
    event = cloudtrail_event(record, SAMPLE_ID)
    return {"event": orjson.dumps(event, option=orjson.OPT_INDENT_2).decode()}
