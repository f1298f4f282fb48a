"""Lambda functions: create (from a zip or an S3 object), read, list, update code and configuration, delete
(the function, or one version), the account's settings, and Invoke (`invoking`: run in the worker runtime).

A function is a document of kind `lambda-function` on the `Resources` port, named by its name in its account
and region: `Configuration` is $LATEST's FunctionConfiguration as Lambda answers it, `Origin` where its zip
came from (S3Bucket/S3Key, or nothing for a ZipFile), `Tags`, `Concurrency` (PutFunctionConcurrency, or
None) and `LastVersion` (the number of the last published version)."""

from __future__ import annotations

from typing import Any

from trailbridge.services.base import ServiceError
from trailbridge.services.lambda_functions import code as codes
from trailbridge.services.lambda_functions import invoking
from trailbridge.services.lambda_functions.common import (
    ALIAS,
    CHILD_KINDS,
    FUNCTION,
    LATEST,
    VERSION,
    LambdaParts,
    Named,
    conflict,
    function_scope,
    invalid,
    lambda_operation,
    lambda_time,
    not_built,
    paged,
    precondition_failed,
    revision_id,
)
from trailbridge.services.lambda_functions.settings import configured, defaults
from trailbridge.services.lambda_functions.tags import MOST_TAGS
from trailbridge.services.lambda_functions.versions import publish

ACCOUNT_CONCURRENCY = 1000
MINIMUM_UNRESERVED = 100
TOTAL_CODE_SIZE = 80 * 1024 * 1024 * 1024  # 75 GB of code per account and region


