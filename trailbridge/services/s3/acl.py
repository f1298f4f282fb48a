"""Access control lists as S3 keeps them: a canned ACL (`x-amz-acl`), `x-amz-grant-*` headers or an
AccessControlPolicy become one document `{"Owner": ..., "Grants": [...]}`, which GetBucketAcl returns.

trailbridge stores ACLs and answers them; it does not grant by them (another account acts only where the
bucket policy allows). S3's guards on them are kept: a bucket whose ObjectOwnership is BucketOwnerEnforced
(the default since 2023) takes no ACL but the owner's full control, and BlockPublicAcls refuses one that
grants everyone or every AWS user.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trailbridge.services.s3.common import canonical_id, owner, s3_error

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
_PUBLIC_GROUPS = (ALL_USERS, AUTHENTICATED_USERS)
ENFORCED = "BucketOwnerEnforced"

# canned ACL -> the grants it adds to the owner's FULL_CONTROL: (group URI, permission)
_CANNED: dict[str, tuple[tuple[str, str], ...]] = {
    "private": (),
    "public-read": ((ALL_USERS, "READ"),),
    "public-read-write": ((ALL_USERS, "READ"), (ALL_USERS, "WRITE")),
    "authenticated-read": ((AUTHENTICATED_USERS, "READ"),),
    "log-delivery-write": ((LOG_DELIVERY, "WRITE"), (LOG_DELIVERY, "READ_ACP")),
    "aws-exec-read": (),
    "bucket-owner-read": (),
    "bucket-owner-full-control": (),
}
_GRANT_HEADERS = {
    "GrantFullControl": "FULL_CONTROL",
    "GrantRead": "READ",
    "GrantReadACP": "READ_ACP",
    "GrantWrite": "WRITE",
    "GrantWriteACP": "WRITE_ACP",
}
_GRANTEE_KINDS = {
    "id": ("CanonicalUser", "ID"),
    "uri": ("Group", "URI"),
    "emailaddress": ("AmazonCustomerByEmail", "EmailAddress"),
}


def _group(uri: str, permission: str) -> dict[str, Any]:
    return {"Grantee": {"Type": "Group", "URI": uri}, "Permission": permission}


def owner_grant(account: str) -> dict[str, Any]:
    return {"Grantee": {"Type": "CanonicalUser", "ID": canonical_id(account)}, "Permission": "FULL_CONTROL"}


def canned(account: str, name: str = "private") -> dict[str, Any]:
    """The ACL document of a canned ACL on a resource `account` owns."""
    grants = [owner_grant(account), *(_group(uri, permission) for uri, permission in _CANNED[name])]
    return {"Owner": owner(account), "Grants": grants}


def from_request(account: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ACL a request sets (ACL, Grant* or AccessControlPolicy), or None when it sets none. S3 takes one
    way of giving it: a canned ACL with grant headers is refused."""
    headers = {name: params[name] for name in _GRANT_HEADERS if params.get(name)}
    if params.get("ACL") and headers:
        raise s3_error("InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed")
    if params.get("ACL"):
        return canned(account, params["ACL"])
    if headers:
        grants = [grant for name, text in headers.items() for grant in _header_grants(text, _GRANT_HEADERS[name])]
        return {"Owner": owner(account), "Grants": grants}
    policy = params.get("AccessControlPolicy")
    return _policy_acl(account, policy) if policy is not None else None


def _header_grants(text: str, permission: str) -> list[dict[str, Any]]:
    """`id="...", uri="..."` (an x-amz-grant-* header) as grants of `permission`."""
    grants = []
    for item in text.split(","):
        kind, _, value = item.strip().partition("=")
        found = _GRANTEE_KINDS.get(kind.strip().lower())
        if found is None or not value:
            raise s3_error("InvalidArgument", f"Invalid grantee: {item.strip()}", ArgumentName=kind.strip())
        grantee_type, member = found
        grantee = {"Type": grantee_type, member: value.strip().strip('"')}
        grants.append({"Grantee": grantee, "Permission": permission})
    return grants


def _policy_acl(account: str, policy: Mapping[str, Any]) -> dict[str, Any]:
    grants = [dict(grant) for grant in policy.get("Grants") or []]
    for grant in grants:
        grantee = grant.get("Grantee") or {}
        kind = grantee.get("Type")
        if (kind == "CanonicalUser" and not grantee.get("ID")) or (kind == "Group" and not grantee.get("URI")):
            raise s3_error(
                "MalformedACLError",
                "The XML you provided was not well-formed or did not validate against our published schema",
            )
        if kind == "Group" and grantee["URI"] not in (*_PUBLIC_GROUPS, LOG_DELIVERY):
            raise s3_error("InvalidArgument", "Invalid group uri", ArgumentName="uri", ArgumentValue=grantee["URI"])
    return {"Owner": owner(account), "Grants": grants}


def is_public(acl: Mapping[str, Any]) -> bool:
    """Whether an ACL grants everyone, or every AWS account (S3's test for BlockPublicAcls)."""
    return any((g.get("Grantee") or {}).get("URI") in _PUBLIC_GROUPS for g in acl.get("Grants") or [])


def only_owner(acl: Mapping[str, Any], account: str) -> bool:
    """Whether an ACL grants nothing beyond the owner's full control (all a BucketOwnerEnforced bucket takes)."""
    return all(grant == owner_grant(account) for grant in acl.get("Grants") or [])


def check_allowed(acl: Mapping[str, Any], account: str, config: Mapping[str, Any]) -> None:
    """Refuse an ACL the bucket's configuration forbids: any but the owner's full control when ACLs are
    disabled (BucketOwnerEnforced), a public one under BlockPublicAcls."""
    ownership = (config.get("ownership") or {}).get("ObjectOwnership", ENFORCED)
    if ownership == ENFORCED and not only_owner(acl, account):
        raise s3_error("AccessControlListNotSupported", "The bucket does not allow ACLs")
    if is_public(acl) and (config.get("publicAccessBlock") or {}).get("BlockPublicAcls"):
        raise s3_error("AccessDenied", "Access Denied", 403)
