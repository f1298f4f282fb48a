"""`trailbridge test-pattern`."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from trailbridge.cli.main import cli

EVENT = '{"id":"1","account":"123456789012","source":"aws.ec2","time":"2026-01-01T00:00:00Z","region":"us-east-1","detail-type":"X","detail":{"state":"running"}}'


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["test-pattern", *args])
    return result.exit_code, result.stdout, result.stderr


def test_match_prints_true_and_exits_0() -> None:
    assert run("--pattern", '{"detail":{"state":["running"]}}', "--event", EVENT) == (0, "true\n", "")


def test_no_match_prints_false_and_exits_1() -> None:
    assert run("--pattern", '{"detail":{"state":["stopped"]}}', "--event", EVENT) == (1, "false\n", "")


def test_invalid_pattern_exits_2_with_aws_message() -> None:
    code, out, err = run("--pattern", '{"a": 1}', "--event", EVENT)
    assert (code, out) == (2, "")
    aws, *hinted = err.splitlines()
    assert aws == 'InvalidEventPatternException: Event pattern is not valid. Reason: "a" must be an object or an array'
    assert hinted and hinted[0].startswith("hint: ")  # after AWS's own line: a bare value belongs in an array


def test_event_missing_envelope_fields_is_rejected() -> None:
    code, _, err = run("--pattern", '{"source":["x"]}', "--event", '{"source":"x"}')
    assert code == 2
    aws, reason = err.splitlines()
    assert aws == "ValidationException: Parameter Event is not valid."  # AWS's words, then the missing fields
    assert reason.startswith("reason: The event has no ") and "id" in reason


def test_arguments_from_files(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text('{"source":["aws.ec2"]}')
    (tmp_path / "e.json").write_text(EVENT)
    assert run("--pattern", f"@{tmp_path / 'p.json'}", "--event", f"@{tmp_path / 'e.json'}")[0] == 0


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("--pattern", f"@{tmp_path / 'nope.json'}", "--event", EVENT)
    assert code == 2
    assert "cannot read" in err
