"""`trailbridge test-pattern --explain`, hints after AWS's error, bare CloudTrail records, `--data`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
from click.testing import CliRunner

from tests.corpora import load_json
from tests.test_patterns_explain import CORPUS_EVENTS
from trailbridge.bus.envelope import invalid_test_event_reason, valid_test_event
from trailbridge.cli.main import cli
from trailbridge.settings import Settings
from trailbridge.storage.backends import open_ports
from trailbridge.storage.ports import NewRecord
from trailbridge.trail.recorder import lookup_attributes

RECORD: dict[str, Any] = load_json("cloudtrail", "traildiscover", "events", "EC2", "RunInstances.json.cloudtrail")[0]
EVENT = json.dumps({"id": "1", "account": "111111111111", "source": "aws.ec2", "time": "2026-01-01T00:00:00Z",
                    "region": "us-east-1", "detail-type": "AWS API Call via CloudTrail",
                    "detail": {"eventName": "StopInstances", "errorCode": "AccessDenied"}})  # fmt: skip
WALKTHROUGH = json.dumps(
    {"detail": {"eventName": ["RunInstances"], "requestParameters": {"instancesSet": {"items": [{"instanceType": ["t2.micro"]}]}}}}
)  # fmt: skip
AWS_ERROR = "InvalidEventPatternException: Event pattern is not valid. Reason: Unrecognized match type instanceType\n"
BRACKETS = (
    "hint: array elements are matched by writing the object without brackets: the pattern names the fields of the "
    'elements of items as if they were fields of items itself, and matches when one element has them: write "items": '
    '{"instanceType": ["t2.micro"]}\n'
    '  {"detail": {"eventName": ["RunInstances"], "requestParameters": {"instancesSet": {"items": {"instanceType": '
    '["t2.micro"]}}}}}\n'
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["test-pattern", *args])
    return result.exit_code, result.stdout, result.stderr


def test_explain_says_which_condition_failed() -> None:
    pattern = '{"detail": {"eventName": ["RunInstances"], "errorCode": [{"exists": false}]}}'
    assert run("--pattern", pattern, "--event", EVENT, "--explain") == (
        1,
        "false\n"
        "The pattern does not match the event:\n"
        '  detail.errorCode: [{"exists": false}], but the event has "AccessDenied"\n'
        '  detail.eventName: ["RunInstances"], but the event has "StopInstances"\n',
        "",
    )


def test_explain_of_a_match() -> None:
    assert run("--pattern", '{"source": ["aws.ec2"]}', "--event", EVENT, "--explain") == (
        0,
        "true\nThe pattern matches the event.\n",
        "",
    )


def test_explain_adds_lint_hints_for_a_valid_pattern() -> None:
    code, out, _ = run("--pattern", '{"detailType": ["AWS API Call via CloudTrail"]}', "--event", EVENT, "--explain")
    assert code == 1
    assert out.endswith(
        'hint: the event\'s field is "detail-type", not "detailType": this pattern never matches\n'
        '  {"detail-type": ["AWS API Call via CloudTrail"]}\n'
    )


def test_invalid_pattern_aws_error_unchanged_then_hints() -> None:
    assert run("--pattern", WALKTHROUGH, "--event", EVENT) == (2, "", AWS_ERROR + BRACKETS)
    assert run("--pattern", WALKTHROUGH, "--event", EVENT, "--explain") == (2, "", AWS_ERROR + BRACKETS)


def test_invalid_event_names_the_missing_envelope_fields_after_aws_sentence() -> None:
    event = '{"source": "x", "detail-type": "y", "id": "1"}'
    assert run("--pattern", '{"source": ["x"]}', "--event", event) == (
        2,
        "",
        "ValidationException: Parameter Event is not valid.\nreason: The event has no account, time, region: "
        "TestEventPattern requires id, account, source, time, region, detail-type.\n",
    )
    assert run("--pattern", '{"source": ["x"]}', "--event", "[1]")[2] == (
        "ValidationException: Parameter Event is not valid.\nreason: The event is not a JSON object.\n"
    )
    assert run("--pattern", '{"source": ["x"]}', "--event", "{nope")[2] == (
        "ValidationException: Parameter Event is not valid.\nreason: The event is not JSON.\n"
    )


def test_bare_cloudtrail_record_is_tested_in_its_envelope() -> None:
    envelope = {
        "source": ["aws.ec2"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "account": ["111111111111"],
        "region": ["us-east-1"],
        "id": [RECORD["eventID"]],
        "time": [RECORD["eventTime"]],
        "version": ["0"],
        "detail": {"eventName": ["RunInstances"], "requestParameters": {"instanceType": ["t2.micro"]}},
    }
    assert run("--pattern", json.dumps(envelope), "--event", json.dumps(RECORD)) == (0, "true\n", "")
    code, out, _ = run("--pattern", '{"source": ["aws.s3"]}', "--event", json.dumps(RECORD), "--explain")
    assert (code, out) == (
        1,
        "false\n"
        "Note: the event is a bare CloudTrail record; it was tested in its EventBridge envelope.\n"
        'The pattern does not match the event:\n  source: ["aws.s3"], but the event has "aws.ec2"\n',
    )


def test_a_record_without_what_its_envelope_needs_is_not_wrapped() -> None:
    partial = {k: v for k, v in RECORD.items() if k != "awsRegion"}
    code, _, err = run("--pattern", '{"source": ["aws.ec2"]}', "--event", json.dumps(partial), "--explain")
    assert code == 2
    assert err.startswith(
        "ValidationException: Parameter Event is not valid.\nreason: The event has no id, account, source"
    )


def data_dir_with(tmp_path: Path, records: list[dict[str, Any]]) -> Path:
    ports = open_ports(Settings(), tmp_path)
    rows = [
        NewRecord(
            r["recipientAccountId"],
            r["awsRegion"],
            1_700_000_000.0,
            r["eventID"],
            bool(r.get("readOnly")),
            orjson.dumps(r),
            tuple(lookup_attributes(r)),
        )
        for r in records
    ]
    ports.records.prepare(rows)()
    ports.store.close()
    return tmp_path


def test_data_dir_records_say_where_the_field_occurs(tmp_path: Path) -> None:
    data = data_dir_with(tmp_path, [RECORD, RECORD | {"eventID": "other", "eventName": "StopInstances"}])
    code, out, err = run("--pattern", WALKTHROUGH, "--event", json.dumps(RECORD), "--explain", "--data", str(data))
    assert (code, out) == (2, "")
    assert err == (
        AWS_ERROR
        + BRACKETS
        + "hint: recorded RunInstances calls (1) have no detail.requestParameters.instancesSet.items.instanceType; "
        "they carry instanceType at detail.requestParameters.instanceType (1 of 1)\n"
        '  {"detail": {"eventName": ["RunInstances"], "requestParameters": {"instanceType": ["t2.micro"]}}}\n'
    )


def test_data_dir_of_another_account_has_no_recorded_calls(tmp_path: Path) -> None:
    data = data_dir_with(tmp_path, [RECORD])
    assert run("--pattern", WALKTHROUGH, "--event", EVENT.replace("111111111111", "222222222222"), "--explain",
               "--data", str(data)) == (2, "", AWS_ERROR + BRACKETS)  # fmt: skip


def test_data_that_is_not_a_data_directory(tmp_path: Path) -> None:
    code, _, err = run("--pattern", WALKTHROUGH, "--event", EVENT, "--explain", "--data", str(tmp_path))
    assert code == 2
    assert f"{tmp_path} is not a trailbridge data directory" in err


def test_reason_is_given_exactly_when_the_event_is_refused() -> None:
    for event in [*CORPUS_EVENTS, EVENT, "plain string", '["plain string"]', '{"testEvent": "value"}']:
        assert (invalid_test_event_reason(event) is None) is valid_test_event(event)
