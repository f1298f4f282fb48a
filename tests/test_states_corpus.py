"""Conformance: the pure (no Task) executions recorded against AWS Step Functions.

Each case runs through the engine with the masks' own spellings as the execution's ARNs (so outputs that
carry them compare as recorded); status, output (as JSON, timestamps masked as `date`) and the history's
event types are compared. Waits are fast-forwarded, except where the recording stopped inside one.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.corpora import load_json
from trailbridge.states import Execution
from trailbridge.states.tasks import NoTasks
from trailbridge.states.timestamps import parse_timestamp

CORPUS = load_json("stepfunctions", "aws-recorded.json")
CASES = CORPUS["pure_cases"]
EXECUTION_ARN = "arn:<partition>:states:<region>:111111111111:execution:<ArnPart_0idx>:<ExecArnPart_0idx>"
STATE_MACHINE_ARN = "arn:<partition>:states:<region>:111111111111:stateMachine:<ArnPart_0idx>"
START = datetime(2024, 11, 4, 11, 2, 29, tzinfo=UTC)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")

# Recorded as pure, but their history and output are a PARENT execution's, whose Task called
# states:startExecution.sync (or .sync:2) on the case's definition: tests/test_server_states_corpus.py runs them so.
PARENT_RUN = {
    "TestBaseScenarios::test_sfn_start_execution_sync[SFN_SYNC]": ".sync",
    "TestBaseScenarios::test_sfn_start_execution_sync[SFN_SYNC2]": ".sync:2",
}
# The recordings whose test normalised each Parallel's events before saving them (its recorder's "non-recursive
# Parallel" transformer, which LocalStack's tests of these cases add): `as_recorded` does the same to ours.
PARALLEL_NORMALISED = {
    "TestAssignBase::test_base_parallel_cases[BASE_SCOPE_PARALLEL]",
    "TestBaseScenarios::test_parallel_state[PARALLEL_STATE_PARAMETERS]",
    "TestBaseScenarios::test_parallel_state_order",
    "TestBaseScenarios::test_parallel_state_nested",
}
_PARALLEL_ENDS = {"ParallelStateSucceeded", "ParallelStateAborted", "ParallelStateExited", "ParallelStateFailed"}


def as_recorded(name: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history as the recording's test saved it. For the `PARALLEL_NORMALISED` cases it collected the events
    after each ParallelStateStarted (ids zeroed) and, at every Parallel end event that followed, put that
    collection, sorted by its JSON, in place of all the events from after the Started up to (not including) the
    end event, reading on from the same position of the shortened list. The second end event of a state (its
    ParallelStateExited after ParallelStateSucceeded) so drops the first, and nested Parallels lose the inner
    one's end events: AWS's ParallelStateSucceeded and inner ParallelStateExited are missing from the corpus."""
    if name not in PARALLEL_NORMALISED:
        return events
    out = [dict(e) for e in events]
    collected: list[dict[str, Any]] = []
    start, collecting, i = 0, False, 0
    while i < len(out):
        kind = out[i]["type"]
        if kind in _PARALLEL_ENDS:
            out[start:i] = sorted(collected, key=lambda e: json.dumps(e, default=str))
            collecting = False
        elif kind == "ParallelStateStarted":
            start, collected, collecting = i + 1, [], True
        elif collecting:
            collected.append({**out[i], "id": 0, "previousEventId": 0})
        i += 1
    return out


# Masked timestamps whose form the case's name gives (the test waited a minute, or 24855 days, in that
# form), or that the recorded cause quotes: the input gets the timestamp again, the output masks it back.
_MINUTE_ON = "2024-11-04T11:03:29"
RESTORED: dict[str, tuple[str, str]] = {
    "TestSfnWait::test_wait_timestamppath[Z]": ("start_at", f"{_MINUTE_ON}Z"),
    "TestSfnWait::test_wait_timestamppath[.000000Z]": ("start_at", f"{_MINUTE_ON}.000000Z"),
    "TestSfnWait::test_wait_timestamppath[.00Z]": ("start_at", f"{_MINUTE_ON}.00Z"),
    "TestSfnWait::test_timestamp_too_far_in_future_boundary[24855]": ("start_at", "2092-09-14T11:02:29Z"),
    "TestBaseScenarios::test_wait_timestamp_jsonata[SECONDS]": ("TimestampValue", f"{_MINUTE_ON}Z"),
    # refused timestamps: the recording masked the input but its cause quotes the value
    "TestBaseScenarios::test_wait_timestamp_path[NO_T]": ("TimestampValue", "2016-12-05 21:29:29Z"),
    "TestBaseScenarios::test_wait_timestamp_path[INVALID_ISO]": ("TimestampValue", "05-12-2016T21:29:29Z"),
    "TestBaseScenarios::test_wait_timestamp_jsonata[NO_T]": ("TimestampValue", "2016-12-05 21:29:29Z"),
    "TestBaseScenarios::test_wait_timestamp_jsonata[NO_Z]": ("TimestampValue", "2016-12-05T21:29:29"),
    "TestBaseScenarios::test_wait_timestamp_jsonata[INVALID_DATE]": ("TimestampValue", "2016-13-05T21:29:29Z"),
    "TestBaseScenarios::test_wait_timestamp_jsonata[INVALID_TIME]": ("TimestampValue", "2016-12-05T25:29:29Z"),
    "TestBaseScenarios::test_wait_timestamp_jsonata[INVALID_ISO]": ("TimestampValue", "05-12-2016T21:29:29Z"),
}


