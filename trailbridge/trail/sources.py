"""What CloudTrail writes for a service's calls that botocore's model does not say by itself: the event source,
the region of a global service, the event names that differ from the operation's, which calls are read-only
and which are data events. Rules first, derived from the model and botocore's endpoint data; small tables for
the services whose records (in ../shared/corpora/cloudtrail and CloudTrail's documentation) break a rule.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # botocore is loaded by the calls that use its models
    from botocore.model import ServiceModel

# The event source is the model's signing name (SES's `email` endpoint signs as `ses`, ECR's `api.ecr` as `ecr`,
# Bedrock's runtimes as `bedrock`, S3 Control as `s3`, CloudWatch `monitoring` has no other), except for these
# services, whose records name their endpoint prefix or a name of their own.
_SOURCES = {
    "marketplace-agreement": "agreement-marketplace",
    "marketplace-catalog": "catalog.marketplace",
    "marketplace-discovery": "discovery-marketplace",
    "servicecatalog-appregistry": "servicecatalog-appregistry",
    "pinpoint": "pinpoint",
    "iotsecuretunneling": "iotsecuredtunneling",
}
# Global services botocore's endpoint data does not mark as such: AWS Support (its records name us-east-1) and
# Global Accelerator (whose API lives in us-west-2).
_GLOBAL = {"support": "us-east-1", "globalaccelerator": "us-west-2"}
_REGION_NAME = re.compile(r"[a-z]{2}-[a-z]+-\d")
# The errors every service's records call AccessDenied, whatever the service answered (EC2 aside).
_ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException"})
# EC2's errors the service, not the client, is at fault for: `Server.` where the others are `Client.`.
_EC2_SERVER_ERRORS = frozenset({"InternalError", "Unavailable", "InsufficientInstanceCapacity"})
# Read-only calls: the verbs that read, and the calls of other verbs CloudTrail marks readOnly (STS's AssumeRole*,
# KMS's cryptographic calls, Bedrock's inference, SES's SendEmail, S3's Head*, DynamoDB's Query and Scan).
_READ_PREFIXES = (
    "Describe",
    "List",
    "Get",
    "Head",
    "Test",
    "Lookup",
    "Filter",
    "Receive",
    "Search",
    "BatchGet",
    "Download",
    "Simulate",
    "Select",
)
# SES's sending calls: data events CloudTrail marks read-only.
_SES_SENDS = frozenset(
    {
        *(("ses", name) for name in ("SendEmail", "SendRawEmail", "SendTemplatedEmail", "SendBulkTemplatedEmail")),
        *(("sesv2", name) for name in ("SendEmail", "SendBulkEmail")),
        ("pinpoint-email", "SendEmail"),
    }
)
_READ_ONLY = frozenset(
    {
        ("sts", "AssumeRole"),
        ("sts", "AssumeRoleWithSAML"),
        ("sts", "AssumeRoleWithWebIdentity"),
        ("sts", "AssumeRoot"),
        ("sts", "DecodeAuthorizationMessage"),
        *(("kms", name) for name in ("Decrypt", "Encrypt", "ReEncrypt", "Sign", "Verify", "VerifyMac")),
        *(("kms", name) for name in ("GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateRandom")),
        *(("kms", name) for name in ("GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateMac")),
        *(("bedrock-runtime", name) for name in ("InvokeModel", "InvokeModelWithResponseStream", "Converse")),
        ("bedrock-runtime", "ConverseStream"),
        *_SES_SENDS,
        ("dynamodb", "Query"),
        ("dynamodb", "Scan"),
        ("dynamodb", "TransactGetItems"),
    }
)
# Calls of the reading verbs that CloudTrail marks as writes: STS's tokens.
_WRITES = frozenset({("sts", "GetFederationToken"), ("sts", "GetSessionToken")})
# Read-only calls whose records keep their answer all the same: STS's assumed roles (the credentials' key id,
# the session), so that a record names the session its later calls are made in.
_ANSWERED = frozenset((service, name) for service, name in _READ_ONLY if name.startswith("AssumeRole"))
# Data events: the message and event traffic of trailbridge's own services, Lambda's invocations, DynamoDB's
# item calls, and S3's object-level calls (S3's are recognised by their `Key` member: see `is_management`).
DATA_EVENTS = frozenset(
    {
        ("events", "PutEvents"),
        ("cloudtrail-data", "PutAuditEvents"),
        *(("sqs", name) for name in ("SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage")),
        *(("sqs", name) for name in ("DeleteMessageBatch", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch")),
        *(("lambda", name) for name in ("Invoke", "InvokeAsync", "InvokeWithResponseStream")),
        *(("dynamodb", name) for name in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchGetItem")),
        *(("dynamodb", name) for name in ("BatchWriteItem", "Query", "Scan", "TransactGetItems")),
        *(("dynamodb", name) for name in ("TransactWriteItems", "ExecuteStatement", "BatchExecuteStatement")),
        ("dynamodb", "ExecuteTransaction"),
        *_SES_SENDS,
        *(("s3", name) for name in ("ListObjects", "ListObjectsV2", "ListObjectVersions", "ListMultipartUploads")),
        ("s3", "DeleteObjects"),
        ("sns", "Publish"),  # SNS's data events (CloudTrail logs them for trails whose selectors ask)
        ("sns", "PublishBatch"),
        ("stepfunctions", "StartSyncExecution"),  # AWS does not log it as a management event (nor at all)
    }
)
# Lambda's event names carry the version of the API they belong to, as Lambda's service logs them.
_LAMBDA_VERSIONS = {
    "20150331": (
        "CreateFunction",
        "DeleteFunction",
        "ListFunctions",
        "CreateEventSourceMapping",
        "UpdateEventSourceMapping",
        "DeleteEventSourceMapping",
        "GetEventSourceMapping",
        "ListEventSourceMappings",
        "PublishVersion",
        "CreateAlias",
        "UpdateAlias",
        "DeleteAlias",
        "GetAlias",
        "ListAliases",
        "ListVersionsByFunction",
    ),
    "20150331v2": (
        "AddPermission",
        "RemovePermission",
        "GetFunction",
        "GetFunctionConfiguration",
        "GetPolicy",
        "UpdateFunctionCode",
        "UpdateFunctionConfiguration",
    ),
    "20170331": ("ListTags", "TagResource", "UntagResource"),
    "20171031": ("PutFunctionConcurrency", "DeleteFunctionConcurrency"),
    "20181031": ("PublishLayerVersion", "GetLayerVersion", "ListLayers", "ListLayerVersions", "DeleteLayerVersion"),
}
_LAMBDA_NAMES = {name: name + version for version, names in _LAMBDA_VERSIONS.items() for name in names}


def event_source(service: ServiceModel) -> str:
    """`eventSource`: the host name CloudTrail gives the service."""
    name = _SOURCES.get(service.service_name) or service.signing_name or service.endpoint_prefix
    return f"{name}.amazonaws.com"


def event_name(service: ServiceModel, operation: str) -> str:
    """`eventName` of an operation of a botocore service, S3 aside (see trail/s3.py): Lambda's carry the
    version of their API, CloudFront's the version of the service's (`CreateFunction2020_05_31`)."""
    if service.service_name == "lambda":
        return _LAMBDA_NAMES.get(operation, operation)
    if service.service_name == "cloudfront":
        return operation + str(service.api_version).replace("-", "_")
    return operation


def record_region(service: ServiceModel, region: str) -> str:
    """`awsRegion`: the region of a global service's one endpoint (IAM, CloudFront, Route 53, Organizations:
    us-east-1; Network Manager: us-west-2), whatever region the caller signed for; the caller's otherwise
    (STS is regional: its global endpoint signs for us-east-1, which the caller's scope then names)."""
    prefix = service.endpoint_prefix
    return _GLOBAL.get(prefix) or _global_regions().get(prefix, region)


@cache
def _global_regions() -> dict[str, str]:
    """The region of each service botocore's endpoint data says is not regionalized in the `aws` partition."""
    from botocore.loaders import Loader  # noqa: PLC0415 (see the imports above)

    partitions: list[dict[str, Any]] = Loader().load_data("endpoints")["partitions"]
    services: dict[str, Any] = next(p for p in partitions if p["partition"] == "aws")["services"]
    found = {}
    for prefix, service in services.items():
        endpoints = service.get("endpoints", {})
        scope = endpoints.get(service.get("partitionEndpoint"), {}).get("credentialScope", {})
        if service.get("isRegionalized") is False and "region" in scope:
            found[prefix] = scope["region"]
        elif len(endpoints) == 1 and _REGION_NAME.fullmatch(only := next(iter(endpoints))):
            found[prefix] = only  # a service with one regional endpoint only (Route 53 Domains)
    return found


def error_code(service: ServiceModel, code: str) -> str:
    """`errorCode`: the name of the model's exception for the code the service answered (IAM's `NoSuchEntity`
    is `NoSuchEntityException`, RDS's `DBInstanceNotFound` `DBInstanceNotFoundFault`), `AccessDenied` for
    every refusal, and EC2's codes under `Client.` or `Server.`."""
    if service.protocol == "ec2":
        return f"{'Server' if code in _EC2_SERVER_ERRORS else 'Client'}.{code}"
    if code in _ACCESS_DENIED:
        return "AccessDenied"
    return _exception_names(service).get(code, code)


def _exception_names(service: ServiceModel) -> dict[str, str]:
    return {shape.error_code: shape.name for shape in service.error_shapes if shape.error_code}


def is_read_only(operation: str, service: str = "") -> bool:
    """`readOnly`: the verbs that read, and the calls of `_READ_ONLY` (`service` is botocore's name)."""
    if (service, operation) in _WRITES:
        return False
    return operation.startswith(_READ_PREFIXES) or (service, operation) in _READ_ONLY


def keeps_answer(service: str, operation: str) -> bool:
    """Whether the record of a call that succeeded has its `responseElements`: writes, and `_ANSWERED`."""
    return not is_read_only(operation, service) or (service, operation) in _ANSWERED


def is_management(service: str, operation: str) -> bool:
    """`managementEvent`: false for the data events, which trails log only when their selectors ask."""
    if (service, operation) in DATA_EVENTS:
        return False
    return not (service == "s3" and _has_key(operation))


@cache
def _has_key(operation: str) -> bool:
    """Whether an S3 operation names an object (its input has a `Key`): those are S3's data events."""
    model = _s3_model()
    if operation not in model.operation_names:
        return False
    shape = model.operation_model(operation).input_shape
    return shape is not None and "Key" in shape.members


@cache
def _s3_model() -> ServiceModel:
    import botocore.session  # noqa: PLC0415 (see the imports above)

    return botocore.session.get_session().get_service_model("s3")
