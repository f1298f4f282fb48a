"""AWS CloudTrail's trail operations: create, update, delete, describe, list, status, start and stop logging,
event selectors, tags.

A trail lives in its home region; a multi-region trail is also seen (as a shadow trail) and logs in every
other region of its account, but is changed only from its home region. Buckets are trailbridge's own S3
buckets, in its store (or those of the S3 endpoint it writes trails to): one must exist before a trail names it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from trailbridge.services.base import Engine, ServiceError, operation, page, timestamp
from trailbridge.storage.ports import Scope
from trailbridge.trail.selectors import DEFAULT_SELECTORS

MAX_TRAILS_PER_REGION = 5
MAX_SELECTORS = 5
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{1,126})[A-Za-z0-9]")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
MAX_PREFIX = 200  # CloudTrail: "The maximum length is 200 characters."
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FIELDS = frozenset(
    {"eventCategory", "eventSource", "eventName", "readOnly", "resources.type", "resources.ARN", "eventType"}
)
_OPERATORS = ("Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith")
_BASIC_DATA_TYPES = frozenset({"AWS::S3::Object", "AWS::Lambda::Function", "AWS::DynamoDB::Table"})
_SETTABLE = {
    "S3BucketName": "S3BucketName",
    "S3KeyPrefix": "S3KeyPrefix",
    "SnsTopicName": "SnsTopicName",
    "IncludeGlobalServiceEvents": "IncludeGlobalServiceEvents",
    "IsMultiRegionTrail": "IsMultiRegionTrail",
    "EnableLogFileValidation": "LogFileValidationEnabled",
    "CloudWatchLogsLogGroupArn": "CloudWatchLogsLogGroupArn",
    "CloudWatchLogsRoleArn": "CloudWatchLogsRoleArn",
    "KmsKeyId": "KmsKeyId",
}
_PUBLIC = (
    "Name",
    "S3BucketName",
    "S3KeyPrefix",
    "SnsTopicName",
    "IncludeGlobalServiceEvents",
    "IsMultiRegionTrail",
    "HomeRegion",
    "TrailARN",
    "LogFileValidationEnabled",
    "CloudWatchLogsLogGroupArn",
    "CloudWatchLogsRoleArn",
    "KmsKeyId",
    "HasCustomEventSelectors",
    "HasInsightSelectors",
    "IsOrganizationTrail",
)


def check_trail_name(name: str) -> None:
    """CloudTrail's naming rules, with its messages."""
    if name.startswith("arn:"):
        return
    if not _NAME.fullmatch(name) or re.search(r"[._-]{2}", name) or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        raise ServiceError(
            "InvalidTrailNameException",
            "Trail name must be between 3 and 128 characters; start and end with a letter or number; contain only "
            "letters, numbers, periods, underscores and dashes, with no two in a row; and not look like an IP address.",
        )


def check_s3_prefix(prefix: object) -> None:
    """CloudTrail's S3KeyPrefix rule (at most 200 characters), and what keeps log files inside their bucket: no
    leading `/`, no `.` or `..` segment, no NUL or other control character (InvalidS3PrefixException)."""
    if prefix is None or prefix == "":
        return
    if not isinstance(prefix, str):
        raise ServiceError("InvalidS3PrefixException", "S3KeyPrefix must be a string.")
    if len(prefix) > MAX_PREFIX:
        raise ServiceError("InvalidS3PrefixException", f"S3KeyPrefix is longer than {MAX_PREFIX} characters.")
    if prefix.startswith("/") or _CONTROL.search(prefix) or any(part in (".", "..") for part in prefix.split("/")):
        raise ServiceError(
            "InvalidS3PrefixException",
            f"Invalid S3 prefix: {prefix[:MAX_PREFIX]!r}. A prefix may not start with '/', hold a '.' or '..' "
            "segment, or hold control characters.",
        )


def check_selectors(basic: Sequence[Mapping[str, Any]] | None, advanced: Sequence[Mapping[str, Any]] | None) -> None:
    invalid = "InvalidEventSelectorsException"
    if (basic is None) == (advanced is None):
        raise ServiceError(
            "InvalidParameterCombinationException", "You must specify either EventSelectors or AdvancedEventSelectors."
        )
    if basic is not None and len(basic) > MAX_SELECTORS:
        raise ServiceError(invalid, f"You can have no more than {MAX_SELECTORS} event selectors.")
    for selector in basic or []:
        for resource in selector.get("DataResources") or []:
            if resource.get("Type") not in _BASIC_DATA_TYPES:
                raise ServiceError(invalid, f"Value {resource.get('Type')} for DataResources.Type is invalid.")
    for selector in advanced or []:
        fields = selector.get("FieldSelectors") or []
        if not any(field["Field"] == "eventCategory" for field in fields):
            raise ServiceError(invalid, "eventCategory is a required field selector.")
        for field in fields:
            if field["Field"] not in _FIELDS:
                raise ServiceError(invalid, f"Field {field['Field']} is not a valid field selector.")
            if not any(field.get(op) for op in _OPERATORS):
                raise ServiceError(invalid, f"Field selector {field['Field']} needs at least one operator.")


