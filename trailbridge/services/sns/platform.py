"""Amazon SNS mobile push: platform applications (an app's credentials for ADM, APNS, Baidu, FCM, MPNS or
WNS) and their endpoints (one device's token), stored and checked as SNS stores and checks them. No push
service is reachable from a self-hosted server, so what Publish sends an endpoint is kept in the push outbox
(`push.py`).

An application is a document of kind `sns-platform-application` named `PLATFORM/NAME` in its account and
region: `Attributes` holds what may be answered, `SealedCredentials` the PlatformCredential and
PlatformPrincipal sealed with the engine's `secrets` (never answered, as in SNS). An endpoint is a document of
kind `sns-platform-endpoint` beside its application (the application's ARN as the scope's parent), named by
its id, its `Attributes` (Enabled, Token, CustomUserData) as SNS answers them."""

from __future__ import annotations

from typing import Any

from trailbridge.errors import InvalidInputError
from trailbridge.services.base import page
from trailbridge.services.sns import platform_checks as checks
from trailbridge.services.sns.common import SnsParts, invalid_parameter, not_found, sns_operation
from trailbridge.storage.ports import Scope

APPLICATION = "sns-platform-application"
ENDPOINT = "sns-platform-endpoint"


def _endpoint_scope(application_arn: str) -> Scope:
    _, _, _, region, account, _ = application_arn.split(":", 5)
    return Scope(ENDPOINT, account, region, application_arn)


def _paged(items: list[dict[str, Any]], key: str, token: str | None, listed: str) -> dict[str, Any]:
    try:
        chosen, following = page(sorted(items, key=lambda item: item[key]), key, token, 100)
    except InvalidInputError:
        raise invalid_parameter("NextToken") from None
    return {listed: chosen} | ({"NextToken": following} if following else {})


