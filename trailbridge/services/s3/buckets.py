"""S3's buckets: CreateBucket, ListBuckets, HeadBucket, DeleteBucket, GetBucketLocation.

Bucket names are global: whatever the account, one name is one bucket. A bucket is created as S3 creates
one since April 2023: ACLs disabled (ObjectOwnership BucketOwnerEnforced) and every Block Public Access
setting on, unless the request says otherwise.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from typing import Any

from trailbridge.services.base import timestamp
from trailbridge.services.s3 import acl
from trailbridge.services.s3.common import US_EAST_1, S3Service, no_such_bucket, owner, s3_error, s3_operation
from trailbridge.services.s3.configuration import checked_tags
from trailbridge.storage.ports import Bucket

_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_INCOMPATIBLE = "location constraint is incompatible for the region specific endpoint this request was sent to."
_BLOCK_ALL = dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True)
_LEGACY_LOCATIONS = {"EU": "eu-west-1"}
_MOST_BUCKETS = 10_000
_BAD_LOCATION = "InvalidLocationConstraint"  # a constraint naming no region S3 knows (us-east-1 included)


def valid_bucket_name(name: str) -> bool:
    """S3's rules for a general purpose bucket's name: 3-63 lowercase letters, digits, dots and hyphens,
    beginning and ending with a letter or digit, no two dots together, not an IP address, none of the
    prefixes and suffixes S3 keeps for itself."""
    if not _NAME.fullmatch(name) or ".." in name or name.startswith(_RESERVED_PREFIXES):
        return False
    if name.endswith(_RESERVED_SUFFIXES):
        return False
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return True
    return False


class BucketsService(S3Service):
    @s3_operation("CreateBucket", field_codes={"createBucketConfiguration.locationConstraint": _BAD_LOCATION})
    def create_bucket(self, **params: Any) -> dict[str, Any]:
        name = params["Bucket"]
        if not valid_bucket_name(name):
            raise s3_error("InvalidBucketName", "The specified bucket is not valid.", BucketName=name)
        region = self._location(params.get("CreateBucketConfiguration") or {})
        config = self._initial_config(params)
        existing = self.objects.bucket(name)
        if existing is None and self.objects.create_bucket(
            Bucket(name, self.account, region, self.engine.clock.now(), config)
        ):
            return {"Location": _location_of(name, region)}
        return self._recreate(existing or self.objects.bucket(name), name, config)

    def _location(self, configuration: dict[str, Any]) -> str:
        """The region the bucket goes to: the request's, which a LocationConstraint must name, except at
        us-east-1 (the global endpoint), which takes a constraint of any other region and none of its own."""
        constraint = configuration.get("LocationConstraint")
        if self.region == US_EAST_1:
            if constraint == US_EAST_1:
                raise s3_error(
                    "InvalidLocationConstraint",
                    "The specified location-constraint is not valid",
                    LocationConstraint=constraint,
                )
            return _LEGACY_LOCATIONS.get(constraint, constraint) if constraint else US_EAST_1
        if not constraint:
            raise s3_error("IllegalLocationConstraintException", f"The unspecified {_INCOMPATIBLE}")
        if _LEGACY_LOCATIONS.get(constraint, constraint) != self.region:
            raise s3_error("IllegalLocationConstraintException", f"The {constraint} {_INCOMPATIBLE}")
        return str(self.region)

    def _initial_config(self, params: dict[str, Any]) -> dict[str, Any]:
        """The configuration a new bucket starts with: S3's defaults, the ACL and the tags the request gives,
        and Object Lock (which turns versioning on) when asked for."""
        ownership = params.get("ObjectOwnership") or acl.ENFORCED
        config: dict[str, Any] = {"ownership": {"ObjectOwnership": ownership}, "publicAccessBlock": dict(_BLOCK_ALL)}
        tags = (params.get("CreateBucketConfiguration") or {}).get("Tags")
        if tags:
            config["tagging"] = {"TagSet": checked_tags(tags)}
        if params.get("ObjectLockEnabledForBucket"):
            config |= {"objectLock": {"ObjectLockEnabled": "Enabled"}, "versioning": {"Status": "Enabled"}}
        document = acl.from_request(self.account, params)
        if document is not None:
            if ownership == acl.ENFORCED and not acl.only_owner(document, self.account):
                raise s3_error(
                    "InvalidBucketAclWithObjectOwnership",
                    "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
                )
            if acl.is_public(document):
                raise s3_error(
                    "InvalidBucketAclWithBlockPublicAccessError",
                    "Bucket cannot have public ACLs set with BlockPublicAccess enabled",
                )
            config["acl"] = document
        return config

    def _recreate(self, existing: Bucket | None, name: str, config: dict[str, Any]) -> dict[str, Any]:
        """A name already taken: another account's is BucketAlreadyExists; the caller's own is
        BucketAlreadyOwnedByYou, except in us-east-1, where S3 answers 200 and resets the bucket's ACL."""
        if existing is None:  # deleted meanwhile
            raise s3_error(
                "OperationAborted",
                "A conflicting conditional operation is currently in progress against this resource. Please try again.",
                409,
            )
        if existing.account != self.account:
            raise s3_error(
                "BucketAlreadyExists",
                "The requested bucket name is not available. The bucket namespace is shared by all users of the "
                "system. Please select a different name and try again.",
                409,
                BucketName=name,
            )
        if existing.region != US_EAST_1 or self.region != US_EAST_1:
            raise s3_error(
                "BucketAlreadyOwnedByYou",
                "Your previous request to create the named bucket succeeded and you already own it.",
                409,
                BucketName=name,
            )
        self.objects.configure(name, "acl", config.get("acl"))
        return {"Location": _location_of(name, existing.region)}

    @s3_operation("ListBuckets")
    def list_buckets(self, **params: Any) -> dict[str, Any]:
        """The caller's buckets by name, those whose name starts with `Prefix` and in `BucketRegion` when
        given, `MaxBuckets` at a time after the opaque `ContinuationToken`."""
        prefix, region, limit = params.get("Prefix") or "", params.get("BucketRegion"), params.get("MaxBuckets")
        if limit is not None and not 1 <= limit <= _MOST_BUCKETS:
            raise s3_error(
                "InvalidArgument",
                "Argument max-buckets must be an integer between 1 and 10000",
                ArgumentName="max-buckets",
            )
        after = _token_name(params.get("ContinuationToken"))
        chosen = [
            b
            for b in self.objects.buckets(self.account)
            if b.name.startswith(prefix) and b.name > after and region in (None, b.region)
        ]
        page = chosen[: limit or _MOST_BUCKETS]
        answer: dict[str, Any] = {
            "Buckets": [{"Name": b.name, "CreationDate": timestamp(b.created), "BucketRegion": b.region} for b in page],
            "Owner": owner(self.account),
        }
        if len(chosen) > len(page):
            answer["ContinuationToken"] = base64.urlsafe_b64encode(page[-1].name.encode()).decode()
        return answer | ({"Prefix": prefix} if prefix else {})

    @s3_operation("HeadBucket")
    def head_bucket(self, **params: Any) -> dict[str, Any]:
        bucket = self.bucket(params["Bucket"], "s3:ListBucket")
        return {"BucketRegion": bucket.region, "AccessPointAlias": False}

    @s3_operation("DeleteBucket")
    def delete_bucket(self, **params: Any) -> dict[str, Any]:
        name = params["Bucket"]
        self.bucket(name, "s3:DeleteBucket")
        if not self.objects.delete_bucket(name):
            if self.objects.bucket(name) is None:
                raise no_such_bucket(name)
            raise s3_error("BucketNotEmpty", "The bucket you tried to delete is not empty", 409, BucketName=name)
        return {}

    @s3_operation("GetBucketLocation")
    def get_bucket_location(self, **params: Any) -> dict[str, Any]:
        """The bucket's region; none (an empty LocationConstraint) for us-east-1."""
        bucket = self.bucket(params["Bucket"], "s3:GetBucketLocation")
        return {} if bucket.region == US_EAST_1 else {"LocationConstraint": bucket.region}


def _location_of(name: str, region: str) -> str:
    return f"/{name}" if region == US_EAST_1 else f"http://{name}.s3.amazonaws.com/"


def _token_name(token: str | None) -> str:
    if not token:
        return ""
    try:
        return base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise s3_error(
            "InvalidArgument", "The continuation token provided is incorrect", ArgumentName="continuation-token"
        ) from None
