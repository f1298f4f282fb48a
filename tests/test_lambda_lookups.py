"""What the delivery paths ask of the Lambda service per event, read once per configuration version
(`services/lambda_functions/spec.py`'s Lookups): the same question twice reads the store once, and every change
a question depends on (the function's configuration, its resource policy, its invoke config, its deletion and
creation, its log group) is seen at the next question. Then the dispatcher's side: an asynchronous
invocation's logs are written when it is settled, and each event a rule delivers to a deployed function is one
invocation (written in the commit that ends the rule's delivery, and not read back to be made)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.test_lambda_service import OWNER, Lambda, create, zipped
from trailbridge.errors import AccessDeniedError
from trailbridge.runtime import Trailbridge
from trailbridge.services.base import Engine
from trailbridge.services.lambda_functions.spec import Lookups
from trailbridge.services.logs import LogsService
from trailbridge.settings import Settings

ARN = f"arn:aws:lambda:us-east-1:{OWNER}:function:fn"
RULE = f"arn:aws:events:us-east-1:{OWNER}:rule/r"
EVENTS = "events.amazonaws.com"
GROUP = f"arn:aws:logs:us-east-1:{OWNER}:log-group:/aws/lambda/fn"


class Counted:
    """The engine's Resources, counting the reads made through it."""

    def __init__(self, resources: Any) -> None:
        self.resources, self.reads = resources, 0

    def __getattr__(self, name: str) -> Any:
        if name in ("get", "by_name", "scan"):
            self.reads += 1
        return getattr(self.resources, name)


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Trailbridge() as tb:
        yield tb.engine


@pytest.fixture
def aws(engine: Engine) -> Lambda:
    create(Lambda(engine), "fn", Environment={"Variables": {"STAGE": "one"}})
    return Lambda(engine)


def allowed(lookups: Lookups, source: str = RULE) -> bool:
    try:
        lookups.check_invoke(ARN, EVENTS, source, OWNER)
    except AccessDeniedError:
        return False
    return True


def permit(aws: Lambda) -> None:
    aws.AddPermission(
        FunctionName="fn", StatementId="events", Action="lambda:InvokeFunction", Principal=EVENTS, SourceArn=RULE
    )


def test_a_second_question_reads_nothing(engine: Engine, aws: Lambda) -> None:
    permit(aws)
    counted = Counted(engine.resources)
    lookups = Lookups(replace(engine, resources=counted))
    first = (lookups.spec(ARN), lookups.async_config(ARN), allowed(lookups), lookups.log_group_exists(GROUP))
    reads = counted.reads
    assert reads > 0
    assert (lookups.spec(ARN), lookups.async_config(ARN), allowed(lookups), lookups.log_group_exists(GROUP)) == first
    assert lookups.deployed(ARN) and counted.reads == reads


def test_a_configuration_change_is_seen_at_the_next_question(engine: Engine, aws: Lambda) -> None:
    lookups = Lookups(engine)
    assert lookups.spec(ARN).environment == {"STAGE": "one"}
    aws.UpdateFunctionConfiguration(FunctionName="fn", Environment={"Variables": {"STAGE": "two"}}, Timeout=9)
    spec = lookups.spec(ARN)
    assert (spec.environment, spec.timeout) == ({"STAGE": "two"}, 9.0)
    aws.PutFunctionConcurrency(FunctionName="fn", ReservedConcurrentExecutions=3)
    assert lookups.spec(ARN).reserved_concurrency == 3


def test_the_policy_is_judged_as_it_is_now(engine: Engine, aws: Lambda) -> None:
    lookups = Lookups(engine)
    assert not allowed(lookups)
    permit(aws)
    assert allowed(lookups)
    assert not allowed(lookups, source=f"arn:aws:events:us-east-1:{OWNER}:rule/other")  # kept per source too
    aws.RemovePermission(FunctionName="fn", StatementId="events")
    with pytest.raises(AccessDeniedError, match="no resource-based policy allows the lambda:InvokeFunction"):
        lookups.check_invoke(ARN, EVENTS, RULE, OWNER)


def test_the_invoke_config_is_read_again_after_a_change(engine: Engine, aws: Lambda) -> None:
    lookups = Lookups(engine)
    assert lookups.async_config(ARN).max_retries == 2
    queue = f"arn:aws:sqs:us-east-1:{OWNER}:failed"
    aws.PutFunctionEventInvokeConfig(
        FunctionName="fn", MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": queue}}
    )
    config = lookups.async_config(ARN)
    assert (config.max_retries, config.on_failure) == (0, queue)
    aws.DeleteFunctionEventInvokeConfig(FunctionName="fn")
    assert lookups.async_config(ARN).max_retries == 2


