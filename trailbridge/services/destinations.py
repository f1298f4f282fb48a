"""EventBridge connections (how to authorize) and API destinations (where to send): HTTP targets.

Secrets (Password, ApiKeyValue, ClientSecret, and the Value of every HTTP parameter marked IsValueSecret,
in InvocationHttpParameters and OAuthHttpParameters) are sealed with the data directory's key when stored and
never returned: Describe shows the rest of the parameters, secret parameters without their Value, as AWS
does. CloudTrail records hide them too (botocore's model marks every parameter Value sensitive).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from trailbridge.delivery.parameters import hide_parameters, seal_parameters
from trailbridge.domain.access import Access, authorize
from trailbridge.domain.arns import api_destination_arn, connection_arn, parse_arn
from trailbridge.errors import AlreadyExistsError, ConflictError, InvalidInputError, NotFoundError, TrailbridgeError
from trailbridge.secrets import SecretBox
from trailbridge.services.base import Engine, operation, page, with_times
from trailbridge.storage.ports import Resources, Scope

log = logging.getLogger("trailbridge.services")
_TIMES = ("CreationTime", "LastModifiedTime", "LastAuthorizedTime")
_AUTH_KEYS = {
    "BASIC": "BasicAuthParameters",
    "API_KEY": "ApiKeyAuthParameters",
    "OAUTH_CLIENT_CREDENTIALS": "OAuthParameters",
}


def _split_secrets(auth: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(parameters without secrets, the secrets)."""
    public = {k: dict(v) if isinstance(v, Mapping) else v for k, v in auth.items()}
    secrets: dict[str, Any] = {}
    if "BasicAuthParameters" in public:
        secrets["Password"] = public["BasicAuthParameters"].pop("Password", None)
    if "ApiKeyAuthParameters" in public:
        secrets["ApiKeyValue"] = public["ApiKeyAuthParameters"].pop("ApiKeyValue", None)
    if "OAuthParameters" in public:
        client = dict(public["OAuthParameters"].get("ClientParameters") or {})
        secrets["ClientSecret"] = client.pop("ClientSecret", None)
        public["OAuthParameters"]["ClientParameters"] = client
    return public, {k: v for k, v in secrets.items() if v is not None}