def trail_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:cloudtrail:{region}:{account}:trail/{name}"


class TrailsService:
    def __init__(self, engine: Engine, account: str, region: str) -> None:
        self.engine, self.account, self.region = engine, account, region
        self.resources = engine.resources

    @property
    def _scope(self) -> Scope:
        return Scope("trail", self.account, self.region)

    def _visible(self) -> list[dict[str, Any]]:
        return [
            doc
            for doc in self.resources.all_of_kind("trail")
            if doc["TrailARN"].split(":")[4] == self.account
            and (doc["HomeRegion"] == self.region or doc.get("IsMultiRegionTrail"))
        ]

    def _trail(self, name: str, *, home: bool = False) -> dict[str, Any]:
        check_trail_name(name)
        for doc in self._visible():
            if name in (doc["Name"], doc["TrailARN"]):
                if home and doc["HomeRegion"] != self.region:
                    raise ServiceError(
                        "InvalidHomeRegionException",
                        f"This operation must be called from the trail's home region ({doc['HomeRegion']}).",
                    )
                return doc
        arn = name if name.startswith("arn:") else trail_arn(self.account, self.region, name)
        raise ServiceError("TrailNotFoundException", f"Unknown trail: {arn} for the user: {self.account}")

    def _check_bucket(self, name: str) -> None:
        if not _BUCKET.fullmatch(name) or ".." in name or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
            raise ServiceError("InvalidS3BucketNameException", f"Bucket name is not valid: {name}")
        if not self.engine.buckets.exists(name):
            raise ServiceError(
                "S3BucketDoesNotExistException",
                f"S3 bucket {name} does not exist. (trailbridge: create it with `aws s3 mb s3://{name}` against "
                "this server, or against the S3 endpoint it writes trails to.)",
            )

    def _save(self, doc: dict[str, Any]) -> None:
        scope = Scope("trail", self.account, doc["HomeRegion"])
        self.resources.put(scope, doc["Name"], doc["TrailARN"], doc)

    @operation("cloudtrail", "CreateTrail")
    def create_trail(self, **params: Any) -> dict[str, Any]:
        name = params["Name"]
        check_trail_name(name)
        if name.startswith("arn:"):
            raise ServiceError("InvalidTrailNameException", "A trail name, not an ARN, is needed to create a trail.")
        self._check_bucket(params["S3BucketName"])
        check_s3_prefix(params.get("S3KeyPrefix"))
        if params.get("IsOrganizationTrail"):
            raise ServiceError("OrganizationsNotInUseException", "trailbridge has no AWS Organizations.")
        with self.engine.router.changing():
            if self.resources.by_name(self._scope, name) is not None:
                raise ServiceError(
                    "TrailAlreadyExistsException", f"Trail {name} already exists for customer: {self.account}"
                )
            if self.resources.count(self._scope) >= MAX_TRAILS_PER_REGION:
                raise ServiceError(
                    "MaximumNumberOfTrailsExceededException",
                    f"User: {self.account} already has {MAX_TRAILS_PER_REGION} trails in {self.region}.",
                )
            doc: dict[str, Any] = {
                "Name": name,
                "TrailARN": trail_arn(self.account, self.region, name),
                "HomeRegion": self.region,
                "IncludeGlobalServiceEvents": True,
                "IsMultiRegionTrail": False,
                "LogFileValidationEnabled": False,
                "HasCustomEventSelectors": False,
                "HasInsightSelectors": False,
                "IsOrganizationTrail": False,
                "IsLogging": False,
                "Tags": {t["Key"]: t.get("Value", "") for t in params.get("TagsList") or []},
            }
            doc.update({_SETTABLE[k]: v for k, v in params.items() if k in _SETTABLE and v is not None})
            self._save(doc)
        return _public(doc)

    @operation("cloudtrail", "UpdateTrail")
    def update_trail(self, **params: Any) -> dict[str, Any]:
        with self.engine.router.changing():
            doc = self._trail(params["Name"], home=True)
            if params.get("S3BucketName") is not None:
                self._check_bucket(params["S3BucketName"])
            check_s3_prefix(params.get("S3KeyPrefix"))
            doc.update({_SETTABLE[k]: v for k, v in params.items() if k in _SETTABLE and v is not None})
            self._save(doc)
        return _public(doc)

    @operation("cloudtrail", "DeleteTrail")
    def delete_trail(self, **params: Any) -> dict[str, Any]:
        with self.engine.router.changing():
            doc = self._trail(params["Name"], home=True)
            self.engine.trail_files.finish(doc)  # its last log files, and its final digest
            self.resources.delete(doc["TrailARN"])
        return {}

    @operation("cloudtrail", "GetTrail")
    def get_trail(self, **params: Any) -> dict[str, Any]:
        return {"Trail": _public(self._trail(params["Name"]))}

    @operation("cloudtrail", "DescribeTrails")
    def describe_trails(self, **params: Any) -> dict[str, Any]:
        names = params.get("trailNameList") or []
        shadows = params.get("includeShadowTrails", True)
        docs = [self._trail(name) for name in names] if names else self._visible()
        chosen = [d for d in docs if shadows or d["HomeRegion"] == self.region]
        return {"trailList": [_public(d) for d in sorted(chosen, key=lambda d: d["Name"])]}

    @operation("cloudtrail", "ListTrails")
    def list_trails(self, **params: Any) -> dict[str, Any]:
        items = [
            {"TrailARN": d["TrailARN"], "Name": d["Name"], "HomeRegion": d["HomeRegion"]}
            for d in sorted(self._visible(), key=lambda d: d["TrailARN"])
        ]
        chosen, token = page(items, "TrailARN", params.get("NextToken"), 50)
        return {"Trails": chosen} | ({"NextToken": token} if token else {})

    @operation("cloudtrail", "GetTrailStatus")
    def get_trail_status(self, **params: Any) -> dict[str, Any]:
        doc = self._trail(params["Name"])
        status: dict[str, Any] = {"IsLogging": bool(doc.get("IsLogging"))}
        delivered = self.engine.trail_files.log_files.last_delivery(doc["TrailARN"])
        if delivered is not None:
            status["LatestDeliveryTime"] = timestamp(delivered)
            text = timestamp(delivered).strftime("%Y-%m-%dT%H:%M:%SZ")
            status["LatestDeliveryAttemptTime"] = status["LatestDeliveryAttemptSucceeded"] = text
        digested = self.engine.trail_files.digests.latest(doc)
        if digested is not None:  # what `trail validate --endpoint-url` checks a cut tail against
            status["LatestDigestDeliveryTime"] = timestamp(digested)
        for key, text in (("StartLoggingTime", "TimeLoggingStarted"), ("StopLoggingTime", "TimeLoggingStopped")):
            if doc.get(key) is not None:
                status[key] = timestamp(doc[key])
                status[text] = timestamp(doc[key]).strftime("%Y-%m-%dT%H:%M:%SZ")
        return status

    def _set_logging(self, name: str, logging: bool) -> dict[str, Any]:
        with self.engine.router.changing():
            doc = self._trail(name, home=True)
            doc["IsLogging"] = logging
            doc["StartLoggingTime" if logging else "StopLoggingTime"] = self.engine.clock.now()
            self._save(doc)
        return {}

    @operation("cloudtrail", "StartLogging")
    def start_logging(self, **params: Any) -> dict[str, Any]:
        return self._set_logging(params["Name"], True)

    @operation("cloudtrail", "StopLogging")
    def stop_logging(self, **params: Any) -> dict[str, Any]:
        return self._set_logging(params["Name"], False)

    @operation("cloudtrail", "PutEventSelectors")
    def put_event_selectors(self, **params: Any) -> dict[str, Any]:
        basic, advanced = params.get("EventSelectors"), params.get("AdvancedEventSelectors")
        check_selectors(basic, advanced)
        with self.engine.router.changing():
            doc = self._trail(params["TrailName"], home=True)
            doc["EventSelectors"], doc["AdvancedEventSelectors"] = basic, advanced
            doc["HasCustomEventSelectors"] = True
            self._save(doc)
        return {"TrailARN": doc["TrailARN"]} | _selectors(doc)

    @operation("cloudtrail", "GetEventSelectors")
    def get_event_selectors(self, **params: Any) -> dict[str, Any]:
        doc = self._trail(params["TrailName"])
        return {"TrailARN": doc["TrailARN"]} | _selectors(doc)

    @operation("cloudtrail", "AddTags")
    def add_tags(self, **params: Any) -> dict[str, Any]:
        with self.engine.router.changing():
            doc = self._trail(params["ResourceId"])
            doc["Tags"].update({t["Key"]: t.get("Value", "") for t in params["TagsList"]})
            if len(doc["Tags"]) > 50:
                raise ServiceError("TagsLimitExceededException", "A resource can have no more than 50 tags.")
            self._save(doc)
        return {}

    @operation("cloudtrail", "RemoveTags")
    def remove_tags(self, **params: Any) -> dict[str, Any]:
        with self.engine.router.changing():
            doc = self._trail(params["ResourceId"])
            for tag in params["TagsList"]:
                doc["Tags"].pop(tag["Key"], None)
            self._save(doc)
        return {}

    @operation("cloudtrail", "ListTags")
    def list_tags(self, **params: Any) -> dict[str, Any]:
        tagged = [self._trail(resource) for resource in params["ResourceIdList"]]
        return {
            "ResourceTagList": [
                {"ResourceId": d["TrailARN"], "TagsList": [{"Key": k, "Value": v} for k, v in d["Tags"].items()]}
                for d in tagged
            ]
        }


def _public(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {key: doc[key] for key in _PUBLIC if key in doc}


def _selectors(doc: Mapping[str, Any]) -> dict[str, Any]:
    if doc.get("AdvancedEventSelectors"):
        return {"AdvancedEventSelectors": doc["AdvancedEventSelectors"]}
    return {"EventSelectors": doc.get("EventSelectors") or DEFAULT_SELECTORS}