def test_a_missing_function_is_remembered_until_one_is_created(engine: Engine) -> None:
    aws, counted = Lambda(engine), Counted(engine.resources)
    lookups = Lookups(replace(engine, resources=counted))
    for _ in range(2):
        assert not lookups.deployed(ARN)
        with pytest.raises(LookupError, match="Function not found"):
            lookups.spec(ARN)
    reads = counted.reads
    assert not lookups.deployed(ARN) and counted.reads == reads
    create(aws, "fn")
    assert lookups.deployed(ARN) and lookups.spec(ARN).name == "fn"
    aws.DeleteFunction(FunctionName="fn")
    assert not lookups.deployed(ARN)
    with pytest.raises(LookupError):
        lookups.async_config(ARN)


def test_a_log_group_is_seen_created_and_deleted(engine: Engine) -> None:
    lookups, logs = Lookups(engine), LogsService(engine, OWNER, "us-east-1")
    assert not lookups.log_group_exists(GROUP)
    logs.create_log_group(logGroupName="/aws/lambda/fn")
    assert lookups.log_group_exists(GROUP)
    logs.delete_log_group(logGroupName="/aws/lambda/fn")
    assert not lookups.log_group_exists(GROUP)


APP = 'def handler(event, context):\n    print("ran", event["n"])\n    return event\n'


def test_an_asynchronous_invocations_logs_are_written_when_it_is_settled() -> None:
    settings = Settings(lambda_retry_base_seconds=0.01)
    with Trailbridge(None, settings) as tb:
        aws = Lambda(tb.engine)
        create(aws, "fn", Code={"ZipFile": zipped({"app.py": APP})})
        for n in range(3):
            aws.Invoke(FunctionName="fn", Payload=json.dumps({"n": n}).encode(), InvocationType="Event")
        wait_for(lambda: tb.pending_deliveries() == 0, timeout=15)
        logs = LogsService(tb.engine, OWNER, "us-east-1")
        messages = [e["message"] for e in logs.filter_log_events(logGroupName="/aws/lambda/fn")["events"]]
        assert sorted(m for m in messages if m.startswith("ran")) == ["ran 0", "ran 1", "ran 2"]
        assert sum(m.startswith("REPORT RequestId:") for m in messages) == 3
        logs.delete_log_group(logGroupName="/aws/lambda/fn")  # deleted: made again by the next invocation
        aws.Invoke(FunctionName="fn", Payload=b'{"n": 3}', InvocationType="Event")
        wait_for(lambda: tb.pending_deliveries() == 0, timeout=15)
        messages = [e["message"] for e in logs.filter_log_events(logGroupName="/aws/lambda/fn")["events"]]
        assert [m for m in messages if m.startswith("ran")] == ["ran 3"]


class EventReads:
    """The dispatcher's Deliveries, counting the events it reads."""

    def __init__(self, deliveries: Any) -> None:
        self.deliveries, self.count = deliveries, 0

    def __getattr__(self, name: str) -> Any:
        if name == "event":
            self.count += 1
        return getattr(self.deliveries, name)


SEEN = 'import os\n\ndef handler(event, context):\n    with open(os.environ["OUT"], "a") as out:\n        out.write(event["id"] + "\\n")\n'


def test_each_event_a_rule_delivers_is_one_invocation_written_with_the_deliverys_end(tmp_path: Any) -> None:
    out = tmp_path / "seen"
    with Trailbridge(None, Settings(lambda_retry_base_seconds=0.01)) as tb:
        aws = Lambda(tb.engine)
        code = {"ZipFile": zipped({"app.py": SEEN})}
        create(aws, "fn", Code=code, Environment={"Variables": {"OUT": str(out)}})
        events = tb.events(OWNER)
        events.put_rule(Name="r", EventPattern=json.dumps({"source": ["my.app"]}))
        events.put_targets(Rule="r", Targets=[{"Id": "1", "Arn": ARN}])
        permit(aws)
        dispatcher = tb._dispatcher
        assert dispatcher is not None
        reads = EventReads(dispatcher.deliveries)
        dispatcher.deliveries = reads
        ids = []
        for batch in range(5):
            entries = [
                {"Source": "my.app", "DetailType": "t", "Detail": json.dumps({"n": batch * 10 + j})} for j in range(10)
            ]
            ids += [e["EventId"] for e in events.put_events(Entries=entries)["Entries"]]
        wait_for(lambda: out.exists() and len(out.read_text().split()) >= len(ids), timeout=30)
        wait_for(lambda: tb.pending_deliveries() == 0, timeout=15)
        assert sorted(out.read_text().split()) == sorted(ids)  # each once: none lost, none twice
        assert tb.metrics.get("Invocations") == len(ids)
        assert reads.count == len(ids)  # the events put; the invocations the dispatcher wrote are not read back
