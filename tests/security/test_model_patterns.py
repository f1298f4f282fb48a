"""Issue 13, item 9: the models' Java patterns (`\\p{L}`, `\\p{Z}`, ...) used to reach Python's `re` as they
were, so `logs create-log-group --tags k=v` and PutTargets with RunCommandTargets answered 500."""

from __future__ import annotations

import pytest

from trailbridge.aws.validate import _pattern, _patterns, service_model
from trailbridge.runtime import Trailbridge
from trailbridge.services.base import ServiceError

SERVICES = ("events", "sqs", "logs", "cloudtrail", "cloudtrail-data")


@pytest.mark.parametrize("service", SERVICES)
def test_every_pattern_of_the_served_models_compiles(service: str) -> None:
    model = service_model(service)
    texts = {
        text
        for name in model.operation_names
        if (shape := model.operation_model(name).input_shape) is not None
        for text in _patterns(shape, set())
    }
    assert [text for text in texts if _pattern(text) is None] == []


def test_unicode_classes_are_checked_as_java_reads_them() -> None:
    compiled = _pattern("^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$")
    assert compiled is not None
    regex, _ = compiled
    assert regex.fullmatch("Équipe 7 ü:/=+-@")
    assert not regex.fullmatch("tab\there")


def test_tags_on_a_log_group_are_validated_not_a_500(tb: Trailbridge) -> None:
    logs = tb.logs()
    logs.create_log_group(logGroupName="g", tags={"team": "équipe"})
    with pytest.raises(ServiceError) as invalid:
        logs.create_log_group(logGroupName="h", tags={"team": "bad\tvalue"})
    assert invalid.value.code == "ValidationException"


def test_run_command_targets_are_validated_not_a_500(tb: Trailbridge) -> None:
    events = tb.events()
    events.put_rule(Name="r", EventPattern='{"source": ["s"]}')
    target = {
        "Id": "t",
        "Arn": "arn:aws:sqs:us-east-1:123456789012:q",
        "RunCommandParameters": {"RunCommandTargets": [{"Key": "tag:Name", "Values": ["web"]}]},
    }
    events.put_targets(Rule="r", Targets=[target])  # its Key pattern (\p{L} classes) used to raise in `re`
