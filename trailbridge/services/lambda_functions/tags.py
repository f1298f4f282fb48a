"""The tags of functions (Lambda tags the function, not its versions or aliases): at most 50; only the
function's owner reads or changes them."""

from __future__ import annotations

from typing import Any

from trailbridge.services.lambda_functions.common import LambdaParts, Named, invalid, lambda_operation, parse_name

MOST_TAGS = 50


class TagsService(LambdaParts):
    def _tagged(self, params: dict[str, Any], action: str) -> dict[str, Any]:
        named = parse_name(params["Resource"], None, *self.place)
        if named.qualifier is not None:
            raise invalid("Tags on function aliases and versions are not supported. Please specify a function ARN.")
        if named.account != self.account:
            self.authorize(action, Named(named.account, named.region, named.name, None), None)
        return self.function(named, action)

    @lambda_operation("TagResource")
    def tag_resource(self, **params: Any) -> dict[str, Any]:
        doc = self._tagged(params, "lambda:TagResource")
        tags = doc["Tags"] | dict(params["Tags"])
        if len(tags) > MOST_TAGS:
            raise invalid("Number of tags exceeds resource tag limit.")
        doc["Tags"] = tags
        self.save_function(doc)
        return {}

    @lambda_operation("UntagResource")
    def untag_resource(self, **params: Any) -> dict[str, Any]:
        doc = self._tagged(params, "lambda:UntagResource")
        doc["Tags"] = {k: v for k, v in doc["Tags"].items() if k not in params["TagKeys"]}
        self.save_function(doc)
        return {}

    @lambda_operation("ListTags")
    def list_tags(self, **params: Any) -> dict[str, Any]:
        return {"Tags": dict(self._tagged(params, "lambda:ListTags")["Tags"])}
