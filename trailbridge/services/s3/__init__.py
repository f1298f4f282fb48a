"""Amazon S3's operations over the storage port `Objects`: buckets, objects, listings, multipart uploads and
the bucket configuration security rules read, as AWS answers them (boto3's parameter and member names; a
streaming Body is bytes in and out).

Errors are `ServiceError`s with S3's codes, statuses and the fields S3 names them by (BucketName, Key, ...).
What the rest-xml protocol has to know: GetObject and HeadObject answer a Range or PartNumber read with
`ContentRange`, and that answer is 206 Partial Content; NotModified is a ServiceError of status 304 (no
body); GetBucketLocation answers no LocationConstraint for us-east-1.

A bucket's configuration lives in its row (`Bucket.config`), one document per kind: "policy" (the text as
given), "acl", "publicAccessBlock", "ownership", "tagging", "versioning", "encryption", "objectLock".
"""

from trailbridge.services.s3.buckets import BucketsService
from trailbridge.services.s3.configuration import ConfigurationService
from trailbridge.services.s3.listing import ListingService
from trailbridge.services.s3.multipart import MultipartService
from trailbridge.services.s3.objects import ObjectsService

# Every class whose marked methods answer S3's operations (services/operations.py's SERVICE_CLASSES["s3"]).
S3_CLASSES = (BucketsService, ObjectsService, ListingService, MultipartService, ConfigurationService)

__all__ = [
    "S3_CLASSES",
    "BucketsService",
    "ConfigurationService",
    "ListingService",
    "MultipartService",
    "ObjectsService",
]