class FunctionsService(LambdaParts):
    @lambda_operation("CreateFunction")
    def create_function(self, **params: Any) -> dict[str, Any]:
        named = self.named(params, qualifier=False)
        if named.qualifier is not None:
            raise invalid("Qualifier is not supported when creating a function.")
        if named.account != self.account:
            raise ServiceError("AccessDeniedException", "Cross-account function creation is not allowed.", 403)
        if params.get("PackageType", "Zip") != "Zip":
            raise not_built("run container images (PackageType Image)")
        if not params.get("Runtime") or not params.get("Handler"):
            raise invalid(
                "Runtime and Handler are mandatory parameters for functions created with deployment packages."
            )
        config = configured(defaults(named.name, named.arn), params, self.account)
        if params.get("Architectures"):
            config["Architectures"] = list(params["Architectures"])
        if len(params.get("Tags") or {}) > MOST_TAGS:
            raise invalid("Number of tags exceeds resource tag limit.")
        if self.resources.by_name(function_scope(*self.place), named.name) is not None:
            raise conflict(f"Function already exist: {named.name}")
        code = codes.code_of(self.engine, self.account, self.region, dict(params["Code"]), "CreateFunction")
        codes.keep(self.engine, self.account, self.region, code)
        config |= self._code_members(code)
        doc: dict[str, Any] = {
            "Kind": FUNCTION,
            "FunctionArn": named.arn,
            "Configuration": config,
            "Origin": code.origin,
        }
        doc |= {"Tags": dict(params.get("Tags") or {}), "Concurrency": None, "LastVersion": 0}
        self.save_function(doc)
        return publish(self, doc, None) if params.get("Publish") else config

    def _code_members(self, code: codes.Code) -> dict[str, Any]:
        return {
            "CodeSha256": code.sha256,
            "CodeSize": len(code.data),
            "LastModified": lambda_time(self.engine.clock.now()),
            "RevisionId": revision_id(),
        }

    @lambda_operation("GetFunction")
    def get_function(self, **params: Any) -> dict[str, Any]:
        named = self.named(params)
        doc = self.function(named, "lambda:GetFunction")
        config = self.configuration(doc, named.qualifier)
        version = self.child(VERSION, doc["FunctionArn"], config["Version"]) if config["Version"] != LATEST else None
        origin = (version or doc)["Origin"]
        location = codes.location(self.engine, named.account, config, origin)
        answer: dict[str, Any] = {"Configuration": config, "Code": {"RepositoryType": "S3", "Location": location}}
        if doc["Tags"]:
            answer["Tags"] = doc["Tags"]
        if doc["Concurrency"] is not None:
            answer["Concurrency"] = {"ReservedConcurrentExecutions": doc["Concurrency"]}
        return answer

    @lambda_operation("GetFunctionConfiguration")
    def get_function_configuration(self, **params: Any) -> dict[str, Any]:
        named = self.named(params)
        return self.configuration(self.function(named, "lambda:GetFunctionConfiguration"), named.qualifier)

    @lambda_operation("ListFunctions")
    def list_functions(self, **params: Any) -> dict[str, Any]:
        """The account's functions by name ($LATEST each; with FunctionVersion ALL, every version after it)."""
        if params.get("MasterRegion"):
            raise not_built("replicate functions to Lambda@Edge regions")
        everything = params.get("FunctionVersion") == "ALL"
        listed: list[dict[str, Any]] = []
        for doc in self.resources.scan(function_scope(*self.place)):
            listed.append(doc["Configuration"] | {"_key": doc["Configuration"]["FunctionName"]})
            if everything:
                for version in self.children(VERSION, doc["FunctionArn"]):
                    key = f"{doc['Configuration']['FunctionName']}:{version['Configuration']['Version'].zfill(10)}"
                    listed.append(version["Configuration"] | {"_key": key})
        chosen, marker = paged(listed, "_key", params.get("Marker"), params.get("MaxItems") or 50)
        answer: dict[str, Any] = {"Functions": [{k: v for k, v in c.items() if k != "_key"} for c in chosen]}
        return answer | ({"NextMarker": marker} if marker else {})

    @lambda_operation("UpdateFunctionCode")
    def update_function_code(self, **params: Any) -> dict[str, Any]:
        named = self.named(params, qualifier=False)
        doc = self._latest(named, "lambda:UpdateFunctionCode", params.get("RevisionId"))
        code = codes.code_of(self.engine, named.account, self.region, params, "UpdateFunctionCode")
        config = doc["Configuration"] | self._code_members(code)
        if params.get("Architectures"):
            config["Architectures"] = list(params["Architectures"])
        if params.get("DryRun"):
            return dict(config)
        codes.keep(self.engine, named.account, self.region, code)
        old = doc["Configuration"]["CodeSha256"]
        doc["Configuration"], doc["Origin"] = config, code.origin
        self.save_function(doc)
        self._collect(named.account, {old})
        return publish(self, doc, None) if params.get("Publish") else config

    @lambda_operation("UpdateFunctionConfiguration")
    def update_function_configuration(self, **params: Any) -> dict[str, Any]:
        named = self.named(params, qualifier=False)
        doc = self._latest(named, "lambda:UpdateFunctionConfiguration", params.get("RevisionId"))
        config = configured(doc["Configuration"], params, named.account)
        config |= {"LastModified": lambda_time(self.engine.clock.now()), "RevisionId": revision_id()}
        doc["Configuration"] = config
        self.save_function(doc)
        return config

    def _latest(self, named: Named, action: str, revision: str | None) -> dict[str, Any]:
        if named.qualifier is not None:
            raise invalid("Please do not provide a qualifier when updating a function's code or configuration.")
        doc = self.function(named, action)
        if revision and revision != doc["Configuration"]["RevisionId"]:
            raise precondition_failed()
        return doc

    @lambda_operation("DeleteFunction")
    def delete_function(self, **params: Any) -> dict[str, Any]:
        named = self.named(params)
        doc = self.function(named, "lambda:DeleteFunction")
        if named.qualifier is not None:
            self._delete_version(doc, named.qualifier)
            return {"StatusCode": 204}
        digests = {doc["Configuration"]["CodeSha256"]}
        for kind in CHILD_KINDS:
            for child in self.children(kind, doc["FunctionArn"]):
                digests |= {child["Configuration"]["CodeSha256"]} if kind == VERSION else set()
                self.delete_child(kind, doc["FunctionArn"], child["Qualifier"])
        self.resources.delete(doc["FunctionArn"])
        self._collect(named.account, digests)
        return {"StatusCode": 204}

    def _delete_version(self, doc: dict[str, Any], qualifier: str) -> None:
        if qualifier == LATEST:
            raise invalid("$LATEST version cannot be deleted without deleting the function.")
        if not qualifier.isdigit():
            raise invalid("Deletion of aliases is not supported by DeleteFunction: use DeleteAlias.")
        arn = doc["FunctionArn"]
        version = self.child(VERSION, arn, qualifier)
        if version is None:
            raise ServiceError("ResourceNotFoundException", f"Function not found: {arn}:{qualifier}", 404)
        using = sorted(
            a["Alias"]["Name"] for a in self.children(ALIAS, arn) if a["Alias"]["FunctionVersion"] == qualifier
        )
        if using:
            raise conflict(f"Unable to delete version because the following aliases reference it: [{', '.join(using)}]")
        self.delete_child(VERSION, arn, qualifier)
        self._collect(arn.split(":")[4], {version["Configuration"]["CodeSha256"]})

    def _collect(self, account: str, digests: set[str]) -> None:
        """Drop the kept zips of `digests` that no function or version of the account uses any more."""
        used = {c["CodeSha256"] for c in self._configurations(account)}
        for digest in digests - used:
            codes.forget(self.engine, account, codes.sha_hex(digest))

    def _configurations(self, account: str) -> list[dict[str, Any]]:
        """Every configuration of the account in every region: $LATEST's and each version's."""
        found = []
        for doc in self.resources.all_of_kind(FUNCTION):
            if doc["FunctionArn"].split(":")[4] == account:
                found.append(doc["Configuration"])
                found.extend(v["Configuration"] for v in self.children(VERSION, doc["FunctionArn"]))
        return found

    @lambda_operation("Invoke")
    def invoke(self, **params: Any) -> dict[str, Any]:
        """RequestResponse (the payload back, FunctionError and LogResult), Event (202, queued durably) or
        DryRun (204), as Lambda answers them (`invoking.invoke`)."""
        named = self.named(params)
        self.check_qualifier(self.function(named, "lambda:InvokeFunction"), named.qualifier)
        return invoking.invoke(self.engine, named, params)

    @lambda_operation("GetAccountSettings")
    def get_account_settings(self, **params: Any) -> dict[str, Any]:
        docs = list(self.resources.scan(function_scope(*self.place)))
        reserved = sum(doc["Concurrency"] or 0 for doc in docs)
        sizes = sum(c["CodeSize"] for doc in docs for c in [doc["Configuration"], *self._versions_of(doc)])
        limit = {
            "TotalCodeSize": TOTAL_CODE_SIZE,
            "CodeSizeUnzipped": codes.UNZIPPED_LIMIT,
            "CodeSizeZipped": codes.ZIPPED_LIMIT,
            "ConcurrentExecutions": ACCOUNT_CONCURRENCY,
            "UnreservedConcurrentExecutions": ACCOUNT_CONCURRENCY - reserved,
        }
        return {"AccountLimit": limit, "AccountUsage": {"TotalCodeSize": sizes, "FunctionCount": len(docs)}}

    def _versions_of(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        return [v["Configuration"] for v in self.children(VERSION, doc["FunctionArn"])]
