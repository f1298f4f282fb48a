"""`arn:aws:states:::http:invoke`: an HTTP request through an EventBridge connection, as Step Functions'
HTTP task makes it (the connection's authorization and invocation parameters from `delivery/http.py`, as API
destinations use them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson

from trailbridge.delivery.http import HttpInvoker
from trailbridge.delivery.parameters import open_parameters
from trailbridge.delivery.retry import DeliveryFailure
from trailbridge.domain.access import owner_of
from trailbridge.services.base import Engine
from trailbridge.services.states.integrations.shapes import TASK_FAILED, json_or_text
from trailbridge.states.tasks import TaskFailed, TaskSucceeded


@dataclass(frozen=True)
class HttpCall:
    """One HTTP task's request: its parameters, and the connection (its secret values open) it goes through."""

    connection: Mapping[str, Any]
    secrets: Mapping[str, Any]
    params: Mapping[str, Any]
    region: str

    async def send(self, timeout: float) -> TaskSucceeded | TaskFailed:
        """Send it; the response as Step Functions shows it, or `States.Http.StatusCode.NNN` /
        `States.Http.Socket` with the response (or the failure) as the cause."""
        method, url = str(self.params["Method"]).upper(), str(self.params["ApiEndpoint"])
        headers = {"User-Agent": f"Amazon|StepFunctions|HttpInvoke|{self.region}"}
        headers |= {str(k): str(v) for k, v in (self.params.get("Headers") or {}).items()}
        query = {str(k): _text(v) for k, v in (self.params.get("QueryParameters") or {}).items()}
        invoker = HttpInvoker(timeout)
        try:
            await invoker.authorize(self.connection, self.secrets, headers, query)  # the connection's win
            body = self._body(headers)
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
                session.request(method, url, headers=headers, params=query, data=body, allow_redirects=False) as sent,
            ):
                answer = await _response(sent)
        except DeliveryFailure as exc:  # the connection's OAuth token could not be had
            return TaskFailed("States.Http.Socket", exc.message)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return TaskFailed("States.Http.Socket", f"{method} {url} failed: {exc or type(exc).__name__}")
        finally:
            await invoker.close()
        if not 200 <= answer["StatusCode"] < 300:
            return TaskFailed(f"States.Http.StatusCode.{answer['StatusCode']}", orjson.dumps(answer).decode())
        return TaskSucceeded(answer)

    def _body(self, headers: dict[str, str]) -> bytes | None:
        """RequestBody as JSON (the connection's body parameters merged into an object), or URL-encoded when
        `Transform.RequestBodyEncoding` is URL_ENCODED."""
        if "RequestBody" not in self.params:
            return None
        body = self.params["RequestBody"]
        extra = self.connection.get("AuthParameters", {}).get("InvocationHttpParameters", {})
        if isinstance(body, Mapping):
            body = {**body, **_pairs(extra.get("BodyParameters") or [])}
        transform = self.params.get("Transform") or {}
        if transform.get("RequestBodyEncoding") == "URL_ENCODED" and isinstance(body, Mapping):
            array_format = (transform.get("RequestEncodingOptions") or {}).get("ArrayFormat", "INDICES")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
            return urlencode(_form_pairs(body, str(array_format))).encode()
        if isinstance(body, str):
            return body.encode()
        headers.setdefault("Content-Type", "application/json")
        return orjson.dumps(body)


class RefusedTask(Exception):
    """An HTTP task that cannot be made: its error (States.TaskFailed) and cause."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.outcome = TaskFailed(TASK_FAILED, cause)


def http_call(engine: Engine, account: str, region: str, params: Mapping[str, Any]) -> HttpCall:
    """The HTTP task's request through a connection of `account`, checked; RefusedTask when it cannot be made."""
    arn = (params.get("Authentication") or {}).get("ConnectionArn") or params.get("ConnectionArn")
    endpoint, method = params.get("ApiEndpoint"), params.get("Method")
    if not (isinstance(arn, str) and isinstance(endpoint, str) and isinstance(method, str)):
        reason = "ApiEndpoint, Method and Authentication.ConnectionArn are required"
        raise RefusedTask(f"The HTTP task's parameters are invalid: {reason}.")
    connection = engine.resources.get(arn) if owner_of(arn) == account and ":connection/" in arn else None
    if connection is None or "SealedSecrets" not in connection:
        raise RefusedTask(f"The connection {arn} does not exist in the account {account}.")
    if connection.get("ConnectionState") != "AUTHORIZED":
        raise RefusedTask(f"The connection {arn} is {connection.get('ConnectionState')}.")
    secrets = engine.secrets.open(connection["SealedSecrets"])
    auth = open_parameters(connection.get("AuthParameters") or {}, secrets.get("Parameters", {}))
    return HttpCall({**connection, "AuthParameters": auth}, secrets, dict(params), region)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _pairs(entries: list[Mapping[str, Any]]) -> dict[str, Any]:
    return {str(p["Key"]): p["Value"] for p in entries if "Key" in p and "Value" in p}


def _form_pairs(body: Mapping[str, Any], array_format: str) -> list[tuple[str, str]]:
    """A flat object as form fields; arrays as `ArrayFormat` says (INDICES `a[0]=x`, BRACKETS `a[]=x`,
    REPEAT `a=x&a=y`, COMMAS `a=x,y`)."""
    pairs: list[tuple[str, str]] = []
    for key, value in body.items():
        if not isinstance(value, list):
            pairs.append((key, _text(value)))
        elif array_format == "COMMAS":
            pairs.append((key, ",".join(_text(item) for item in value)))
        else:
            pairs.extend((_field(key, index, array_format), _text(item)) for index, item in enumerate(value))
    return pairs


def _field(key: str, index: int, array_format: str) -> str:
    if array_format == "BRACKETS":
        return f"{key}[]"
    return key if array_format == "REPEAT" else f"{key}[{index}]"


async def _response(response: aiohttp.ClientResponse) -> dict[str, Any]:
    """An HTTP task's output: the headers (each a list of values), the body (parsed when it is JSON), the
    status code and text."""
    headers: dict[str, list[str]] = {}
    for name, value in response.headers.items():
        headers.setdefault(str(name), []).append(value)
    text = (await response.read()).decode(errors="replace")
    body = json_or_text(text) if "json" in response.headers.get("Content-Type", "") else text
    status, reason = response.status, response.reason or ""
    return {"Headers": headers, "ResponseBody": body, "StatusCode": status, "StatusText": reason}