class DestinationsService:
    def __init__(self, engine: Engine, account: str, region: str) -> None:
        self.engine, self.account, self.region = engine, account, region
        self.resources = engine.resources

    def _scope(self, kind: str) -> Scope:
        return Scope(kind, self.account, self.region)

    def _get(self, kind: str, name: str, *, describing: bool = False) -> dict[str, Any]:
        """The connection or API destination named; ResourceNotFound worded as AWS words it (DescribeConnection's
        message starts with "Failed to describe the connection(s). ")."""
        doc = self.resources.by_name(self._scope(kind), name)
        if doc is None and kind == "connection":
            prefix = "Failed to describe the connection(s). " if describing else ""
            raise NotFoundError(f"{prefix}Connection '{name}' does not exist.")
        if doc is None:
            raise NotFoundError(
                f"Failed to describe the api-destination(s). An api-destination '{name}' does not exist."
            )
        return doc

    def _create(
        self, kind: str, params: Mapping[str, Any], exists: str, fields: Callable[[float], dict[str, Any]]
    ) -> dict[str, Any]:
        """Create a connection or API destination named params["Name"]; `fields(now)` gives the rest."""
        name = params["Name"]
        with self.engine.router.changing():
            if self.resources.by_name(self._scope(kind), name) is not None:
                raise AlreadyExistsError(exists)
            now = self.engine.clock.now()
            doc = {"Name": name, **fields(now), "CreationTime": now, "LastModifiedTime": now}
            if params.get("Description") is not None:
                doc["Description"] = params["Description"]
            arn_key = "ConnectionArn" if kind == "connection" else "ApiDestinationArn"
            self.resources.put(self._scope(kind), name, doc[arn_key], doc)
        return doc

    # -- connections --------------------------------------------------------------------------

    @operation("events", "CreateConnection")
    def create_connection(self, **params: Any) -> dict[str, Any]:
        name, kind = params["Name"], params["AuthorizationType"]
        public, secrets = _split_secrets(params["AuthParameters"])
        _check_auth(kind, public, secrets)
        public, secrets = _seal_parameters(public, secrets, {})
        doc = self._create(
            "connection",
            params,
            f"Connection {name} already exists.",
            lambda now: {
                "ConnectionArn": connection_arn(self.account, self.region, name, self.engine.new_id()),
                "ConnectionState": "AUTHORIZED",
                "AuthorizationType": kind,
                "AuthParameters": public,
                "LastAuthorizedTime": now,
                "SealedSecrets": self.engine.secrets.seal(secrets),
            },
        )
        return _summary(doc, "ConnectionArn", "ConnectionState")

    @operation("events", "DescribeConnection")
    def describe_connection(self, **params: Any) -> dict[str, Any]:
        doc = self._get("connection", params["Name"], describing=True)
        shown = {"AuthParameters": hide_parameters(doc["AuthParameters"]), "SecretArn": _secret_arn(doc)}
        return with_times(doc, *_TIMES) | shown

    @operation("events", "ListConnections")
    def list_connections(self, **params: Any) -> dict[str, Any]:
        docs = self.resources.scan(self._scope("connection"), params.get("NamePrefix") or "")
        state = params.get("ConnectionState")
        keys = ("ConnectionArn", "Name", "ConnectionState", "StateReason", "AuthorizationType", *_TIMES)
        items = [
            with_times({k: d[k] for k in keys if k in d}, *_TIMES)
            for d in docs
            if state in (None, d["ConnectionState"])
        ]
        chosen, token = page(items, "Name", params.get("NextToken"), params.get("Limit"))
        return {"Connections": chosen} | ({"NextToken": token} if token else {})

    @operation("events", "UpdateConnection")
    def update_connection(self, **params: Any) -> dict[str, Any]:
        with self.engine.router.changing():
            doc = self._get("connection", params["Name"])
            kind = params.get("AuthorizationType") or doc["AuthorizationType"]
            same = kind == doc["AuthorizationType"]
            old = self.engine.secrets.open(doc["SealedSecrets"])
            secrets, public = old, doc["AuthParameters"]
            if params.get("AuthParameters") is not None:
                new_public, new_secrets = _split_secrets(params["AuthParameters"])
                public = _deep_merge(public, new_public) if same else new_public
                secrets = (secrets if same else {}) | new_secrets
            _check_auth(kind, public, secrets)
            public, secrets = _seal_parameters(public, secrets, old.get("Parameters", {}) if same else {})
            now = self.engine.clock.now()
            doc.update(AuthorizationType=kind, AuthParameters=public, LastModifiedTime=now, LastAuthorizedTime=now)
            doc.update(ConnectionState="AUTHORIZED", SealedSecrets=self.engine.secrets.seal(secrets))
            if params.get("Description") is not None:
                doc["Description"] = params["Description"]
            self.resources.put(self._scope("connection"), doc["Name"], doc["ConnectionArn"], doc)
        return _summary(doc, "ConnectionArn", "ConnectionState")

    @operation("events", "DeauthorizeConnection")
    def deauthorize_connection(self, **params: Any) -> dict[str, Any]:
        with self.engine.router.changing():
            doc = self._get("connection", params["Name"])
            doc.update(ConnectionState="DEAUTHORIZED", LastModifiedTime=self.engine.clock.now())
            self.resources.put(self._scope("connection"), doc["Name"], doc["ConnectionArn"], doc)
        return _summary(doc, "ConnectionArn", "ConnectionState")

    @operation("events", "DeleteConnection")
    def delete_connection(self, **params: Any) -> dict[str, Any]:
        with self.engine.router.changing():
            doc = self._get("connection", params["Name"])
            users = [
                d["Name"]
                for d in self.resources.scan(self._scope("api-destination"))
                if d["ConnectionArn"] == doc["ConnectionArn"]
            ]
            if users:
                raise ConflictError(f"Connection {doc['Name']} is used by API destination(s) {', '.join(users)}.")
            self.resources.delete(doc["ConnectionArn"])
        doc["ConnectionState"] = "DELETING"
        return _summary(doc, "ConnectionArn", "ConnectionState")

    # -- API destinations ---------------------------------------------------------------------

    def _connection_arn(self, arn: str) -> str:
        """A connection of the caller's own: a connection holds secrets, so no policy lets another account
        use one (checked again at each delivery)."""
        authorize(Access(self.account, "events:UseConnection", arn), None)
        doc = self.resources.get(arn)
        if doc is None or "ConnectionState" not in doc:
            raise NotFoundError(f"Connection '{parse_arn(arn).resource}' does not exist.")
        return arn

    @operation("events", "CreateApiDestination")
    def create_api_destination(self, **params: Any) -> dict[str, Any]:
        name = params["Name"]
        _check_endpoint(params["InvocationEndpoint"])
        doc = self._create(
            "api-destination",
            params,
            f"An api-destination '{name}' already exists.",
            lambda now: {
                "ApiDestinationArn": api_destination_arn(self.account, self.region, name, self.engine.new_id()),
                "ApiDestinationState": "ACTIVE",
                "ConnectionArn": self._connection_arn(params["ConnectionArn"]),
                "InvocationEndpoint": params["InvocationEndpoint"],
                "HttpMethod": params["HttpMethod"],
                "InvocationRateLimitPerSecond": params.get("InvocationRateLimitPerSecond") or 300,
            },
        )
        return _summary(doc, "ApiDestinationArn", "ApiDestinationState")

    @operation("events", "DescribeApiDestination")
    def describe_api_destination(self, **params: Any) -> dict[str, Any]:
        return with_times(self._get("api-destination", params["Name"]), *_TIMES)

    @operation("events", "ListApiDestinations")
    def list_api_destinations(self, **params: Any) -> dict[str, Any]:
        docs = self.resources.scan(self._scope("api-destination"), params.get("NamePrefix") or "")
        connection = params.get("ConnectionArn")
        items = [with_times(d, *_TIMES) for d in docs if connection in (None, d["ConnectionArn"])]
        chosen, token = page(items, "Name", params.get("NextToken"), params.get("Limit"))
        return {"ApiDestinations": chosen} | ({"NextToken": token} if token else {})

    @operation("events", "UpdateApiDestination")
    def update_api_destination(self, **params: Any) -> dict[str, Any]:
        with self.engine.router.changing():
            doc = self._get("api-destination", params["Name"])
            if params.get("InvocationEndpoint") is not None:
                _check_endpoint(params["InvocationEndpoint"])
            if params.get("ConnectionArn") is not None:
                self._connection_arn(params["ConnectionArn"])
            for key in (
                "Description",
                "ConnectionArn",
                "InvocationEndpoint",
                "HttpMethod",
                "InvocationRateLimitPerSecond",
            ):
                if params.get(key) is not None:
                    doc[key] = params[key]
            doc["LastModifiedTime"] = self.engine.clock.now()
            self.resources.put(self._scope("api-destination"), doc["Name"], doc["ApiDestinationArn"], doc)
        return _summary(doc, "ApiDestinationArn", "ApiDestinationState")

    @operation("events", "DeleteApiDestination")
    def delete_api_destination(self, **params: Any) -> dict[str, Any]:
        with self.engine.router.changing():
            doc = self._get("api-destination", params["Name"])
            self.resources.delete(doc["ApiDestinationArn"])
        return {}


