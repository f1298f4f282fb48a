"""What SNS checks in mobile push's requests, in SNS's words: a platform application's name, platform and
attributes, an endpoint's attributes, and the ARNs of both (`app/PLATFORM/NAME`, `endpoint/PLATFORM/NAME/ID`).

Kept apart from `platform.py` so the service reads as the operations' flow, and these rules as one list."""

from __future__ import annotations

import re

from trailbridge.services.base import ServiceError
from trailbridge.services.sns.common import arn_parts, invalid_parameter

PLATFORMS = frozenset({"ADM", "APNS", "APNS_SANDBOX", "BAIDU", "GCM", "MPNS", "WNS"})
# Never stored in clear nor answered: the key (PlatformCredential) and what it belongs to (PlatformPrincipal,
# an SSL certificate or a client id), which GetPlatformApplicationAttributes does not return either.
SEALED = ("PlatformCredential", "PlatformPrincipal")
_TOPICS = frozenset({"EventEndpointCreated", "EventEndpointDeleted", "EventEndpointUpdated", "EventDeliveryFailure"})
_ROLES = frozenset({"SuccessFeedbackRoleArn", "FailureFeedbackRoleArn"})
_PLAIN = frozenset({"SuccessFeedbackSampleRate", "ApplePlatformTeamID", "ApplePlatformBundleID"})
APPLICATION_ATTRIBUTES = frozenset(SEALED) | _TOPICS | _ROLES | _PLAIN
ENDPOINT_ATTRIBUTES = frozenset({"Enabled", "Token", "CustomUserData"})
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_TOPIC_ARN = re.compile(r"arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")
_ROLE_ARN = re.compile(r"arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+")
_MOST_USER_DATA = 2048


def null_attributes() -> ServiceError:
    """An empty map is no map on the wire (the query protocol sends no entry), so SNS calls it null."""
    return ServiceError(
        "ValidationError",
        "1 validation error detected: Value null at 'attributes' failed to satisfy constraint: Member must not be null",
    )


def check_application(name: str, platform: str) -> None:
    if not name:
        raise invalid_parameter(" Reason: cannot be empty")
    if len(name) > 256:
        raise invalid_parameter(f"{name} Reason: must be at most 256 characters long")
    if not _NAME.fullmatch(name):
        raise invalid_parameter(
            f"{name} Reason: must contain only characters 'a'-'z', 'A'-'Z', '0'-'9', '_', '-', and '.'"
        )
    if platform not in PLATFORMS:
        raise invalid_parameter(f"Platform Reason: {platform} is not supported")


def check_credentials(platform: str, given: dict[str, str]) -> None:
    """At creation: FCM (GCM) needs its server key; the others take a principal and a credential together."""
    has_principal, has_credential = "PlatformPrincipal" in given, "PlatformCredential" in given
    if platform == "GCM" and not has_credential:
        raise invalid_parameter("Attributes Reason: PlatformCredential attribute required")
    if has_principal and not has_credential:
        raise invalid_parameter("Attributes Reason: PlatformPrincipal attribute provided without PlatformCredential")
    if has_credential and not has_principal and platform != "GCM":
        raise invalid_parameter("Attributes Reason: PlatformCredential attribute provided without PlatformPrincipal")


def check_application_attributes(given: dict[str, str]) -> None:
    for name, value in given.items():
        if name not in APPLICATION_ATTRIBUTES:
            raise invalid_parameter(f"Attributes Reason: Invalid attribute name: {name}")
        if value and not _fits(name, value):
            raise invalid_parameter(f"Attributes Reason: Invalid value for attribute: {name}")


def _fits(name: str, value: str) -> bool:
    if name in _TOPICS:
        return bool(_TOPIC_ARN.fullmatch(value))
    if name in _ROLES:
        return bool(_ROLE_ARN.fullmatch(value))
    if name == "SuccessFeedbackSampleRate":
        return value.isdigit() and int(value) <= 100
    return True


def check_endpoint_attributes(given: dict[str, str]) -> None:
    for name, value in given.items():
        if name not in ENDPOINT_ATTRIBUTES:
            raise invalid_parameter(f"Attributes Reason: Invalid attribute name: {name}")
        if name == "Enabled" and value not in ("true", "false"):
            raise invalid_parameter("Attributes Reason: Invalid value for attribute: Enabled")
        if name == "CustomUserData":
            check_user_data(value)


def check_user_data(value: str) -> None:
    if len(value.encode()) > _MOST_USER_DATA:
        raise invalid_parameter(
            "Attributes Reason: Invalid value for attribute: CustomUserData: must be at most 2048 bytes long in "
            "UTF-8 encoding"
        )


def check_arn(arn: str, parameter: str, resource: str, slashes: int) -> None:
    """An application's (`app/`, two slashes) or endpoint's (`endpoint/`, three) ARN, refused as SNS does."""
    parts = arn_parts(arn, parameter)
    relative = ":".join(parts[5:])
    if not relative.startswith(resource + "/") or relative.count("/") != slashes:
        raise invalid_parameter(f"{parameter} Reason: Wrong number of slashes in relative portion of the ARN.")
