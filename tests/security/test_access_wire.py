"""Issue 13's probes over the wire, as the attacker ran them: `trailbridge serve --auth` with two accounts
(alice = 111111111111, bob = 222222222222) and boto3 clients signed with their keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.server import Server

ALICE, BOB = "111111111111", "222222222222"
EVERYTHING = json.dumps({"source": [{"prefix": ""}]})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    credentials: Path = tmp_path_factory.mktemp("auth") / "credentials"
    credentials.write_text(
        "".join(
            f"[{name}]\naws_access_key_id = AKID{name.upper()}\naws_secret_access_key = {name}-secret\n"
            f"aws_account_id = {account}\n"
            for name, account in (("alice", ALICE), ("bob", BOB))
        )
    )
    process = Server("--auth", "--credentials", str(credentials))
    yield process
    process.stop()


def client(server: Server, service: str, name: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=f"AKID{name.upper()}",
        aws_secret_access_key=f"{name}-secret",
        config=Config(retries={"max_attempts": 1}),
    )


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_probe_1_no_spy_rule_on_another_accounts_bus(server: Server) -> None:
    bob, alice = client(server, "events", "bob"), client(server, "events", "alice")
    bob.create_event_bus(Name="bobbus")
    for bus in ("bobbus", "default"):
        with pytest.raises(ClientError) as denied:
            alice.put_rule(
                Name="spy", EventBusName=f"arn:aws:events:us-east-1:{BOB}:event-bus/{bus}", EventPattern=EVERYTHING
            )
        assert code(denied) == "AccessDeniedException"
    assert [r["Name"] for r in bob.list_rules(EventBusName="bobbus")["Rules"]] == []


def test_probe_3_targets_tags_and_buses_of_another_account(server: Server) -> None:
    bob, alice = client(server, "events", "bob"), client(server, "events", "alice")
    bob.put_rule(Name="bobrule", EventPattern=EVERYTHING)
    client(server, "sqs", "bob").create_queue(QueueName="bobq")
    alice.put_rule(Name="mine", EventPattern=EVERYTHING)
    for arn in (
        f"arn:aws:sqs:us-east-1:{BOB}:bobq",
        f"arn:aws:logs:us-east-1:{BOB}:log-group:bobg",
        f"arn:aws:events:us-east-1:{BOB}:event-bus/default",
    ):
        with pytest.raises(ClientError) as denied:
            alice.put_targets(Rule="mine", Targets=[{"Id": "t", "Arn": arn}])
        assert code(denied) == "AccessDeniedException", arn
    with pytest.raises(ClientError) as denied:
        alice.tag_resource(
            ResourceARN=f"arn:aws:events:us-east-1:{BOB}:rule/bobrule", Tags=[{"Key": "k", "Value": "v"}]
        )
    assert code(denied) == "AccessDeniedException"
    with pytest.raises(ClientError) as denied:
        alice.describe_event_bus(Name=f"arn:aws:events:us-east-1:{BOB}:event-bus/default")
    assert code(denied) == "AccessDeniedException"


def test_probe_3_a_queue_url_of_another_account(server: Server) -> None:
    bob_sqs, alice_sqs = client(server, "sqs", "bob"), client(server, "sqs", "alice")
    url = bob_sqs.create_queue(QueueName="shared-name")["QueueUrl"]
    alice_sqs.create_queue(QueueName="shared-name")
    with pytest.raises(ClientError) as denied:
        alice_sqs.receive_message(QueueUrl=url)
    assert code(denied) == "AccessDenied"
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_probe_2_no_api_destination_on_another_accounts_connection(server: Server) -> None:
    bob, alice = client(server, "events", "bob"), client(server, "events", "alice")
    connection = bob.create_connection(
        Name="bobconn",
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "bob-key"}},
    )["ConnectionArn"]
    with pytest.raises(ClientError) as denied:
        alice.create_api_destination(
            Name="steal", ConnectionArn=connection, InvocationEndpoint="https://127.0.0.1:9/", HttpMethod="POST"
        )
    assert code(denied) == "AccessDeniedException"


def test_channels_and_trails_of_another_account(server: Server) -> None:
    bob = client(server, "cloudtrail", "bob")
    destinations = [{"Type": "EVENT_DATA_STORE", "Location": f"arn:aws:cloudtrail:us-east-1:{BOB}:eventdatastore/x"}]
    channel = bob.create_channel(Name="bobchan", Source="Custom", Destinations=destinations)["ChannelArn"]
    alice = client(server, "cloudtrail", "alice")
    with pytest.raises(ClientError) as denied:  # CloudTrail's answer for another account's channel
        alice.get_channel(Channel=channel)
    assert code(denied) == "ChannelNotFoundException"
    data = client(server, "cloudtrail-data", "alice")
    with pytest.raises(ClientError) as denied:
        data.put_audit_events(auditEvents=[{"id": "e1", "eventData": "{}"}], channelArn=channel)
    assert code(denied) == "ChannelNotFound"
    with pytest.raises(ClientError) as missing:
        alice.get_trail_status(Name=f"arn:aws:cloudtrail:us-east-1:{BOB}:trail/bobtrail")
    assert code(missing) == "TrailNotFoundException"  # trails are looked up in the caller's account only