def _input(case: dict[str, Any]) -> Any:
    value = case["input"]
    if isinstance(value, str):
        return json.loads(value)
    if case["name"] in RESTORED:
        key, stamp = RESTORED[case["name"]]
        return {**value, key: stamp}
    return {} if value is None else value


def _remask(case: dict[str, Any], output: Any) -> Any:
    if case["name"] not in RESTORED or not isinstance(output, dict):
        return output
    key, stamp = RESTORED[case["name"]]
    return {**output, key: case["input"][key]} if output.get(key) == stamp else output


def _expected(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _mask(value: Any, uuids: dict[str, str] | None = None, key: str = "") -> Any:
    """The recording's masks: timestamps as `date`, UUIDs under *id keys as `<uuid:N>` in order of appearance."""
    uuids = {} if uuids is None else uuids
    if isinstance(value, str) and key.lower().endswith("id") and _UUID.fullmatch(value):
        return uuids.setdefault(value, f"<uuid:{len(uuids) + 1}>")
    if isinstance(value, str):
        return _STAMP.sub("date", value)
    if isinstance(value, dict):
        return {k: _mask(v, uuids, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, uuids, key) for v in value]
    return value


def _unmask_random(expected: Any, actual: Any) -> Any:
    """`RandomNumberGenerated` stands for the number States.MathRandom drew: take ours where it is one."""
    if expected == "RandomNumberGenerated" and isinstance(actual, int):
        return actual
    if isinstance(expected, dict) and isinstance(actual, dict):
        return {k: _unmask_random(v, actual.get(k)) for k, v in expected.items()}
    return expected


def run(case: dict[str, Any]) -> tuple[Execution, list[dict[str, Any]]]:
    execution = Execution.start(
        case["definition"],
        _input(case),
        execution_arn=EXECUTION_ARN,
        state_machine_arn=STATE_MACHINE_ARN,
        role_arn="snf_role_arn",
        now=START,
    )
    status = case["final"]["status"]
    events: list[dict[str, Any]] = []
    now = START
    for _ in range(10_000):
        step = execution.step(now, NoTasks())
        events += step.events
        if step.finished or step.pending_task:
            break
        if step.wait_until is not None:
            if status == "ABORTED":
                events += execution.stop(now)
                break
            if status.startswith("NOT_TERMINAL"):
                break
            now = max(now, parse_timestamp(step.wait_until) or now)
    return execution, events


def _cause_pattern(cause: str) -> str:
    """`<json-input:N>` in a recorded cause stands for a JSON text the recording masked."""
    return ".*".join(re.escape(piece) for piece in re.split(r"<json-input:\d+>", cause))


PURE = [c for c in CASES if c["name"] not in PARENT_RUN]


@pytest.mark.parametrize("case", PURE, ids=[c["name"] for c in PURE])
def test_pure_case(case: dict[str, Any]) -> None:
    execution, events = run(case)
    events = as_recorded(case["name"], events)
    final = case["final"]
    types = [e["type"] for e in events]
    expected_types = case["history_event_types"]
    status = final["status"]
    if expected_types and "reverseOrder[True]" in case["name"]:
        # the page was asked for newest first: its last event is ExecutionStarted, not a sign of a running one
        expected_types, status = list(reversed(expected_types)), "SUCCEEDED"
    if expected_types is not None:  # None: the recording kept no history
        assert types[: len(expected_types)] == expected_types
    if status.startswith("NOT_TERMINAL"):
        assert execution.status == "RUNNING"
        return
    assert execution.status == status
    if status == "SUCCEEDED" and "output" in final:
        output = _mask(_remask(case, execution.output))
        assert output == _unmask_random(_expected(final.get("output")), output)
    if status == "FAILED":
        assert execution.error == final.get("error")
        if final.get("cause") is None:
            assert execution.cause is None
        else:
            assert re.fullmatch(_cause_pattern(_mask(final["cause"])), _mask(execution.cause) or "", re.DOTALL)