class PlatformService(SnsParts):
    # -- the documents ------------------------------------------------------------------------------

    def _application(self, arn: str, action: str) -> dict[str, Any] | None:
        checks.check_arn(arn, "PlatformApplicationArn", "app", 2)
        self.authorize(action, arn, None)
        doc = self.resources.get(arn)
        return doc if doc is not None and doc.get("Kind") == APPLICATION else None

    def _existing_application(self, arn: str, action: str) -> dict[str, Any]:
        doc = self._application(arn, action)
        if doc is None:
            raise not_found("PlatformApplication")
        return doc

    def _endpoint(self, arn: str, action: str) -> dict[str, Any] | None:
        checks.check_arn(arn, "EndpointArn", "endpoint", 3)
        self.authorize(action, arn, None)
        doc = self.resources.get(arn)
        return doc if doc is not None and doc.get("Kind") == ENDPOINT else None

    def _existing_endpoint(self, arn: str, action: str) -> dict[str, Any]:
        doc = self._endpoint(arn, action)
        if doc is None:
            raise not_found("Endpoint")
        return doc

    def _save_application(self, doc: dict[str, Any]) -> None:
        arn = doc["PlatformApplicationArn"]
        _, _, _, region, account, relative = arn.split(":", 5)
        name = relative.removeprefix("app/")
        self.resources.put(Scope(APPLICATION, account, region), name, arn, doc, config=False)

    def _save_endpoint(self, doc: dict[str, Any]) -> None:
        arn = doc["EndpointArn"]
        self.resources.put(_endpoint_scope(doc["Application"]), arn.rsplit("/", 1)[1], arn, doc, config=False)

    def _endpoints_of(self, application_arn: str) -> list[dict[str, Any]]:
        return list(self.resources.scan(_endpoint_scope(application_arn)))

    def _credentials(self, doc: dict[str, Any]) -> dict[str, str]:
        return self.engine.secrets.open(doc["SealedCredentials"])

    def _split(self, given: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        """(what may be answered, what is sealed) of a request's attributes."""
        public = {k: v for k, v in given.items() if k not in checks.SEALED}
        return public, {k: v for k, v in given.items() if k in checks.SEALED}

    # -- platform applications ----------------------------------------------------------------------

    @sns_operation("CreatePlatformApplication")
    def create_platform_application(self, **params: Any) -> dict[str, Any]:
        name, platform, given = params["Name"], params["Platform"], dict(params["Attributes"])
        checks.check_application(name, platform)
        if not given:
            raise checks.null_attributes()
        checks.check_credentials(platform, given)
        checks.check_application_attributes(given)
        arn = f"arn:aws:sns:{self.region}:{self.account}:app/{platform}/{name}"
        public, sealed = self._split(given)
        existing = self._application(arn, "SNS:CreatePlatformApplication")
        if existing is not None:
            return self._again(existing, public, sealed)
        doc = {
            "Kind": APPLICATION,
            "PlatformApplicationArn": arn,
            "Attributes": {k: v for k, v in public.items() if v},
            "SealedCredentials": self.engine.secrets.seal(sealed),
        }
        self._save_application(doc)
        return {"PlatformApplicationArn": arn}

    def _again(self, existing: dict[str, Any], public: dict[str, str], sealed: dict[str, str]) -> dict[str, Any]:
        """The same name on the same platform: the same application, unless its properties differ."""
        same = existing["Attributes"] == {k: v for k, v in public.items() if v}
        if not same or self._credentials(existing) != sealed:
            raise invalid_parameter(
                "Name Reason: An application with the same name but different properties already exists"
            )
        return {"PlatformApplicationArn": existing["PlatformApplicationArn"]}

    @sns_operation("GetPlatformApplicationAttributes")
    def get_platform_application_attributes(self, **params: Any) -> dict[str, Any]:
        doc = self._existing_application(params["PlatformApplicationArn"], "SNS:GetPlatformApplicationAttributes")
        return {"Attributes": {"Enabled": "true", **doc["Attributes"]}}

    @sns_operation("SetPlatformApplicationAttributes")
    def set_platform_application_attributes(self, **params: Any) -> dict[str, Any]:
        arn, given = params["PlatformApplicationArn"], dict(params["Attributes"])
        checks.check_arn(arn, "PlatformApplicationArn", "app", 2)
        if not given:
            raise checks.null_attributes()
        doc = self._existing_application(arn, "SNS:SetPlatformApplicationAttributes")
        checks.check_application_attributes(given)
        public, sealed = self._split(given)
        attributes = doc["Attributes"] | public
        doc["Attributes"] = {k: v for k, v in attributes.items() if v}
        if sealed:
            doc["SealedCredentials"] = self.engine.secrets.seal(self._credentials(doc) | sealed)
        self._save_application(doc)
        return {}

    @sns_operation("ListPlatformApplications")
    def list_platform_applications(self, **params: Any) -> dict[str, Any]:
        docs = self.resources.scan(Scope(APPLICATION, self.account, self.region))
        shown = [
            {
                "PlatformApplicationArn": d["PlatformApplicationArn"],
                "Attributes": {"Enabled": "true", **d["Attributes"]},
            }
            for d in docs
        ]
        return _paged(shown, "PlatformApplicationArn", params.get("NextToken"), "PlatformApplications")

    @sns_operation("DeletePlatformApplication")
    def delete_platform_application(self, **params: Any) -> dict[str, Any]:
        """Its endpoints go with it; deleting an application that does not exist succeeds, as in SNS."""
        doc = self._application(params["PlatformApplicationArn"], "SNS:DeletePlatformApplication")
        if doc is not None:
            for endpoint in self._endpoints_of(doc["PlatformApplicationArn"]):
                self.resources.delete(endpoint["EndpointArn"])
            self.resources.delete(doc["PlatformApplicationArn"])
        return {}

    # -- platform endpoints -------------------------------------------------------------------------

    @sns_operation("CreatePlatformEndpoint")
    def create_platform_endpoint(self, **params: Any) -> dict[str, Any]:
        """Idempotent on a token: the endpoint that has it, unless it has other attributes."""
        app = self._existing_application(params["PlatformApplicationArn"], "SNS:CreatePlatformEndpoint")
        given = dict(params.get("Attributes") or {})
        checks.check_endpoint_attributes(given)
        attributes = {"Enabled": "true", "Token": params["Token"], **given}
        if params.get("CustomUserData") is not None and "CustomUserData" not in given:
            checks.check_user_data(params["CustomUserData"])
            attributes["CustomUserData"] = params["CustomUserData"]
        for endpoint in self._endpoints_of(app["PlatformApplicationArn"]):
            if endpoint["Attributes"]["Token"] == params["Token"]:
                return self._same_token(endpoint, attributes)
        _, _, _, region, account, relative = app["PlatformApplicationArn"].split(":", 5)
        arn = f"arn:aws:sns:{region}:{account}:endpoint/{relative.removeprefix('app/')}/{self.engine.new_id()}"
        self._save_endpoint(
            {
                "Kind": ENDPOINT,
                "EndpointArn": arn,
                "Application": app["PlatformApplicationArn"],
                "Attributes": attributes,
            }
        )
        return {"EndpointArn": arn}

    def _same_token(self, endpoint: dict[str, Any], attributes: dict[str, str]) -> dict[str, Any]:
        if endpoint["Attributes"] != attributes:
            raise invalid_parameter(
                f"Token Reason: Endpoint {endpoint['EndpointArn']} already exists with the same Token, but different "
                "attributes."
            )
        return {"EndpointArn": endpoint["EndpointArn"]}

    @sns_operation("GetEndpointAttributes")
    def get_endpoint_attributes(self, **params: Any) -> dict[str, Any]:
        doc = self._existing_endpoint(params["EndpointArn"], "SNS:GetEndpointAttributes")
        return {"Attributes": dict(doc["Attributes"])}

    @sns_operation("SetEndpointAttributes")
    def set_endpoint_attributes(self, **params: Any) -> dict[str, Any]:
        arn, given = params["EndpointArn"], dict(params["Attributes"])
        checks.check_arn(arn, "EndpointArn", "endpoint", 3)
        if not given:
            raise checks.null_attributes()
        checks.check_endpoint_attributes(given)
        doc = self._existing_endpoint(arn, "SNS:SetEndpointAttributes")
        doc["Attributes"] |= given
        self._save_endpoint(doc)
        return {}

    @sns_operation("ListEndpointsByPlatformApplication")
    def list_endpoints_by_platform_application(self, **params: Any) -> dict[str, Any]:
        app = self._existing_application(params["PlatformApplicationArn"], "SNS:ListEndpointsByPlatformApplication")
        shown = [
            {"EndpointArn": d["EndpointArn"], "Attributes": d["Attributes"]}
            for d in self._endpoints_of(app["PlatformApplicationArn"])
        ]
        return _paged(shown, "EndpointArn", params.get("NextToken"), "Endpoints")

    @sns_operation("DeleteEndpoint")
    def delete_endpoint(self, **params: Any) -> dict[str, Any]:
        """Deleting an endpoint that does not exist succeeds, as in SNS."""
        doc = self._endpoint(params["EndpointArn"], "SNS:DeleteEndpoint")
        if doc is not None:
            self.resources.delete(doc["EndpointArn"])
        return {}
