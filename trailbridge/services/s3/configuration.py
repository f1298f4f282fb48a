"""A bucket's configuration, stored and returned as S3 does with S3's errors when it is absent: the bucket
policy, the ACL, Block Public Access, tags, versioning and default encryption. Security rules read these
documents from the bucket's row (`Bucket.config`, one document per kind).

What S3 enforces here is enforced: a policy that grants everyone is refused under BlockPublicPolicy, an
ACL under the bucket's ObjectOwnership and BlockPublicAcls, and only the owner's account may read or change
the bucket policy (another that a policy allows to gets 405, as in S3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trailbridge.services.s3 import acl
from trailbridge.services.s3.common import S3Service, bucket_arn, s3_error, s3_operation
from trailbridge.services.s3.policy import is_public, parsed_policy
from trailbridge.storage.ports import Bucket

MAX_TAGS = 50
_DEFAULT_ENCRYPTION = {
    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]
}
_KMS = ("aws:kms", "aws:kms:dsse")
_MALFORMED = "The XML you provided was not well-formed or did not validate against our published schema"


class ConfigurationService(S3Service):
    def _owned(self, name: str, action: str) -> Bucket:
        """The bucket, for an operation only its owner's account may call (the bucket policy's)."""
        bucket = self.bucket(name, action)
        if bucket.account != self.account:
            raise s3_error(
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
                405,
                Method=action.removeprefix("s3:"),
                ResourceType="BUCKETPOLICY",
            )
        return bucket

    # -- policy -------------------------------------------------------------------------------

    @s3_operation("PutBucketPolicy")
    def put_bucket_policy(self, **params: Any) -> dict[str, Any]:
        """Store the policy text as given (GetBucketPolicy returns it so), once it is a valid policy of this
        bucket and, under BlockPublicPolicy, not a public one."""
        bucket = self._owned(params["Bucket"], "s3:PutBucketPolicy")
        document = parsed_policy(params["Policy"], bucket.name)
        if is_public(document) and (bucket.config.get("publicAccessBlock") or {}).get("BlockPublicPolicy"):
            raise s3_error(
                "AccessDenied",
                f"User: arn:aws:iam::{self.account}:root is not authorized to perform: s3:PutBucketPolicy on resource: "
                f'"{bucket_arn(bucket.name)}" because public policies are blocked by the BlockPublicPolicy block '
                "public access setting.",
                403,
            )
        self.objects.configure(bucket.name, "policy", params["Policy"])
        return {}

    @s3_operation("GetBucketPolicy")
    def get_bucket_policy(self, **params: Any) -> dict[str, Any]:
        bucket = self._owned(params["Bucket"], "s3:GetBucketPolicy")
        policy = bucket.config.get("policy")
        if policy is None:
            raise s3_error("NoSuchBucketPolicy", "The bucket policy does not exist", 404, BucketName=bucket.name)
        return {"Policy": policy}

    @s3_operation("DeleteBucketPolicy")
    def delete_bucket_policy(self, **params: Any) -> dict[str, Any]:
        self.objects.configure(self._owned(params["Bucket"], "s3:DeleteBucketPolicy").name, "policy", None)
        return {}

    # -- ACL ----------------------------------------------------------------------------------

    @s3_operation("PutBucketAcl")
    def put_bucket_acl(self, **params: Any) -> dict[str, Any]:
        bucket = self.bucket(params["Bucket"], "s3:PutBucketAcl")
        document = acl.from_request(bucket.account, params)
        if document is None:
            raise s3_error("MissingSecurityHeader", "Your request was missing a required header", Header="x-amz-acl")
        acl.check_allowed(document, bucket.account, bucket.config)
        self.objects.configure(bucket.name, "acl", document)
        return {}

    @s3_operation("GetBucketAcl")
    def get_bucket_acl(self, **params: Any) -> dict[str, Any]:
        """The bucket's ACL; the owner's full control when none was set."""
        bucket = self.bucket(params["Bucket"], "s3:GetBucketAcl")
        return dict(bucket.config.get("acl") or acl.canned(bucket.account))

    # -- Block Public Access ------------------------------------------------------------------

    @s3_operation("PutPublicAccessBlock")
    def put_public_access_block(self, **params: Any) -> dict[str, Any]:
        bucket = self.bucket(params["Bucket"], "s3:PutBucketPublicAccessBlock")
        given = params["PublicAccessBlockConfiguration"]
        names = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
        self.objects.configure(bucket.name, "publicAccessBlock", {name: bool(given.get(name, False)) for name in names})
        return {}

    @s3_operation("GetPublicAccessBlock")
    def get_public_access_block(self, **params: Any) -> dict[str, Any]:
        bucket = self.bucket(params["Bucket"], "s3:GetBucketPublicAccessBlock")
        block = bucket.config.get("publicAccessBlock")
        if block is None:
            raise s3_error(
                "NoSuchPublicAccessBlockConfiguration",
                "The public access block configuration was not found",
                404,
                BucketName=bucket.name,
            )
        return {"PublicAccessBlockConfiguration": block}

    @s3_operation("DeletePublicAccessBlock")
    def delete_public_access_block(self, **params: Any) -> dict[str, Any]:
        self.objects.configure(
            self.bucket(params["Bucket"], "s3:PutBucketPublicAccessBlock").name, "publicAccessBlock", None
        )
        return {}

    # -- tags ---------------------------------------------------------------------------------

    @s3_operation("PutBucketTagging")
    def put_bucket_tagging(self, **params: Any) -> dict[str, Any]:
        bucket = self.bucket(params["Bucket"], "s3:PutBucketTagging")
        self.objects.configure(bucket.name, "tagging", {"TagSet": checked_tags(params["Tagging"]["TagSet"])})
        return {}

    @s3_operation("GetBucketTagging")
    def get_bucket_tagging(self, **params: Any) -> dict[str, Any]:
        bucket = self.bucket(params["Bucket"], "s3:GetBucketTagging")
        tagging = bucket.config.get("tagging")
        if tagging is None:
            raise s3_error("NoSuchTagSet", "The TagSet does not exist", 404, BucketName=bucket.name)
        return dict(tagging)

    @s3_operation("DeleteBucketTagging")
    def delete_bucket_tagging(self, **params: Any) -> dict[str, Any]:
        self.objects.configure(self.bucket(params["Bucket"], "s3:PutBucketTagging").name, "tagging", None)
        return {}

    # -- versioning ---------------------------------------------------------------------------

    @s3_operation("PutBucketVersioning")
    def put_bucket_versioning(self, **params: Any) -> dict[str, Any]:
        """Store Status and MFADelete. trailbridge keeps one version of an object whatever the status."""
        bucket = self.bucket(params["Bucket"], "s3:PutBucketVersioning")
        given = params["VersioningConfiguration"]
        if not given.get("Status") and not given.get("MFADelete"):
            raise s3_error("MalformedXML", _MALFORMED)
        if given.get("MFADelete") == "Enabled" and not params.get("MFA"):
            raise s3_error("AccessDenied", "Mfa Authentication must be used for this request", 403)
        current = dict(bucket.config.get("versioning") or {})
        current |= {name: given[name] for name in ("Status", "MFADelete") if given.get(name)}
        self.objects.configure(bucket.name, "versioning", current)
        return {}

    @s3_operation("GetBucketVersioning")
    def get_bucket_versioning(self, **params: Any) -> dict[str, Any]:
        """The versioning status; none at all for a bucket never versioned."""
        return dict(self.bucket(params["Bucket"], "s3:GetBucketVersioning").config.get("versioning") or {})

    # -- default encryption -------------------------------------------------------------------

    @s3_operation("PutBucketEncryption")
    def put_bucket_encryption(self, **params: Any) -> dict[str, Any]:
        bucket = self.bucket(params["Bucket"], "s3:PutEncryptionConfiguration")
        configuration = params["ServerSideEncryptionConfiguration"]
        _check_encryption(configuration)
        self.objects.configure(bucket.name, "encryption", {"Rules": [dict(rule) for rule in configuration["Rules"]]})
        return {}

    @s3_operation("GetBucketEncryption")
    def get_bucket_encryption(self, **params: Any) -> dict[str, Any]:
        """The default encryption; SSE-S3 when none was set, as S3 encrypts every bucket by default since
        2023 (so S3 no longer answers ServerSideEncryptionConfigurationNotFoundError for a general purpose
        bucket)."""
        bucket = self.bucket(params["Bucket"], "s3:GetEncryptionConfiguration")
        return {"ServerSideEncryptionConfiguration": bucket.config.get("encryption") or _DEFAULT_ENCRYPTION}

    @s3_operation("DeleteBucketEncryption")
    def delete_bucket_encryption(self, **params: Any) -> dict[str, Any]:
        """Back to SSE-S3, S3's default."""
        self.objects.configure(self.bucket(params["Bucket"], "s3:PutEncryptionConfiguration").name, "encryption", None)
        return {}


