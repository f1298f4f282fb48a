"""The tags of SNS topics (the only SNS resource trailbridge tags): at most 50, only the topic's owner may
read or change them (SNS's topic policies do not grant tagging)."""

from __future__ import annotations

from typing import Any

from trailbridge.services.base import ServiceError
from trailbridge.services.sns.common import SnsParts, sns_operation

_MOST_TAGS = 50


class TagsService(SnsParts):
    def _tagged(self, arn: str, action: str) -> dict[str, Any]:
        self.authorize(action, arn, None)
        doc = self.find_topic(arn, action, "ResourceArn")
        if doc is None:
            raise ServiceError("ResourceNotFound", "Resource does not exist", 404)
        return doc

    @sns_operation("TagResource")
    def tag_resource(self, **params: Any) -> dict[str, Any]:
        doc = self._tagged(params["ResourceArn"], "SNS:TagResource")
        tags = doc["Tags"] | {tag["Key"]: tag["Value"] for tag in params["Tags"]}
        if len(tags) > _MOST_TAGS:
            raise ServiceError("TagLimitExceeded", "Could not complete request: tag quota of per resource exceeded")
        doc["Tags"] = tags
        self.save_topic(doc)
        return {}

    @sns_operation("UntagResource")
    def untag_resource(self, **params: Any) -> dict[str, Any]:
        doc = self._tagged(params["ResourceArn"], "SNS:UntagResource")
        doc["Tags"] = {k: v for k, v in doc["Tags"].items() if k not in params["TagKeys"]}
        self.save_topic(doc)
        return {}

    @sns_operation("ListTagsForResource")
    def list_tags_for_resource(self, **params: Any) -> dict[str, Any]:
        doc = self._tagged(params["ResourceArn"], "SNS:ListTagsForResource")
        return {"Tags": [{"Key": k, "Value": v} for k, v in doc["Tags"].items()]}
