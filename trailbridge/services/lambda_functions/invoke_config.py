"""How Lambda makes a function's asynchronous invocations: PutFunctionEventInvokeConfig and the rest, one
configuration per qualifier (none: $LATEST), a document of kind `lambda-invoke-config` beside the function;
`Config` is the FunctionEventInvokeConfig Lambda answers (LastModified in epoch seconds)."""

from __future__ import annotations

import re
from typing import Any

from trailbridge.services.base import timestamp
from trailbridge.services.lambda_functions.common import (
    INVOKE_CONFIG,
    LATEST,
    LambdaParts,
    Named,
    invalid,
    lambda_operation,
    not_found,
    paged,
)

# Where a destination may be: an SQS queue, an SNS topic, a function, an event bus.
_DESTINATION = re.compile(
    r"arn:aws[a-zA-Z-]*:(sqs:[a-z0-9-]+:\d{12}:[\w.-]+|sns:[a-z0-9-]+:\d{12}:[\w.-]+"
    r"|lambda:[a-z0-9-]+:\d{12}:function:[\w-]+(:[\w$-]+)?|events:[a-z0-9-]+:\d{12}:event-bus/[\w./-]+)"
)
_MEMBERS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")


class EventInvokeConfigService(LambdaParts):
    def _target(self, params: dict[str, Any], action: str) -> tuple[Named, str]:
        named = self.named(params)
        doc = self.function(named, action)
        qualifier = named.qualifier or LATEST
        self.check_qualifier(doc, qualifier)
        return named, qualifier

    def _checked(self, named: Named, config: dict[str, Any]) -> None:
        destinations = config.get("DestinationConfig") or {}
        for side in ("OnSuccess", "OnFailure"):
            arn = (destinations.get(side) or {}).get("Destination")
            if arn is None:
                continue
            if not _DESTINATION.fullmatch(arn):
                raise invalid(f"The destination ARN {arn} is invalid.")
            if arn.split(":")[:7] == named.arn.split(":"):
                raise invalid("You can't specify the function as a destination for itself.")

    def _save(self, named: Named, qualifier: str, members: dict[str, Any]) -> dict[str, Any]:
        self._checked(named, members)
        config = {"FunctionArn": f"{named.arn}:{qualifier}", "LastModified": self.engine.clock.now()} | members
        self.save_child(INVOKE_CONFIG, named.arn, qualifier, {"Config": config})
        return _shown(config)

    def _kept(self, named: Named, qualifier: str) -> dict[str, Any]:
        found = self.child(INVOKE_CONFIG, named.arn, qualifier)
        if found is None:
            raise not_found(f"The function {named.arn}:{qualifier} doesn't have an EventInvokeConfig")
        return dict(found["Config"])

    @lambda_operation("PutFunctionEventInvokeConfig")
    def put_function_event_invoke_config(self, **params: Any) -> dict[str, Any]:
        named, qualifier = self._target(params, "lambda:PutFunctionEventInvokeConfig")
        return self._save(named, qualifier, {k: params[k] for k in _MEMBERS if params.get(k) is not None})

    @lambda_operation("UpdateFunctionEventInvokeConfig")
    def update_function_event_invoke_config(self, **params: Any) -> dict[str, Any]:
        named, qualifier = self._target(params, "lambda:UpdateFunctionEventInvokeConfig")
        kept = self._kept(named, qualifier)
        members = {k: kept[k] for k in _MEMBERS if k in kept} | {
            k: params[k] for k in _MEMBERS if params.get(k) is not None
        }
        return self._save(named, qualifier, members)

    @lambda_operation("GetFunctionEventInvokeConfig")
    def get_function_event_invoke_config(self, **params: Any) -> dict[str, Any]:
        named, qualifier = self._target(params, "lambda:GetFunctionEventInvokeConfig")
        return _shown(self._kept(named, qualifier))

    @lambda_operation("DeleteFunctionEventInvokeConfig")
    def delete_function_event_invoke_config(self, **params: Any) -> dict[str, Any]:
        named, qualifier = self._target(params, "lambda:DeleteFunctionEventInvokeConfig")
        self._kept(named, qualifier)
        self.delete_child(INVOKE_CONFIG, named.arn, qualifier)
        return {}

    @lambda_operation("ListFunctionEventInvokeConfigs")
    def list_function_event_invoke_configs(self, **params: Any) -> dict[str, Any]:
        named = self.named(params, qualifier=False)
        doc = self.function(named, "lambda:ListFunctionEventInvokeConfigs")
        configs = [c["Config"] | {"_key": c["Qualifier"]} for c in self.children(INVOKE_CONFIG, doc["FunctionArn"])]
        chosen, marker = paged(configs, "_key", params.get("Marker"), params.get("MaxItems") or 50)
        shown = [_shown({k: v for k, v in c.items() if k != "_key"}) for c in chosen]
        return {"FunctionEventInvokeConfigs": shown} | ({"NextMarker": marker} if marker else {})


def _shown(config: dict[str, Any]) -> dict[str, Any]:
    return config | {"LastModified": timestamp(config["LastModified"])}