def _summary(doc: Mapping[str, Any], arn_key: str, state_key: str) -> dict[str, Any]:
    return with_times({k: doc[k] for k in (arn_key, state_key, *_TIMES) if k in doc}, *_TIMES)


def _secret_arn(doc: Mapping[str, Any]) -> str:
    arn = parse_arn(doc["ConnectionArn"])
    return f"arn:aws:secretsmanager:{arn.region}:{arn.account}:secret:events!connection/{doc['Name']}"


def _seal_parameters(
    public: Mapping[str, Any], secrets: Mapping[str, Any], previous: Mapping[str, Mapping[str, str]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(AuthParameters without the values of secret HTTP parameters, the secrets with those values under
    "Parameters"); a secret parameter sent without a Value keeps its `previous` one."""
    public, values = seal_parameters(public, previous)
    rest = {k: v for k, v in secrets.items() if k != "Parameters"}
    return public, rest | ({"Parameters": values} if values else {})


def seal_stored_parameters(resources: Resources, box: SecretBox) -> int:
    """Seal the secret HTTP parameters of connections stored before trailbridge sealed them (their Value in
    the document, in clear); the number of connections rewritten. Run once at start-up: a connection whose
    secrets this key cannot open is left as it is (and logged), as its deliveries will be."""
    changed = 0
    for doc in resources.all_of_kind("connection"):
        try:
            secrets = box.open(doc["SealedSecrets"])
        except TrailbridgeError as exc:
            log.error("connection %s: %s; its parameters are left as they are", doc["ConnectionArn"], exc)
            continue
        public, sealed = _seal_parameters(doc["AuthParameters"], secrets, secrets.get("Parameters", {}))
        if public == doc["AuthParameters"]:
            continue
        arn = parse_arn(doc["ConnectionArn"])
        doc.update(AuthParameters=public, SealedSecrets=box.seal(sealed))
        resources.put(Scope("connection", arn.account, arn.region), doc["Name"], doc["ConnectionArn"], doc)
        changed += 1
    return changed


def _check_auth(kind: str, public: Mapping[str, Any], secrets: Mapping[str, Any]) -> None:
    key = _AUTH_KEYS[kind]
    if key not in public:
        raise InvalidInputError(f"AuthorizationType {kind} requires AuthParameters.{key}.")
    needed = {"BASIC": ("Password",), "API_KEY": ("ApiKeyValue",), "OAUTH_CLIENT_CREDENTIALS": ("ClientSecret",)}[kind]
    missing = [name for name in needed if name not in secrets]
    if missing:
        raise InvalidInputError(f"AuthorizationType {kind} requires {', '.join(missing)}.")


def _check_endpoint(url: str) -> None:
    # AWS demands https://; trailbridge also accepts http:// because self-hosted endpoints are often internal.
    if not url.startswith(("https://", "http://")):
        raise InvalidInputError("InvocationEndpoint must be an https:// (or, in trailbridge, http://) URL.")


def _deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        merged[key] = (
            _deep_merge(merged[key], value)
            if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping)
            else value
        )
    return merged
