"""What every S3 service class shares: the `s3_operation` mark, finding a bucket once the caller may act on
it, S3's errors with the fields it names them by, owners, quoted ETags and timestamps.

A bucket belongs to the account that created it. S3's ARNs (`arn:aws:s3:::bucket/key`) name no account, so
the owner comes from the bucket's row; every other account acts only where the bucket policy allows it, and
the decision is the one authorization point's (`domain/access.py`).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import unquote

from trailbridge.domain.access import Access, authorize, statements_of
from trailbridge.errors import AccessDeniedError, InvalidInputError, NotFoundError, TrailbridgeError
from trailbridge.services.base import Engine, ServiceError, operation
from trailbridge.storage.ports import Bucket, StoredObject

US_EAST_1 = "us-east-1"  # the region whose buckets have no location constraint
_NO_BUCKET = "The specified bucket does not exist"
# S3 has no ValidationException: a request that breaks the model is an InvalidArgument.
_S3_CODES: dict[type[TrailbridgeError], str] = {InvalidInputError: "InvalidArgument"}
F = TypeVar("F", bound=Callable[..., Any])
# request parameter -> the S3 condition key it sets
_CONDITION_KEYS = {
    "ACL": "s3:x-amz-acl",
    "ServerSideEncryption": "s3:x-amz-server-side-encryption",
    "SSEKMSKeyId": "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "StorageClass": "s3:x-amz-storage-class",
    "CopySource": "s3:x-amz-copy-source",
    "MetadataDirective": "s3:x-amz-metadata-directive",
    "Prefix": "s3:prefix",
    "Delimiter": "s3:delimiter",
    "MaxKeys": "s3:max-keys",
    "VersionId": "s3:VersionId",
}


def s3_operation(name: str, field_codes: Mapping[str, str] | None = None) -> Callable[[F], F]:
    """`@operation` for an S3 operation, with S3's code for a request that breaks the model, and S3's check of
    ExpectedBucketOwner and ExpectedSourceBucketOwner (a caller's guard against writing to, or reading from,
    a bucket another account owns): AccessDenied when the bucket's owner is another."""

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def checked(self: S3Service, **params: Any) -> Any:
            self.conditions = condition_keys(self.account, params)
            _check_expected_owner(self, params.get("Bucket"), params.get("ExpectedBucketOwner"))
            if params.get("ExpectedSourceBucketOwner") and params.get("CopySource"):
                source = unquote(str(params["CopySource"]).partition("?")[0]).lstrip("/").partition("/")[0]
                _check_expected_owner(self, source, params["ExpectedSourceBucketOwner"])
            try:
                return method(self, **params)
            except NotFoundError:  # the store's word for a bucket deleted while the request ran
                raise no_such_bucket(str(params.get("Bucket"))) from None

        return operation("s3", name, _S3_CODES, field_codes)(checked)  # type: ignore[return-value]

    return decorate


def condition_keys(account: str, params: Mapping[str, Any]) -> dict[str, str]:
    """The condition keys a request carries into the bucket policy's conditions (`s3:prefix`,
    `s3:x-amz-server-side-encryption`, ...); a key S3 sets but trailbridge cannot know (aws:SecureTransport,
    aws:SourceIp) is absent, so a condition on it holds only as `...IfExists`."""
    keys = {"aws:PrincipalAccount": account, "aws:PrincipalArn": f"arn:aws:iam::{account}:root"}
    return keys | {key: str(params[name]) for name, key in _CONDITION_KEYS.items() if params.get(name) is not None}


def _check_expected_owner(service: S3Service, name: str | None, expected: str | None) -> None:
    found = service.objects.bucket(name) if name and expected else None
    if found is not None and found.account != expected:
        raise s3_error("AccessDenied", "Access Denied", 403)


def s3_error(code: str, message: str, status: int = 400, **fields: Any) -> ServiceError:
    """An S3 error with the members S3 writes beside Code and Message (BucketName, Key, ...)."""
    return ServiceError(code, message, status, {name: str(value) for name, value in fields.items()})


def no_such_bucket(name: str) -> ServiceError:
    return s3_error("NoSuchBucket", _NO_BUCKET, 404, BucketName=name)


