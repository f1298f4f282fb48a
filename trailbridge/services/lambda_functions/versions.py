"""Published versions and aliases. A version is a document of kind `lambda-version` beside its function
(the function's ARN its scope's parent), named by its number: `Configuration` is $LATEST's as it was
published, with its own Version, FunctionArn (qualified), Description and RevisionId, and `Origin` where its
zip came from. An alias is a
`lambda-alias` document there, `Alias` the AliasConfiguration Lambda answers. Weighted routing between two
versions (RoutingConfig) is refused: trailbridge does not split invocations."""

from __future__ import annotations

from typing import Any

from trailbridge.services.lambda_functions.common import (
    ALIAS,
    LATEST,
    VERSION,
    LambdaParts,
    conflict,
    invalid,
    lambda_operation,
    lambda_time,
    not_built,
    not_found,
    paged,
    precondition_failed,
    revision_id,
)

_UNVERSIONED = ("FunctionArn", "Version", "RevisionId", "LastModified", "Description")


def _same(config: dict[str, Any], published: dict[str, Any]) -> bool:
    """Whether $LATEST is what a version already published (Lambda publishes no new version then)."""
    return {k: v for k, v in config.items() if k not in _UNVERSIONED} == {
        k: v for k, v in published.items() if k not in _UNVERSIONED
    }


def publish(parts: LambdaParts, doc: dict[str, Any], description: str | None) -> dict[str, Any]:
    """Publish $LATEST as the next version (or answer the last version when $LATEST has not changed since)."""
    arn, latest = doc["FunctionArn"], doc["Configuration"]
    last = parts.child(VERSION, arn, str(doc["LastVersion"])) if doc["LastVersion"] else None
    if last is not None and _same(latest, last["Configuration"]):
        return dict(last["Configuration"])
    number = str(doc["LastVersion"] + 1)
    config = latest | {
        "FunctionArn": f"{arn}:{number}",
        "Version": number,
        "RevisionId": revision_id(),
        "LastModified": lambda_time(parts.engine.clock.now()),
    }
    if description is not None:
        config["Description"] = description
    parts.save_child(VERSION, arn, number, {"Configuration": config, "Origin": doc["Origin"]})
    doc["LastVersion"] = int(number)
    parts.save_function(doc)
    return dict(config)


