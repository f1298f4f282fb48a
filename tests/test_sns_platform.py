"""SNS mobile push through `PlatformService`: platform applications and their endpoints, created, read,
changed, listed page by page and deleted as SNS does, with SNS's errors; the credentials sealed (not in the
SQLite file in clear, never answered) and everything still there after the data directory is reopened."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sns import REGION, refused
from trailbridge.runtime import Trailbridge
from trailbridge.services.base import Engine
from trailbridge.services.sns.platform import PlatformService

# '!' never occurs in Fernet's base64url text: found in the database file, the credential is in clear.
CREDENTIAL, PRINCIPAL = "fcm!server-key.7", "client!id.8"
_accounts = itertools.count(500000000001)


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Trailbridge() as tb:
        yield tb.engine


@pytest.fixture
def push(engine: Engine) -> PlatformService:
    return PlatformService(engine, str(next(_accounts)), REGION)


def application(push: PlatformService, name: str = "app", platform: str = "ADM", **attributes: str) -> str:
    given = {"PlatformCredential": CREDENTIAL, "PlatformPrincipal": PRINCIPAL, **attributes}
    return str(
        push.create_platform_application(Name=name, Platform=platform, Attributes=given)["PlatformApplicationArn"]
    )


def endpoint(push: PlatformService, app: str, token: str = "token-1", **params: str) -> str:
    return str(push.create_platform_endpoint(PlatformApplicationArn=app, Token=token, **params)["EndpointArn"])


def test_an_application_is_named_as_aws_names_it_and_answers_no_credential(push: PlatformService) -> None:
    topic = f"arn:aws:sns:{REGION}:{push.account}:events"
    app = application(push, "my.app_1-x", "APNS", EventEndpointCreated=topic)
    assert app == f"arn:aws:sns:{REGION}:{push.account}:app/APNS/my.app_1-x"
    attributes = push.get_platform_application_attributes(PlatformApplicationArn=app)["Attributes"]
    assert attributes == {"Enabled": "true", "EventEndpointCreated": topic}


def test_the_same_application_twice_is_one_unless_its_properties_differ(push: PlatformService) -> None:
    app = application(push)
    assert application(push) == app
    assert refused(
        push.create_platform_application,
        Name="app",
        Platform="ADM",
        Attributes={"PlatformCredential": "other", "PlatformPrincipal": PRINCIPAL},
    ) == (
        "InvalidParameter",
        "Invalid parameter: Name Reason: An application with the same name but different properties already exists",
        400,
    )
    assert application(push, platform="GCM") != app  # one name on another platform is another application


@pytest.mark.parametrize(
    ("name", "platform", "attributes", "message"),
    [
        (
            "",
            "ADM",
            {"PlatformCredential": "c", "PlatformPrincipal": "p"},
            "Invalid parameter:  Reason: cannot be empty",
        ),
        (
            "a" * 257,
            "ADM",
            {"PlatformCredential": "c", "PlatformPrincipal": "p"},
            "must be at most 256 characters long",
        ),
        ("app", "FCM", {"PlatformCredential": "c"}, "Invalid parameter: Platform Reason: FCM is not supported"),
        ("app", "GCM", {"PlatformPrincipal": "p"}, "Reason: PlatformCredential attribute required"),
        ("app", "APNS", {"PlatformPrincipal": "p"}, "PlatformPrincipal attribute provided without PlatformCredential"),
        ("app", "ADM", {"PlatformCredential": "c", "PlatformPrincipal": "p", "Colour": "x"}, "name: Colour"),
        ("app", "GCM", {"PlatformCredential": "c", "EventEndpointDeleted": "topic"}, "attribute: EventEndpointDeleted"),
        (
            "app",
            "GCM",
            {"PlatformCredential": "c", "SuccessFeedbackRoleArn": "arn:aws:s3:::b"},
            "SuccessFeedbackRoleArn",
        ),
        ("app", "GCM", {"PlatformCredential": "c", "SuccessFeedbackSampleRate": "101"}, "SuccessFeedbackSampleRate"),
    ],
)
def test_what_create_platform_application_refuses(
    push: PlatformService, name: str, platform: str, attributes: dict[str, str], message: str
) -> None:
    code, text, status = refused(push.create_platform_application, Name=name, Platform=platform, Attributes=attributes)
    assert (code, status) == ("InvalidParameter", 400)
    assert message in text


def test_an_fcm_application_needs_only_its_key(push: PlatformService) -> None:
    role = f"arn:aws:iam::{push.account}:role/feedback"
    answer = push.create_platform_application(
        Name="fcm",
        Platform="GCM",
        Attributes={"PlatformCredential": CREDENTIAL, "SuccessFeedbackRoleArn": role, "SuccessFeedbackSampleRate": "5"},
    )
    shown = push.get_platform_application_attributes(PlatformApplicationArn=answer["PlatformApplicationArn"])
    assert shown["Attributes"] == {"Enabled": "true", "SuccessFeedbackRoleArn": role, "SuccessFeedbackSampleRate": "5"}


def test_set_platform_application_attributes_changes_and_unsets(push: PlatformService) -> None:
    app = application(push, SuccessFeedbackSampleRate="10")
    topic = f"arn:aws:sns:{REGION}:{push.account}:failures"
    push.set_platform_application_attributes(
        PlatformApplicationArn=app,
        Attributes={"EventDeliveryFailure": topic, "SuccessFeedbackSampleRate": "", "PlatformCredential": "new!key"},
    )
    attributes = push.get_platform_application_attributes(PlatformApplicationArn=app)["Attributes"]
    assert attributes == {"Enabled": "true", "EventDeliveryFailure": topic}
    sealed = push.resources.get(app)
    assert sealed is not None
    assert push.engine.secrets.open(sealed["SealedCredentials"]) == {
        "PlatformCredential": "new!key",
        "PlatformPrincipal": PRINCIPAL,
    }
    bad = refused(push.set_platform_application_attributes, PlatformApplicationArn=app, Attributes={"Enabled": "no"})
    assert bad == ("InvalidParameter", "Invalid parameter: Attributes Reason: Invalid attribute name: Enabled", 400)


def test_applications_of_another_account_or_a_malformed_arn_are_refused(engine: Engine, push: PlatformService) -> None:
    app = application(push)
    stranger = PlatformService(engine, str(next(_accounts)), REGION)
    assert refused(stranger.get_platform_application_attributes, PlatformApplicationArn=app)[::2] == (
        "AuthorizationError",
        403,
    )
    assert refused(push.get_platform_application_attributes, PlatformApplicationArn=app + "/x") == (
        "InvalidParameter",
        "Invalid parameter: PlatformApplicationArn Reason: Wrong number of slashes in relative portion of the ARN.",
        400,
    )
    missing = app.replace("/app", "/gone")
    assert refused(push.get_platform_application_attributes, PlatformApplicationArn=missing) == (
        "NotFound",
        "PlatformApplication does not exist",
        404,
    )


def test_applications_are_listed_page_by_page(push: PlatformService) -> None:
    made = sorted(application(push, f"app-{i:03}") for i in range(105))
    first = push.list_platform_applications()
    second = push.list_platform_applications(NextToken=first["NextToken"])
    assert "NextToken" not in second
    listed = [a["PlatformApplicationArn"] for a in first["PlatformApplications"] + second["PlatformApplications"]]
    assert (len(first["PlatformApplications"]), listed) == (100, made)
    assert first["PlatformApplications"][0]["Attributes"] == {"Enabled": "true"}
    assert refused(push.list_platform_applications, NextToken="%%%") == (
        "InvalidParameter",
        "Invalid parameter: NextToken",
        400,
    )


def test_an_endpoint_is_named_as_aws_names_it_with_its_attributes(push: PlatformService) -> None:
    app = application(push, "phones", "APNS_SANDBOX")
    arn = endpoint(push, app, CustomUserData="user 7")
    prefix = f"arn:aws:sns:{REGION}:{push.account}:endpoint/APNS_SANDBOX/phones/"
    assert arn.startswith(prefix) and len(arn) > len(prefix)
    attributes = push.get_endpoint_attributes(EndpointArn=arn)["Attributes"]
    assert attributes == {"Enabled": "true", "Token": "token-1", "CustomUserData": "user 7"}


def test_create_platform_endpoint_is_idempotent_on_the_same_token_and_attributes(push: PlatformService) -> None:
    app = application(push)
    arn = endpoint(push, app)
    assert endpoint(push, app, Attributes={"Enabled": "true"}) == arn
    assert refused(push.create_platform_endpoint, PlatformApplicationArn=app, Token="token-1", CustomUserData="x") == (
        "InvalidParameter",
        f"Invalid parameter: Token Reason: Endpoint {arn} already exists with the same Token, but different attributes.",
        400,
    )
    assert endpoint(push, app, "token-2") != arn


def test_set_endpoint_attributes(push: PlatformService) -> None:
    arn = endpoint(push, application(push))
    push.set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "false", "Token": "t2", "CustomUserData": "u"})
    assert push.get_endpoint_attributes(EndpointArn=arn)["Attributes"] == {
        "Enabled": "false",
        "Token": "t2",
        "CustomUserData": "u",
    }
    assert refused(push.set_endpoint_attributes, EndpointArn=arn, Attributes={"Enabled": "yes"}) == (
        "InvalidParameter",
        "Invalid parameter: Attributes Reason: Invalid value for attribute: Enabled",
        400,
    )
    assert refused(push.get_endpoint_attributes, EndpointArn=arn.rsplit("/", 1)[0]) == (
        "InvalidParameter",
        "Invalid parameter: EndpointArn Reason: Wrong number of slashes in relative portion of the ARN.",
        400,
    )


def test_endpoints_are_listed_page_by_page_and_deleted_idempotently(push: PlatformService) -> None:
    app, other = application(push), application(push, "other")
    made = sorted(endpoint(push, app, f"token-{i}") for i in range(101))
    endpoint(push, other)
    first = push.list_endpoints_by_platform_application(PlatformApplicationArn=app)
    second = push.list_endpoints_by_platform_application(PlatformApplicationArn=app, NextToken=first["NextToken"])
    assert [e["EndpointArn"] for e in first["Endpoints"] + second["Endpoints"]] == made
    assert second["Endpoints"][0]["Attributes"]["Enabled"] == "true"
    push.delete_endpoint(EndpointArn=made[0])
    push.delete_endpoint(EndpointArn=made[0])
    assert refused(push.get_endpoint_attributes, EndpointArn=made[0]) == ("NotFound", "Endpoint does not exist", 404)


def test_deleting_an_application_deletes_its_endpoints(push: PlatformService) -> None:
    app = application(push)
    arn = endpoint(push, app)
    push.delete_platform_application(PlatformApplicationArn=app)
    push.delete_platform_application(PlatformApplicationArn=app)
    assert refused(push.get_endpoint_attributes, EndpointArn=arn)[0] == "NotFound"
    assert refused(push.list_endpoints_by_platform_application, PlatformApplicationArn=app) == (
        "NotFound",
        "PlatformApplication does not exist",
        404,
    )
    assert push.list_platform_applications()["PlatformApplications"] == []


def test_applications_and_endpoints_outlive_a_restart_with_the_credential_sealed(tmp_path: Path) -> None:
    account = str(next(_accounts))
    with Trailbridge(tmp_path) as tb:
        push = PlatformService(tb.engine, account, REGION)
        app = application(push)
        arn = endpoint(push, app, CustomUserData="kept")
        answers = [
            push.get_platform_application_attributes(PlatformApplicationArn=app),
            push.list_platform_applications(),
        ]
    database = (tmp_path / "trailbridge.sqlite3").read_bytes()
    assert CREDENTIAL.encode() not in database and PRINCIPAL.encode() not in database
    assert all(CREDENTIAL not in repr(answer) and PRINCIPAL not in repr(answer) for answer in answers)
    with Trailbridge(tmp_path) as tb:
        push = PlatformService(tb.engine, account, REGION)
        assert push.get_endpoint_attributes(EndpointArn=arn)["Attributes"]["CustomUserData"] == "kept"
        doc = tb.engine.resources.get(app)
        assert doc is not None
        assert tb.engine.secrets.open(doc["SealedCredentials"])["PlatformCredential"] == CREDENTIAL
        assert application(push) == app  # the same credential, opened after the restart: the same application
