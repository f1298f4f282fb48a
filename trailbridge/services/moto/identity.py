"""Who holds a temporary key moto's STS issued, as CloudTrail writes it in a record's `userIdentity`.

`IssuedKeys` learns each key from the answer that issues it, so that looking a key up later touches
neither moto nor its lock (the server asks on every request, on its event loop). AssumeRole's holder is
read from moto's STS then. GetSessionToken and GetFederationToken moto answers with the same example key
every time (AKIAIOSFODNN7EXAMPLE, which many clients also use as a dummy long-term key) and remembers
nothing, so those answers get a fresh ASIA key registered in moto's IAM instead.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from trailbridge.services.identities import Identity, assumed_role_identity, attributes
from trailbridge.services.moto.backends import Principal, assumed_role, new_temporary_key, principal


def _principal_fields(holder: Principal) -> dict[str, str]:
    """type, principalId, arn, accountId (and userName) of an IAM user or of the account's root."""
    if holder.user_name is None:
        return {"type": "Root", "principalId": holder.account, "arn": holder.arn, "accountId": holder.account}
    fields = {"type": "IAMUser", "principalId": str(holder.user_id), "arn": holder.arn, "accountId": holder.account}
    return {**fields, "userName": holder.user_name}


def session_identity(holder: Principal, access_key: str, created: datetime) -> Identity:
    """A GetSessionToken key: its holder's own identity, with the session's attributes."""
    fields = {**_principal_fields(holder), "accessKeyId": access_key}
    return Identity(holder.account, {**fields, "sessionContext": {"attributes": attributes(created)}})


def federated_identity(holder: Principal, name: str, access_key: str, created: datetime) -> Identity:
    """A GetFederationToken key: the federated user, issued by the caller's IAM user (or root)."""
    partition = holder.arn.split(":")[1]
    context = {"sessionIssuer": _principal_fields(holder), "attributes": attributes(created)}
    return Identity(
        holder.account,
        {
            "type": "FederatedUser",
            "principalId": f"{holder.account}:{name}",
            "arn": f"arn:{partition}:sts::{holder.account}:federated-user/{name}",
            "accountId": holder.account,
            "accessKeyId": access_key,
            "sessionContext": context,
        },
    )


class IssuedKeys:
    """The temporary keys moto's STS issued through the bridge, with their holders, by access key id."""

    ROLES = frozenset({"AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"})
    TOKENS = frozenset({"GetSessionToken", "GetFederationToken"})
    OPERATIONS = ROLES | TOKENS | {"GetCallerIdentity"}

    def __init__(self) -> None:
        self._keys: dict[str, Identity] = {}  # written under moto's lock, read without it (one dict get)

    def get(self, access_key: str) -> Identity | None:
        """A copy: the caller may change its record's userIdentity without changing the key's."""
        found = self._keys.get(access_key)
        return None if found is None else Identity(found.account, copy.deepcopy(found.user_identity))

    def amend(self, operation: str, result: dict[str, Any], caller_key: str, account: str, region: str) -> None:
        """Learn the key in moto's successful answer `result` of one of `OPERATIONS` (a token's own key
        first), and answer GetCallerIdentity for a token's holder, whom moto does not know. Call with moto's
        lock held."""
        if operation in self.ROLES:
            self._learn_role(result["Credentials"]["AccessKeyId"])
        elif operation in self.TOKENS:
            self._issue(operation, result, caller_key, account, region)
        else:
            self._caller(result, caller_key)

    def _learn_role(self, key: str) -> None:
        role = assumed_role(key)
        if role is not None:
            self._keys[key] = assumed_role_identity(role, key)

    def _caller(self, result: dict[str, Any], caller_key: str) -> None:
        known = self._keys.get(caller_key)
        if known is not None and known.user_identity["type"] != "AssumedRole":  # moto knows its sessions
            who = known.user_identity
            result.update(UserId=who["principalId"], Account=known.account, Arn=who["arn"])

    def _issue(self, operation: str, result: dict[str, Any], caller_key: str, account: str, region: str) -> None:
        key, secret = new_temporary_key(account, region)
        result["Credentials"].update(AccessKeyId=key, SecretAccessKey=secret)
        holder, now = principal(caller_key, account, region), datetime.now(UTC)
        if operation == "GetSessionToken":
            self._keys[key] = session_identity(holder, key, now)
        else:
            name = result["FederatedUser"]["FederatedUserId"].split(":", 1)[-1]
            self._keys[key] = federated_identity(holder, name, key, now)


ISSUED_KEYS = IssuedKeys()  # process-wide, as moto's own state is