class VersionsService(LambdaParts):
    @lambda_operation("PublishVersion")
    def publish_version(self, **params: Any) -> dict[str, Any]:
        if params.get("PublishTo"):
            raise not_built("publish versions elsewhere than the function's numbered versions")
        named = self.named(params, qualifier=False)
        if named.qualifier is not None:
            raise invalid("Please do not provide a qualifier when publishing a version.")
        doc = self.function(named, "lambda:PublishVersion")
        latest = doc["Configuration"]
        if params.get("CodeSha256") and params["CodeSha256"] != latest["CodeSha256"]:
            raise invalid(
                f"CodeSHA256 ({params['CodeSha256']}) is different from current CodeSHA256 in $LATEST "
                f"({latest['CodeSha256']}). Please try again with the CodeSHA256 in $LATEST."
            )
        if params.get("RevisionId") and params["RevisionId"] != latest["RevisionId"]:
            raise precondition_failed()
        return publish(self, doc, params.get("Description"))

    @lambda_operation("ListVersionsByFunction")
    def list_versions_by_function(self, **params: Any) -> dict[str, Any]:
        named = self.named(params, qualifier=False)
        doc = self.function(named, "lambda:ListVersionsByFunction")
        latest = doc["Configuration"] | {"FunctionArn": f"{doc['FunctionArn']}:{LATEST}"}
        versions = [latest] + [v["Configuration"] for v in self.children(VERSION, doc["FunctionArn"])]
        keyed = [c | {"_key": "" if c["Version"] == LATEST else c["Version"].zfill(10)} for c in versions]
        keyed[0]["_key"] = " "  # $LATEST first, before every number, and after no marker
        chosen, marker = paged(keyed, "_key", params.get("Marker"), params.get("MaxItems") or 50)
        answer: dict[str, Any] = {"Versions": [{k: v for k, v in c.items() if k != "_key"} for c in chosen]}
        return answer | ({"NextMarker": marker} if marker else {})

    # -- aliases ------------------------------------------------------------------------------

    def _version_exists(self, doc: dict[str, Any], version: str) -> None:
        if version != LATEST and self.child(VERSION, doc["FunctionArn"], version) is None:
            raise not_found(f"Function not found: {doc['FunctionArn']}:{version}")

    def _alias(self, params: dict[str, Any], action: str) -> tuple[dict[str, Any], dict[str, Any]]:
        named = self.named(params, qualifier=False)
        doc = self.function(named, action)
        found = self.child(ALIAS, doc["FunctionArn"], params["Name"])
        if found is None:
            raise not_found(f"Cannot find alias arn: {doc['FunctionArn']}:{params['Name']}")
        return doc, found

    @lambda_operation("CreateAlias")
    def create_alias(self, **params: Any) -> dict[str, Any]:
        _no_routing(params)
        named = self.named(params, qualifier=False)
        doc = self.function(named, "lambda:CreateAlias")
        arn, name = doc["FunctionArn"], params["Name"]
        if name == LATEST or name.isdigit():
            raise invalid(f"Alias name {name} is not valid: it names a version.")
        if self.child(ALIAS, arn, name) is not None:
            raise conflict(f"Alias already exists: {arn}:{name}")
        self._version_exists(doc, params["FunctionVersion"])
        alias = {
            "AliasArn": f"{arn}:{name}",
            "Name": name,
            "FunctionVersion": params["FunctionVersion"],
            "Description": params.get("Description") or "",
            "RevisionId": revision_id(),
        }
        self.save_child(ALIAS, arn, name, {"Alias": alias})
        return alias

    @lambda_operation("GetAlias")
    def get_alias(self, **params: Any) -> dict[str, Any]:
        return dict(self._alias(params, "lambda:GetAlias")[1]["Alias"])

    @lambda_operation("UpdateAlias")
    def update_alias(self, **params: Any) -> dict[str, Any]:
        _no_routing(params)
        doc, found = self._alias(params, "lambda:UpdateAlias")
        alias = dict(found["Alias"])
        if params.get("RevisionId") and params["RevisionId"] != alias["RevisionId"]:
            raise precondition_failed()
        if params.get("FunctionVersion"):
            self._version_exists(doc, params["FunctionVersion"])
            alias["FunctionVersion"] = params["FunctionVersion"]
        if params.get("Description") is not None:
            alias["Description"] = params["Description"]
        alias["RevisionId"] = revision_id()
        self.save_child(ALIAS, doc["FunctionArn"], alias["Name"], {"Alias": alias})
        return alias

    @lambda_operation("DeleteAlias")
    def delete_alias(self, **params: Any) -> dict[str, Any]:
        """Deleting an alias that does not exist succeeds, as in Lambda."""
        named = self.named(params, qualifier=False)
        doc = self.function(named, "lambda:DeleteAlias")
        self.delete_child(ALIAS, doc["FunctionArn"], params["Name"])
        return {}

    @lambda_operation("ListAliases")
    def list_aliases(self, **params: Any) -> dict[str, Any]:
        named = self.named(params, qualifier=False)
        doc = self.function(named, "lambda:ListAliases")
        aliases = [a["Alias"] for a in self.children(ALIAS, doc["FunctionArn"])]
        if params.get("FunctionVersion"):
            aliases = [a for a in aliases if a["FunctionVersion"] == params["FunctionVersion"]]
        chosen, marker = paged(aliases, "Name", params.get("Marker"), params.get("MaxItems") or 50)
        return {"Aliases": chosen} | ({"NextMarker": marker} if marker else {})


def _no_routing(params: dict[str, Any]) -> None:
    if (params.get("RoutingConfig") or {}).get("AdditionalVersionWeights"):
        raise not_built("route an alias's invocations between versions (RoutingConfig)")
