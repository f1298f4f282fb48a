"""A call answered is a call recorded, even when the server is killed (issue 13, item 7): every PutRule
answered before a SIGKILL has its CloudTrail record after the restart, and every rule the store kept has the
record of the call that made it (answered or not: change and record are one transaction). `bench/kill_trials.py` runs twenty
trials; CI runs these three."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.kill_trial import kill_trial


@pytest.mark.parametrize("run_seconds", [0.4, 0.9, 1.5])
def test_no_answered_call_is_without_its_record_after_a_sigkill(tmp_path: Path, run_seconds: float) -> None:
    outcome = kill_trial(tmp_path, run_seconds)
    assert len(outcome.answered) > 20, "too few calls were answered before the kill to tell anything"
    assert not outcome.missing, f"{len(outcome.missing)} of {len(outcome.answered)} answered calls have no record"
    assert outcome.kept, "no rule was kept"
    assert not outcome.unrecorded_changes, f"rules kept without their call's record: {outcome.unrecorded_changes}"