def no_such_key(key: str) -> ServiceError:
    return s3_error("NoSuchKey", "The specified key does not exist.", 404, Key=key)


def bucket_arn(name: str, key: str | None = None) -> str:
    return f"arn:aws:s3:::{name}" if key is None else f"arn:aws:s3:::{name}/{key}"


def canonical_id(account: str) -> str:
    """The canonical user id S3 shows for an account (64 hex digits, stable for the account)."""
    return hashlib.sha256(f"trailbridge-s3:{account}".encode()).hexdigest()


def owner(account: str) -> dict[str, str]:
    """An Owner as S3 answers it now (without DisplayName, which S3 no longer returns)."""
    return {"ID": canonical_id(account)}


def quoted(etag: str) -> str:
    return f'"{etag}"'


def unquoted(etag: str) -> str:
    return etag.strip().removeprefix('"').removesuffix('"')


def epoch(value: Any) -> float:
    """A timestamp parameter (a datetime as boto3 and the protocols give it, or epoch seconds) in seconds."""
    return value.timestamp() if isinstance(value, datetime) else float(value)


def is_public_statement(statement: Mapping[str, Any]) -> bool:
    """Whether a policy statement grants everyone: an Allow to the `*` principal with no condition to narrow it
    (S3 counts a few fixed-value conditions as narrowing too; trailbridge counts any condition)."""
    principal = statement.get("Principal")
    aws = principal.get("AWS") if isinstance(principal, Mapping) else None
    everyone = principal == "*" or aws == "*" or (isinstance(aws, list) and "*" in aws)
    return statement.get("Effect") == "Allow" and everyone and not statement.get("Condition")


class S3Service:
    """The base of S3's service classes: the caller's account and region, the buckets they reach."""

    def __init__(self, engine: Engine, account: str, region: str) -> None:
        self.engine, self.account, self.region = engine, account, region
        self.objects = engine.objects
        self.conditions: dict[str, str] = condition_keys(account, {})  # the current request's (s3_operation)

    def bucket(self, name: str, action: str, key: str | None = None) -> Bucket:
        """The bucket `name`, once the caller may do `action` on it (or on its object `key`): NoSuchBucket
        (404) when there is none, AccessDenied (403) when the caller's account is not the owner's and the
        bucket policy does not allow it."""
        found = self.objects.bucket(name)
        if found is None:
            raise no_such_bucket(name)
        self.authorize(found, action, key)
        return found

    def stored(self, bucket: Bucket, key: str, version: str | None = None) -> StoredObject:
        """The object `key` of a bucket the caller may read it from. A missing one is NoSuchKey (404) only to a
        caller that may list the bucket; to another it is AccessDenied (403), so that absence is not told."""
        if version not in (None, "null"):
            raise s3_error("NoSuchVersion", "The specified version does not exist.", 404, Key=key, VersionId=version)
        item = self.objects.head(bucket.name, key)
        if item is None:
            self.authorize(bucket, "s3:ListBucket")
            raise no_such_key(key)
        return item

    def authorize(self, bucket: Bucket, action: str, key: str | None = None) -> None:
        mine = bucket.account == self.account
        # An S3 ARN names no account (owner_of gives ""): the owner is told by the bucket row, as an owner.
        owners = frozenset({""}) if mine else frozenset()
        access = Access(self.account, action, bucket_arn(bucket.name, key), context=self.conditions, owners=owners)
        try:
            authorize(access, self._policy_for(bucket, mine))
        except AccessDeniedError as exc:
            raise s3_error("AccessDenied", exc.message, 403) from None

    def _policy_for(self, bucket: Bucket, mine: bool) -> dict[str, Any] | str | None:
        """The bucket policy as it counts for this caller: with RestrictPublicBuckets, statements that grant
        everyone grant no other account (S3 limits them to the owner's account and AWS services)."""
        policy = bucket.config.get("policy")
        block = bucket.config.get("publicAccessBlock") or {}
        if mine or not policy or not block.get("RestrictPublicBuckets"):
            return policy
        return {"Statement": [s for s in statements_of(policy) if not is_public_statement(s)]}
