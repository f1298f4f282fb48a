"""Every case recorded against real Amazon EventBridge must give AWS's answer."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from tests.corpora import load_json
from trailbridge.cli.main import cli
from trailbridge.patterns import PatternError, compile_pattern

CASES: list[dict[str, Any]] = load_json("event-patterns", "aws-recorded.json")["cases"]
ENGINE = [c for c in CASES if c.get("aws_error_code") != "ValidationException"]
EVENT_VALIDATION = [c for c in CASES if c.get("aws_error_code") == "ValidationException"]


def test_corpus_is_complete() -> None:
    assert len(CASES) == 176
    assert len(EVENT_VALIDATION) == 3


@pytest.mark.parametrize("case", ENGINE, ids=[c["name"] for c in ENGINE])
def test_engine_case(case: dict[str, Any]) -> None:
    if case["expected"] == "error":
        with pytest.raises(PatternError) as caught:
            compile_pattern(case["pattern"])
        assert str(caught.value) == case["aws_error_message"]
        assert caught.value.reason == case["aws_error_message"].removeprefix("Event pattern is not valid. Reason: ")
        return
    assert compile_pattern(case["pattern"]).matches(case["event"]) is (case["expected"] == "match")


@pytest.mark.parametrize("case", EVENT_VALIDATION, ids=[c["name"] for c in EVENT_VALIDATION])
def test_event_validation_case(case: dict[str, Any]) -> None:
    result = CliRunner().invoke(cli, ["test-pattern", "--pattern", case["pattern"], "--event", case["event"]])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"ValidationException: {case['aws_error_message']}"
