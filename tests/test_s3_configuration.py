"""A bucket's configuration through S3's operations: stored, returned and deleted with S3's errors when it
is absent, the defaults of a new bucket, and what S3 refuses (malformed or public policies, ACLs a bucket
does not take)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.s3 import OTHER, OWNER, S3, fails
from trailbridge.runtime import Trailbridge
from trailbridge.services.s3.common import canonical_id

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


@pytest.fixture
def tb() -> Iterator[Trailbridge]:
    instance = Trailbridge(None)
    yield instance
    instance.close()


@pytest.fixture
def s3(tb: Trailbridge) -> S3:
    client = S3(tb.engine)
    client.CreateBucket(Bucket="conf")
    return client


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


READ_FOR_OTHER = {
    "Effect": "Allow",
    "Principal": {"AWS": OTHER},
    "Action": ["s3:GetObject"],
    "Resource": "arn:aws:s3:::conf/*",
}


def test_policy_is_stored_as_given_and_deleted(s3: S3) -> None:
    fails(s3.GetBucketPolicy, "NoSuchBucketPolicy", 404, Bucket="conf")
    text = _policy(READ_FOR_OTHER)
    s3.PutBucketPolicy(Bucket="conf", Policy=text)
    assert s3.GetBucketPolicy(Bucket="conf") == {"Policy": text}
    assert s3.engine.objects.bucket("conf").config["policy"] == text  # what security rules read
    s3.DeleteBucketPolicy(Bucket="conf")
    error = fails(s3.GetBucketPolicy, "NoSuchBucketPolicy", 404, Bucket="conf")
    assert error.fields == {"BucketName": "conf"}
    s3.DeleteBucketPolicy(Bucket="conf")  # deleting none is no error


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("not json", "Policies must be valid JSON and the first byte must be '{'"),
        ('{"Version": "2001-01-01", "Statement": []}', "The policy must contain a valid version string"),
        ('{"Version": "2012-10-17"}', "Missing required field Statement"),
        (_policy({**READ_FOR_OTHER, "Effect": "Maybe"}), "Invalid effect: Maybe"),
        (_policy({k: v for k, v in READ_FOR_OTHER.items() if k != "Principal"}), "Missing required field Principal"),
        (_policy({**READ_FOR_OTHER, "Principal": {"AWS": "someone"}}), "Invalid principal in policy"),
        (_policy({**READ_FOR_OTHER, "Action": "sqs:SendMessage"}), "Policy has invalid action"),
        (_policy({**READ_FOR_OTHER, "Resource": "arn:aws:s3:::elsewhere/*"}), "Policy has invalid resource"),
        (
            _policy({**READ_FOR_OTHER, "Resource": "arn:aws:s3:::conf"}),
            "Action does not apply to any resource(s) in statement",
        ),
        ("{" + " " * (20 * 1024) + "}", "Policies must be less than 20 KB"),
    ],
)
def test_malformed_policies(s3: S3, policy: str, message: str) -> None:
    s3.PutPublicAccessBlock(Bucket="conf", PublicAccessBlockConfiguration={})
    assert fails(s3.PutBucketPolicy, "MalformedPolicy", 400, Bucket="conf", Policy=policy).message == message


def test_block_public_policy_refuses_a_public_policy(s3: S3) -> None:
    public = _policy({**READ_FOR_OTHER, "Principal": "*"})
    fails(s3.PutBucketPolicy, "AccessDenied", 403, Bucket="conf", Policy=public)  # on by default
    narrowed = {**READ_FOR_OTHER, "Principal": "*", "Condition": {"StringEquals": {"aws:SourceAccount": OTHER}}}
    s3.PutBucketPolicy(Bucket="conf", Policy=_policy(narrowed))
    s3.PutPublicAccessBlock(Bucket="conf", PublicAccessBlockConfiguration={"BlockPublicPolicy": False})
    s3.PutBucketPolicy(Bucket="conf", Policy=public)


def test_only_the_owner_reads_or_changes_the_policy(s3: S3) -> None:
    other = S3(s3.engine, OTHER)
    fails(other.GetBucketPolicy, "AccessDenied", 403, Bucket="conf")
    grant = {**READ_FOR_OTHER, "Action": "s3:GetBucketPolicy", "Resource": "arn:aws:s3:::conf"}
    s3.PutBucketPolicy(Bucket="conf", Policy=_policy(grant))
    fails(other.GetBucketPolicy, "MethodNotAllowed", 405, Bucket="conf")


def test_a_new_bucket_has_s3s_defaults(s3: S3) -> None:
    owner = {"ID": canonical_id(OWNER)}
    assert s3.GetBucketAcl(Bucket="conf") == {
        "Owner": owner,
        "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": canonical_id(OWNER)}, "Permission": "FULL_CONTROL"}],
    }
    block = s3.GetPublicAccessBlock(Bucket="conf")["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    assert s3.GetBucketVersioning(Bucket="conf") == {}
    rule = s3.GetBucketEncryption(Bucket="conf")["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    fails(s3.GetBucketTagging, "NoSuchTagSet", 404, Bucket="conf")


def test_acls_need_a_bucket_that_takes_them(tb: Trailbridge, s3: S3) -> None:
    fails(s3.PutBucketAcl, "AccessControlListNotSupported", 400, Bucket="conf", ACL="public-read")
    s3.PutBucketAcl(Bucket="conf", ACL="private")
    s3.CreateBucket(Bucket="acl-bucket", ObjectOwnership="BucketOwnerPreferred")
    fails(s3.PutBucketAcl, "AccessDenied", 403, Bucket="acl-bucket", ACL="public-read")  # BlockPublicAcls
    s3.DeletePublicAccessBlock(Bucket="acl-bucket")
    fails(s3.GetPublicAccessBlock, "NoSuchPublicAccessBlockConfiguration", 404, Bucket="acl-bucket")
    s3.PutBucketAcl(Bucket="acl-bucket", ACL="public-read")
    grants = s3.GetBucketAcl(Bucket="acl-bucket")["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"} in grants
    policy = {
        "Owner": {"ID": canonical_id(OWNER)},
        "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "abc"}, "Permission": "READ"}],
    }
    s3.PutBucketAcl(Bucket="acl-bucket", AccessControlPolicy=policy)
    assert s3.GetBucketAcl(Bucket="acl-bucket")["Grants"] == policy["Grants"]
    s3.PutBucketAcl(Bucket="acl-bucket", GrantRead='id="abc", uri="http://acs.amazonaws.com/groups/s3/LogDelivery"')
    assert len(s3.GetBucketAcl(Bucket="acl-bucket")["Grants"]) == 2
    both = {"ACL": "private", "GrantRead": 'id="abc"'}
    fails(s3.PutBucketAcl, "InvalidRequest", 400, Bucket="acl-bucket", **both)
    fails(s3.CreateBucket, "InvalidBucketAclWithObjectOwnership", 400, Bucket="acl-two", ACL="public-read")


def test_object_acls_are_stored_where_the_bucket_takes_them(s3: S3) -> None:
    fails(s3.PutObject, "AccessControlListNotSupported", 400, Bucket="conf", Key="k", Body=b"", ACL="public-read")
    s3.PutObject(Bucket="conf", Key="k", Body=b"", ACL="bucket-owner-full-control")
    s3.CreateBucket(Bucket="acl-objects", ObjectOwnership="ObjectWriter")
    s3.PutPublicAccessBlock(Bucket="acl-objects", PublicAccessBlockConfiguration={})
    s3.PutObject(Bucket="acl-objects", Key="k", Body=b"", ACL="public-read")
    stored = s3.engine.objects.head("acl-objects", "k")
    assert stored is not None and stored.headers["ACL"]["Grants"][1]["Grantee"]["URI"] == ALL_USERS


def test_tags(s3: S3) -> None:
    tags = [{"Key": "team", "Value": "audit"}, {"Key": "env", "Value": ""}]
    s3.PutBucketTagging(Bucket="conf", Tagging={"TagSet": tags})
    assert s3.GetBucketTagging(Bucket="conf") == {"TagSet": tags}
    twice = [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]
    fails(s3.PutBucketTagging, "InvalidTag", 400, Bucket="conf", Tagging={"TagSet": twice})
    fails(s3.PutBucketTagging, "InvalidTag", 400, Bucket="conf", Tagging={"TagSet": [{"Key": "aws:x", "Value": ""}]})
    s3.DeleteBucketTagging(Bucket="conf")
    fails(s3.GetBucketTagging, "NoSuchTagSet", 404, Bucket="conf")


def test_versioning(s3: S3) -> None:
    s3.PutBucketVersioning(Bucket="conf", VersioningConfiguration={"Status": "Enabled"})
    assert s3.GetBucketVersioning(Bucket="conf") == {"Status": "Enabled"}
    s3.PutBucketVersioning(Bucket="conf", VersioningConfiguration={"Status": "Suspended"})
    assert s3.GetBucketVersioning(Bucket="conf") == {"Status": "Suspended"}
    mfa = {"Status": "Enabled", "MFADelete": "Enabled"}
    fails(s3.PutBucketVersioning, "AccessDenied", 403, Bucket="conf", VersioningConfiguration=mfa)
    s3.PutBucketVersioning(Bucket="conf", VersioningConfiguration=mfa, MFA="arn:aws:iam::111111111111:mfa/x 123456")
    assert s3.GetBucketVersioning(Bucket="conf") == mfa
    fails(s3.PutBucketVersioning, "MalformedXML", 400, Bucket="conf", VersioningConfiguration={})


def test_default_encryption_applies_to_new_objects(s3: S3) -> None:
    kms = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/logs"}
    configuration = {"Rules": [{"ApplyServerSideEncryptionByDefault": kms, "BucketKeyEnabled": True}]}
    s3.PutBucketEncryption(Bucket="conf", ServerSideEncryptionConfiguration=configuration)
    assert s3.GetBucketEncryption(Bucket="conf") == {"ServerSideEncryptionConfiguration": configuration}
    put = s3.PutObject(Bucket="conf", Key="k", Body=b"x")
    assert (put["ServerSideEncryption"], put["SSEKMSKeyId"], put["BucketKeyEnabled"]) == ("aws:kms", "alias/logs", True)
    assert s3.HeadObject(Bucket="conf", Key="k")["SSEKMSKeyId"] == "alias/logs"
    wrong = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256", "KMSMasterKeyID": "k"}}]}
    fails(s3.PutBucketEncryption, "InvalidArgument", 400, Bucket="conf", ServerSideEncryptionConfiguration=wrong)
    s3.DeleteBucketEncryption(Bucket="conf")
    assert s3.PutObject(Bucket="conf", Key="k", Body=b"x")["ServerSideEncryption"] == "AES256"


def test_configuration_of_a_missing_bucket(s3: S3) -> None:
    for call in (s3.GetBucketAcl, s3.GetBucketVersioning, s3.GetBucketEncryption, s3.DeletePublicAccessBlock):
        fails(call, "NoSuchBucket", 404, Bucket="absent")


def test_policy_conditions_see_the_requests_s3_keys(s3: S3) -> None:
    other = S3(s3.engine, OTHER)
    s3.PutPublicAccessBlock(Bucket="conf", PublicAccessBlockConfiguration={})
    listing = {
        "Effect": "Allow",
        "Principal": {"AWS": OTHER},
        "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::conf",
        "Condition": {"StringEquals": {"s3:prefix": "shared/"}},
    }
    encrypted = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::conf/*",
        "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}},
    }
    s3.PutBucketPolicy(Bucket="conf", Policy=_policy(listing, encrypted))
    assert other.ListObjectsV2(Bucket="conf", Prefix="shared/")["KeyCount"] == 0
    fails(other.ListObjectsV2, "AccessDenied", 403, Bucket="conf", Prefix="private/")
    fails(other.ListObjectsV2, "AccessDenied", 403, Bucket="conf")
    fails(s3.PutObject, "AccessDenied", 403, Bucket="conf", Key="k", Body=b"x", ServerSideEncryption="AES256")
    s3.PutObject(Bucket="conf", Key="k", Body=b"x", ServerSideEncryption="aws:kms")


def test_create_bucket_takes_tags_and_object_lock(s3: S3) -> None:
    tags = [{"Key": "team", "Value": "audit"}]
    s3.CreateBucket(Bucket="locked-bucket", ObjectLockEnabledForBucket=True, CreateBucketConfiguration={"Tags": tags})
    assert s3.GetBucketTagging(Bucket="locked-bucket") == {"TagSet": tags}
    assert s3.GetBucketVersioning(Bucket="locked-bucket") == {"Status": "Enabled"}  # Object Lock turns it on
    config = s3.engine.objects.bucket("locked-bucket").config
    assert config["objectLock"] == {"ObjectLockEnabled": "Enabled"}
    assert config["ownership"] == {"ObjectOwnership": "BucketOwnerEnforced"}
    twice = {"Tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}
    fails(s3.CreateBucket, "InvalidTag", 400, Bucket="tagged-twice", CreateBucketConfiguration=twice)
