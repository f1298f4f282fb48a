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
    assert (
        err == 'InvalidEventPatternException: Event pattern is not valid. Reason: "a" must be an object or an array\n'
    )


def test_event_missing_envelope_fields_is_rejected() -> None:
    code, _, err = run("--pattern", '{"source":["x"]}', "--event", '{"source":"x"}')
    assert code == 2
    assert err == "ValidationException: Parameter Event is not valid.\n"


def test_arguments_from_files(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text('{"source":["aws.ec2"]}')
    (tmp_path / "e.json").write_text(EVENT)
    assert run("--pattern", f"@{tmp_path / 'p.json'}", "--event", f"@{tmp_path / 'e.json'}")[0] == 0


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("--pattern", f"@{tmp_path / 'nope.json'}", "--event", EVENT)
    assert code == 2
    assert "cannot read" in err
