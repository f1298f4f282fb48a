"""Issue 13, item 10: the values of a connection's HTTP parameters marked IsValueSecret (InvocationHttpParameters
and the OAuth OAuthHttpParameters) are sealed like its other secrets, never answered by DescribeConnection nor
written in CloudTrail records, and put back only for a delivery; connections stored with clear values (older
data) still deliver and are sealed by `seal_stored_parameters`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import FAST, wait_for
from tests.support.http import Endpoint
from tests.support.server import Server
from trailbridge.runtime import Trailbridge
from trailbridge.secrets import SecretBox
from trailbridge.services.destinations import seal_stored_parameters
from trailbridge.storage.ports import Scope

ACCOUNT, REGION = "123456789012", "us-east-1"
# '!' and '.' never occur in Fernet's base64url text: found in a row, these are in clear.
HEADER_SECRET, QUERY_SECRET, BODY_SECRET = "hdr!secret.1", "qs!secret.2", "body!secret.3"
TOKEN_HEADER_SECRET, TOKEN_BODY_SECRET = "tok!hdr.4", "tok!body.5"
SECRETS = (HEADER_SECRET, QUERY_SECRET, BODY_SECRET, TOKEN_HEADER_SECRET, TOKEN_BODY_SECRET)


def invocation_parameters() -> dict[str, Any]:
    return {
        "HeaderParameters": [
            {"Key": "X-Secret", "Value": HEADER_SECRET, "IsValueSecret": True},
            {"Key": "X-Plain", "Value": "plain-header", "IsValueSecret": False},
        ],
        "QueryStringParameters": [{"Key": "sig", "Value": QUERY_SECRET, "IsValueSecret": True}],
        "BodyParameters": [{"Key": "b", "Value": BODY_SECRET, "IsValueSecret": True}],
    }


def api_key_auth() -> dict[str, Any]:
    return {
        "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "key!value.0"},
        "InvocationHttpParameters": invocation_parameters(),
    }


def oauth_auth(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "OAuthParameters": {
            "ClientParameters": {"ClientID": "client", "ClientSecret": "csecret"},
            "AuthorizationEndpoint": endpoint.url + "/token",
            "HttpMethod": "POST",
            "OAuthHttpParameters": {
                "HeaderParameters": [{"Key": "X-Token-Secret", "Value": TOKEN_HEADER_SECRET, "IsValueSecret": True}],
                "BodyParameters": [
                    {"Key": "grant_type", "Value": "client_credentials"},
                    {"Key": "audience", "Value": TOKEN_BODY_SECRET, "IsValueSecret": True},
                ],
            },
        },
        "InvocationHttpParameters": {
            "HeaderParameters": [{"Key": "X-Secret", "Value": HEADER_SECRET, "IsValueSecret": True}]
        },
    }


@pytest.fixture
def stored(tmp_path: Path) -> Iterator[Trailbridge]:
    """A trailbridge on a data directory (so that what is at rest can be read back raw)."""
    with Trailbridge(tmp_path / "data", FAST) as instance:
        yield instance


def raw_connections(tb: Trailbridge) -> str:
    """Every connection row as stored, read through a connection of its own."""
    assert tb.data_dir is not None
    db = sqlite3.connect(tb.data_dir / "trailbridge.sqlite3")
    try:
        return "\n".join(row[0].decode() for row in db.execute("SELECT doc FROM resources WHERE kind = 'connection'"))
    finally:
        db.close()


def query(request: dict[str, Any]) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request["path"]).query)


def deliver_through(tb: Trailbridge, endpoint: Endpoint, connection_arn: str, path: str) -> None:
    api, events = tb.destinations(), tb.events()
    name = path.strip("/").replace("/", "-")
    arn = api.create_api_destination(
        Name=name, ConnectionArn=connection_arn, InvocationEndpoint=endpoint.url + path, HttpMethod="POST"
    )["ApiDestinationArn"]
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [name]}))
    events.put_targets(Rule=name, Targets=[{"Id": "h", "Arn": arn}])
    events.put_events(Entries=[{"Source": name, "DetailType": "t", "Detail": "{}"}])
    wait_for(lambda: endpoint.received(path))


def test_describe_connection_omits_the_value_of_secret_parameters(stored: Trailbridge) -> None:
    api = stored.destinations()
    api.create_connection(Name="c", AuthorizationType="API_KEY", AuthParameters=api_key_auth())
    described = api.describe_connection(Name="c")
    assert described["AuthParameters"]["InvocationHttpParameters"] == {
        "HeaderParameters": [
            {"Key": "X-Secret", "IsValueSecret": True},
            {"Key": "X-Plain", "Value": "plain-header", "IsValueSecret": False},
        ],
        "QueryStringParameters": [{"Key": "sig", "IsValueSecret": True}],
        "BodyParameters": [{"Key": "b", "IsValueSecret": True}],
    }
    assert not any(secret in json.dumps(described, default=str) for secret in SECRETS)


def test_secret_parameters_are_sealed_at_rest(stored: Trailbridge, endpoint: Endpoint) -> None:
    api = stored.destinations()
    api.create_connection(Name="k", AuthorizationType="API_KEY", AuthParameters=api_key_auth())
    api.create_connection(Name="o", AuthorizationType="OAUTH_CLIENT_CREDENTIALS", AuthParameters=oauth_auth(endpoint))
    rows = raw_connections(stored)
    assert "plain-header" in rows  # the rows are these connections'
    assert [secret for secret in SECRETS if secret in rows] == []


def test_a_delivery_sends_the_secret_values(stored: Trailbridge, endpoint: Endpoint) -> None:
    api = stored.destinations()
    key = api.create_connection(Name="k", AuthorizationType="API_KEY", AuthParameters=api_key_auth())
    deliver_through(stored, endpoint, key["ConnectionArn"], "/ok/key")
    request = endpoint.received("/ok/key")[0]
    assert request["headers"]["X-Secret"] == HEADER_SECRET and request["headers"]["X-Plain"] == "plain-header"
    assert request["path"].startswith("/ok/key?") and query(request) == {"sig": [QUERY_SECRET]}
    oauth = api.create_connection(
        Name="o", AuthorizationType="OAUTH_CLIENT_CREDENTIALS", AuthParameters=oauth_auth(endpoint)
    )
    deliver_through(stored, endpoint, oauth["ConnectionArn"], "/ok/oauth")
    token = endpoint.received("/token")[0]
    assert token["headers"]["X-Token-Secret"] == TOKEN_HEADER_SECRET
    assert parse_qs(token["body"]) == {"grant_type": ["client_credentials"], "audience": [TOKEN_BODY_SECRET]}
    assert endpoint.received("/ok/oauth")[0]["headers"]["X-Secret"] == HEADER_SECRET


def test_update_connection_seals_new_values_and_keeps_a_resent_one(stored: Trailbridge, endpoint: Endpoint) -> None:
    api = stored.destinations()
    arn = api.create_connection(Name="c", AuthorizationType="API_KEY", AuthParameters=api_key_auth())["ConnectionArn"]
    shown = api.describe_connection(Name="c")["AuthParameters"]["InvocationHttpParameters"]
    headers = [*shown["HeaderParameters"], {"Key": "X-New", "Value": "new!secret.6", "IsValueSecret": True}]
    api.update_connection(Name="c", AuthParameters={"InvocationHttpParameters": {"HeaderParameters": headers}})
    rows = raw_connections(stored)
    assert "new!secret.6" not in rows and HEADER_SECRET not in rows and QUERY_SECRET not in rows
    described = api.describe_connection(Name="c")["AuthParameters"]["InvocationHttpParameters"]
    assert described["HeaderParameters"][-1] == {"Key": "X-New", "IsValueSecret": True}
    deliver_through(stored, endpoint, arn, "/ok/updated")
    request = endpoint.received("/ok/updated")[0]
    # X-Secret came back without its Value (as DescribeConnection shows it): its sealed value is kept
    assert (request["headers"]["X-Secret"], request["headers"]["X-New"]) == (HEADER_SECRET, "new!secret.6")
    assert query(request) == {"sig": [QUERY_SECRET]}  # a list the update did not name is untouched


def test_a_list_replaced_by_an_update_drops_its_old_secrets(stored: Trailbridge) -> None:
    api = stored.destinations()
    api.create_connection(Name="c", AuthorizationType="API_KEY", AuthParameters=api_key_auth())
    plain = [{"Key": "X-Secret", "Value": "now-plain", "IsValueSecret": False}]
    api.update_connection(Name="c", AuthParameters={"InvocationHttpParameters": {"HeaderParameters": plain}})
    connection = stored.engine.resources.by_name(Scope("connection", ACCOUNT, REGION), "c")
    assert connection is not None
    sealed = stored.engine.secrets.open(connection["SealedSecrets"])["Parameters"]
    assert sealed == {
        "InvocationHttpParameters.QueryStringParameters": {"sig": QUERY_SECRET},
        "InvocationHttpParameters.BodyParameters": {"b": BODY_SECRET},
    }
    described = api.describe_connection(Name="c")["AuthParameters"]["InvocationHttpParameters"]
    assert described["HeaderParameters"] == plain


def test_a_connection_stored_with_clear_values_still_delivers_and_is_sealed(
    stored: Trailbridge, endpoint: Endpoint
) -> None:
    api = stored.destinations()
    arn = api.create_connection(Name="old", AuthorizationType="API_KEY", AuthParameters=api_key_auth())["ConnectionArn"]
    resources, scope = stored.engine.resources, Scope("connection", ACCOUNT, REGION)
    doc = resources.by_name(scope, "old")
    assert doc is not None
    box = stored.engine.secrets
    older = {k: v for k, v in box.open(doc["SealedSecrets"]).items() if k != "Parameters"}
    doc.update(AuthParameters=api_key_auth(), SealedSecrets=box.seal(older))  # as an older trailbridge kept it
    resources.put(scope, "old", arn, doc)
    assert HEADER_SECRET in raw_connections(stored)
    assert HEADER_SECRET not in json.dumps(api.describe_connection(Name="old"), default=str)
    deliver_through(stored, endpoint, arn, "/ok/before")
    assert endpoint.received("/ok/before")[0]["headers"]["X-Secret"] == HEADER_SECRET

    assert seal_stored_parameters(resources, box) == 1
    assert seal_stored_parameters(resources, box) == 0  # once sealed, nothing more to do
    assert [secret for secret in SECRETS if secret in raw_connections(stored)] == []
    deliver_through(stored, endpoint, arn, "/ok/after")
    request = endpoint.received("/ok/after")[0]
    assert request["headers"]["X-Secret"] == HEADER_SECRET and query(request) == {"sig": [QUERY_SECRET]}


def test_over_the_wire_neither_answers_nor_records_show_secret_values(server: Server, account: str) -> None:
    events = server.client("events", account)
    events.create_connection(Name="w", AuthorizationType="API_KEY", AuthParameters=api_key_auth())
    update = {
        "InvocationHttpParameters": {
            "HeaderParameters": [{"Key": "X-U", "Value": "upd!secret.7", "IsValueSecret": True}]
        }
    }
    events.update_connection(Name="w", AuthParameters=update)
    described = events.describe_connection(Name="w")
    assert described["AuthParameters"]["InvocationHttpParameters"]["HeaderParameters"] == [
        {"Key": "X-U", "IsValueSecret": True}
    ]
    trail = server.client("cloudtrail", account)

    def recorded() -> list[dict[str, Any]]:
        answer = trail.lookup_events(MaxResults=50)["Events"]
        return [json.loads(e["CloudTrailEvent"]) for e in answer if e["EventName"].endswith("Connection")]

    wait_for(lambda: {r["eventName"] for r in recorded()} >= {"CreateConnection", "UpdateConnection"})
    text = json.dumps(recorded())
    assert not any(secret in text for secret in (*SECRETS, "upd!secret.7"))
    db = sqlite3.connect(server.data / "trailbridge.sqlite3")
    try:
        rows = [row[0].decode() for row in db.execute("SELECT doc FROM resources WHERE kind = 'connection'")]
    finally:
        db.close()
    assert not any(secret in row for row in rows for secret in (*SECRETS, "upd!secret.7"))


def test_sealing_stored_parameters_skips_a_connection_another_key_sealed(stored: Trailbridge) -> None:
    api = stored.destinations()
    arn = api.create_connection(Name="alien", AuthorizationType="API_KEY", AuthParameters=api_key_auth())[
        "ConnectionArn"
    ]
    resources, scope = stored.engine.resources, Scope("connection", ACCOUNT, REGION)
    doc = resources.by_name(scope, "alien")
    assert doc is not None
    doc.update(AuthParameters=api_key_auth(), SealedSecrets=SecretBox.ephemeral().seal({"ApiKeyValue": "x"}))
    resources.put(scope, "alien", arn, doc)
    assert seal_stored_parameters(resources, stored.engine.secrets) == 0  # logged, never a failed start-up
    assert resources.get(arn) == doc


def test_reopening_a_data_directory_seals_what_an_older_trailbridge_kept_in_clear(
    tmp_path: Path, endpoint: Endpoint
) -> None:
    data = tmp_path / "older"
    with Trailbridge(data, FAST) as tb:
        arn = tb.destinations().create_connection(
            Name="old", AuthorizationType="API_KEY", AuthParameters=api_key_auth()
        )["ConnectionArn"]
        resources, scope, box = tb.engine.resources, Scope("connection", ACCOUNT, REGION), tb.engine.secrets
        doc = resources.by_name(scope, "old")
        assert doc is not None
        older = {k: v for k, v in box.open(doc["SealedSecrets"]).items() if k != "Parameters"}
        doc.update(AuthParameters=api_key_auth(), SealedSecrets=box.seal(older))
        resources.put(scope, "old", arn, doc)
        assert HEADER_SECRET in raw_connections(tb)
    with Trailbridge(data, FAST) as tb:
        assert [secret for secret in SECRETS if secret in raw_connections(tb)] == []
        deliver_through(tb, endpoint, arn, "/ok/reopened")
        assert endpoint.received("/ok/reopened")[0]["headers"]["X-Secret"] == HEADER_SECRET
