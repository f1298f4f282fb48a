"""A bucket policy checked as S3 checks one on PutBucketPolicy, with S3's MalformedPolicy messages: JSON
whose first byte is `{`, at most 20 KB, a known Version, and statements each with an Effect, a Principal,
S3 actions and resources of this very bucket (`arn:aws:s3:::bucket`, `arn:aws:s3:::bucket/...`), where an
object action has an object resource and a bucket action the bucket's."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from trailbridge.services.s3.common import is_public_statement, s3_error

MAX_POLICY_BYTES = 20 * 1024
_VERSIONS = ("2012-10-17", "2008-10-17")
_ACCOUNT = re.compile(r"\d{12}")
_PRINCIPAL_ARN = re.compile(r"arn:aws[\w-]*:(iam|sts)::(\d{12}|aws):.+")
_WILD = re.compile(r"[*?]")
_BUCKET_LEVEL_OBJECT_WORDS = ("objectlockconfiguration",)
_OBJECT_ACTIONS = ("abortmultipartupload", "listmultipartuploadparts", "restoreobject")


def _malformed(message: str) -> Exception:
    return s3_error("MalformedPolicy", message)


def parsed_policy(text: str, bucket: str) -> dict[str, Any]:
    """The policy document, once it is one S3 takes for `bucket`."""
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise _malformed("Policies must be less than 20 KB")
    try:
        document = orjson.loads(text) if text.lstrip().startswith("{") else None
    except orjson.JSONDecodeError:
        document = None
    if not isinstance(document, dict):
        raise _malformed("Policies must be valid JSON and the first byte must be '{'")
    if "Version" in document and document["Version"] not in _VERSIONS:
        raise _malformed("The policy must contain a valid version string")
    statements = document.get("Statement")
    statements = [statements] if isinstance(statements, Mapping) else statements
    if not statements or not isinstance(statements, list):
        raise _malformed("Missing required field Statement")
    for statement in statements:
        _check_statement(statement, bucket)
    return document


def _check_statement(statement: Any, bucket: str) -> None:
    if not isinstance(statement, Mapping):
        raise _malformed("Invalid policy syntax.")
    if statement.get("Effect") not in ("Allow", "Deny"):
        raise _malformed(
            f"Invalid effect: {statement.get('Effect')}" if "Effect" in statement else "Missing required field Effect"
        )
    principal = statement.get("Principal", statement.get("NotPrincipal"))
    if principal is None:
        raise _malformed("Missing required field Principal")
    if not _valid_principal(principal):
        raise _malformed("Invalid principal in policy")
    actions = _strings(statement, "Action", "NotAction")
    if any(a != "*" and not a.lower().startswith("s3:") for a in actions):
        raise _malformed("Policy has invalid action")
    resources = _strings(statement, "Resource", "NotResource")
    if any(not _of_bucket(r, bucket) for r in resources):
        raise _malformed("Policy has invalid resource")
    if (
        "Action" in statement
        and "Resource" in statement
        and not any(_applies(a, r) for a in actions for r in resources)
    ):
        raise _malformed("Action does not apply to any resource(s) in statement")


def _strings(statement: Mapping[str, Any], key: str, negated: str) -> list[str]:
    value = statement.get(key, statement.get(negated))
    if value is None:
        raise _malformed(f"Missing required field {key}")
    listed = value if isinstance(value, list) else [value]
    if not listed or not all(isinstance(v, str) and v for v in listed):
        raise _malformed("Invalid policy syntax.")
    return listed


def _valid_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping) or not principal:
        return False
    for kind, value in principal.items():
        listed = value if isinstance(value, list) else [value]
        if kind not in ("AWS", "Service", "CanonicalUser", "Federated") or not all(isinstance(v, str) for v in listed):
            return False
        if kind == "AWS" and not all(v == "*" or _ACCOUNT.fullmatch(v) or _PRINCIPAL_ARN.fullmatch(v) for v in listed):
            return False
    return True


def _of_bucket(resource: str, bucket: str) -> bool:
    """Whether a resource names this bucket or objects of it (wildcards may stand for parts of its name)."""
    if not resource.startswith("arn:aws:s3:::"):
        return False
    name = resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
    pattern = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in name)
    return re.fullmatch(pattern, bucket) is not None


def _is_object_action(action: str) -> bool:
    name = action.lower().removeprefix("s3:")
    return ("object" in name and not name.endswith(_BUCKET_LEVEL_OBJECT_WORDS)) or name in _OBJECT_ACTIONS


def _applies(action: str, resource: str) -> bool:
    """Whether an action acts on the kind of resource (bucket or object) named; a wildcard acts on both."""
    if _WILD.search(action):
        return True
    on_object = "/" in resource.removeprefix("arn:aws:s3:::")
    return _is_object_action(action) == on_object


def is_public(document: Mapping[str, Any]) -> bool:
    statements = document.get("Statement")
    statements = [statements] if isinstance(statements, Mapping) else statements or []
    return any(isinstance(s, Mapping) and is_public_statement(s) for s in statements)
