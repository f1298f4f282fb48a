"""Who holds a temporary session, as CloudTrail writes it in a record's `userIdentity`: plain values and their
CloudTrail form, with no moto in them (moto's STS sessions and the sessions trailbridge issues for function roles
are written alike)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class AssumedRole:
    """A session moto's STS issued by AssumeRole (or its SAML / web-identity variants)."""

    account: str
    role_arn: str
    role_id: str | None  # None when the role does not exist in moto's IAM
    session_name: str
    created: datetime


@dataclass(frozen=True)
class Identity:
    """The account a key belongs to and the CloudTrail `userIdentity` of its holder."""

    account: str
    user_identity: dict[str, Any]


def iso(moment: datetime) -> str:
    """CloudTrail's timestamp form: ISO 8601 in UTC with a Z, whole seconds."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stable_id(prefix: str, text: str) -> str:
    """An AWS-style unique id (`AROA` + 17 characters), the same for the same text."""
    return prefix + hashlib.sha256(text.encode()).hexdigest()[:17].upper()


def attributes(created: datetime) -> dict[str, str]:
    return {"creationDate": iso(created), "mfaAuthenticated": "false"}


def assumed_role_identity(role: AssumedRole, access_key: str) -> Identity:
    """An AssumeRole session. moto lets a role that does not exist be assumed; its id is then derived from
    its ARN, so the same session always has the same principalId."""
    name = role.role_arn.rsplit("/", 1)[-1]
    role_id = role.role_id or stable_id("AROA", role.role_arn)
    partition = role.role_arn.split(":")[1]
    issuer = {"type": "Role", "principalId": role_id, "arn": role.role_arn, "accountId": role.account}
    return Identity(
        role.account,
        {
            "type": "AssumedRole",
            "principalId": f"{role_id}:{role.session_name}",
            "arn": f"arn:{partition}:sts::{role.account}:assumed-role/{name}/{role.session_name}",
            "accountId": role.account,
            "accessKeyId": access_key,
            "sessionContext": {"sessionIssuer": {**issuer, "userName": name}, "attributes": attributes(role.created)},
        },
    )
