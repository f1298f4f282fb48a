"""The tags of state machines (and activities): at most 50, only their owner may read or change them."""

from __future__ import annotations

from typing import Any

from trailbridge.services.states.common import ACTIVITY, MACHINE, StatesParts, allow, error, states_operation

_MAX_TAGS = 50


def tag_map(tags: list[dict[str, Any]] | None, held: dict[str, str] | None = None) -> dict[str, str]:
    """The tags `held` with `tags` (as the API gives them) put over them; ValidationException for a tag
    without its key, TooManyTags past 50."""
    merged = dict(held or {})
    for tag in tags or []:
        if "key" not in tag:
            raise error("ValidationException", "Invalid tag: a tag must have a key")
        merged[tag["key"]] = tag.get("value", "")
    if len(merged) > _MAX_TAGS:
        raise error("TooManyTags", f"Too many tags: at most {_MAX_TAGS} per resource")
    return merged


class TagsService(StatesParts):
    def _tagged(self, arn: str, action: str) -> dict[str, Any]:
        allow(self.account, action, arn)
        doc = self.resources.get(arn)
        if doc is None or doc.get("Kind") not in (MACHINE, ACTIVITY):
            raise error("ResourceNotFound", f"Resource not found: '{arn}'")
        return doc

    def _save(self, arn: str, doc: dict[str, Any]) -> None:
        scope, name = self.resources.scope_of(arn) or (None, "")
        if scope is None:
            raise error("ResourceNotFound", f"Resource not found: '{arn}'")
        self.resources.put(scope, name, arn, doc, config=False)

    @states_operation("TagResource")
    def tag_resource(self, **params: Any) -> dict[str, Any]:
        doc = self._tagged(params["resourceArn"], "states:TagResource")
        doc["tags"] = tag_map(params["tags"], doc["tags"])
        self._save(params["resourceArn"], doc)
        return {}

    @states_operation("UntagResource")
    def untag_resource(self, **params: Any) -> dict[str, Any]:
        doc = self._tagged(params["resourceArn"], "states:UntagResource")
        doc["tags"] = {k: v for k, v in doc["tags"].items() if k not in params["tagKeys"]}
        self._save(params["resourceArn"], doc)
        return {}

    @states_operation("ListTagsForResource")
    def list_tags_for_resource(self, **params: Any) -> dict[str, Any]:
        doc = self._tagged(params["resourceArn"], "states:ListTagsForResource")
        return {"tags": [{"key": k, "value": v} for k, v in doc["tags"].items()]}