def checked_tags(given: list[dict[str, str]]) -> list[dict[str, str]]:
    """A bucket's tags, once they are tags S3 takes."""
    tags = [{"Key": tag["Key"], "Value": tag["Value"]} for tag in given]
    if len(tags) > MAX_TAGS:
        raise s3_error("InvalidTag", f"Bucket tag count cannot be greater than {MAX_TAGS}")
    keys = [tag["Key"] for tag in tags]
    if len(set(keys)) != len(keys):
        raise s3_error("InvalidTag", "Cannot provide multiple Tags with the same key")
    for tag in tags:
        if not 1 <= len(tag["Key"]) <= 128:
            raise s3_error("InvalidTag", "The TagKey you have provided is invalid", TagKey=tag["Key"])
        if len(tag["Value"]) > 256:
            raise s3_error("InvalidTag", "The TagValue you have provided is invalid", TagKey=tag["Key"])
        if tag["Key"].lower().startswith("aws:"):
            raise s3_error("InvalidTag", "Your TagKey cannot be prefixed with aws:", TagKey=tag["Key"])
    return tags


def _check_encryption(configuration: Mapping[str, Any]) -> None:
    """One rule, whose KMS key (if any) goes with a KMS algorithm."""
    rules = configuration["Rules"]
    if len(rules) != 1:
        raise s3_error("MalformedXML", _MALFORMED)
    default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
    if default.get("KMSMasterKeyID") and default.get("SSEAlgorithm") not in _KMS:
        raise s3_error(
            "InvalidArgument",
            "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
            ArgumentName="ApplyServerSideEncryptionByDefault",
        )
