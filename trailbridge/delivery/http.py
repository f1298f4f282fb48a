"""HTTP targets: API destinations called through their connection's authorization.

Per request: the endpoint with each `*` replaced by the next `PathParameterValues` entry; query string
and headers from the connection's `InvocationHttpParameters` (secret values unsealed by the invoker), then
the target's `HttpParameters`; the payload as the body (except GET/HEAD); the destination's rate limit
waited for; a timeout (5 s).
As EventBridge does for API destinations, 401, 407, 409, 429 and 5xx are retried, other 4xx are not.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import quote

import aiohttp
import orjson

from trailbridge.delivery.retry import DeliveryFailure

USER_AGENT = "Amazon/EventBridge/ApiDestinations"
_RETRY_STATUSES = frozenset({401, 407, 409, 429})
_NO_BODY = frozenset({"GET", "HEAD"})


class RateLimiter:
    """A token bucket: `rate` requests per second, bursts of up to `rate`."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._tokens = rate
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> bool:
        """Wait for a token; True when the caller had to wait (it was throttled)."""
        async with self._lock:
            waited = False
            while True:
                now = time.monotonic()
                self._tokens = min(self.rate, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return waited
                waited = True
                await asyncio.sleep((1 - self._tokens) / self.rate)


class _Answer(NamedTuple):
    status: int
    body: bytes


class HttpInvoker:
    """One aiohttp session for every destination (created inside the dispatcher's loop on first use).

    aiohttp rather than httpx: httpx's connection pool costs O(waiting requests x connections) per event,
    which held loopback delivery at ~150 requests/s with 64 in flight; aiohttp did ~10,000 (bench/delivery.py).
    """

    def __init__(self, timeout: float) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._limiters: dict[str, RateLimiter] = {}
        self._tokens: dict[str, tuple[str, float]] = {}  # connection ARN -> (OAuth token, expiry)
        self._token_locks: dict[str, asyncio.Lock] = {}  # one token request at a time per connection

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=256, limit_per_host=0)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self._session

    async def _request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        params: Mapping[str, str],
        body: bytes | None = None,
        form: Mapping[str, str] | None = None,
    ) -> _Answer:
        async with self._client().request(
            method, url, headers=headers, params=params, data=form if form is not None else body, allow_redirects=False
        ) as response:
            return _Answer(response.status, await response.read())

    async def invoke(
        self,
        destination: Mapping[str, Any],
        connection: Mapping[str, Any],
        secrets: Mapping[str, Any],
        http_parameters: Mapping[str, Any],
        payload: bytes,
    ) -> bool:
        """Send one event; True when the destination's rate limit made it wait. Raises DeliveryFailure."""
        rate = float(destination.get("InvocationRateLimitPerSecond", 300))
        throttled = await self.wait_turn(destination["ApiDestinationArn"], rate)
        method = destination["HttpMethod"]
        url = _url(destination["InvocationEndpoint"], http_parameters.get("PathParameterValues") or [])
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json; charset=utf-8"}
        params: dict[str, str] = {}
        _merge(connection.get("AuthParameters", {}).get("InvocationHttpParameters") or {}, headers, params)
        _merge(http_parameters, headers, params)
        headers.update(await self._authorization(connection, secrets))
        body = None if method in _NO_BODY else payload
        response = await self._send(method, url, headers, params, body)
        if response.status == 401:
            self._tokens.pop(connection["ConnectionArn"], None)  # fetch a fresh OAuth token next time
        _check(response)
        return throttled

    async def authorize(
        self, connection: Mapping[str, Any], secrets: Mapping[str, Any], headers: dict[str, str], params: dict[str, str]
    ) -> None:
        """Add a connection's invocation parameters and its authorization (basic, API key, or an OAuth token,
        fetched and cached) to a request's headers and query: what a Step Functions HTTP task sends."""
        _merge(connection.get("AuthParameters", {}).get("InvocationHttpParameters") or {}, headers, params)
        headers.update(await self._authorization(connection, secrets))

    async def wait_turn(self, key: str, rate: float) -> bool:
        """Wait until `key` (a destination, a subscription) may send again at `rate` requests per second;
        True when it had to wait."""
        limiter = self._limiters.get(key)
        if limiter is None or limiter.rate != rate:
            limiter = self._limiters[key] = RateLimiter(rate)
        return await limiter.acquire()

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> int:
        """POST `body` to `url`, redirects not followed; the status answered. Raises DeliveryFailure when the
        request times out or cannot be made."""
        return (await self._send("POST", url, dict(headers), {}, body)).status

    async def _send(
        self, method: str, url: str, headers: dict[str, str], params: dict[str, str], body: bytes | None
    ) -> _Answer:
        try:
            return await self._request(method, url, headers, params, body)
        except TimeoutError:
            raise DeliveryFailure("TIMEOUT", f"{method} {url} timed out") from None
        except (aiohttp.ClientError, ValueError) as exc:
            raise DeliveryFailure("CONNECTION_FAILURE", f"{method} {url}: {exc or type(exc).__name__}") from None

    async def _authorization(self, connection: Mapping[str, Any], secrets: Mapping[str, Any]) -> dict[str, str]:
        kind = connection["AuthorizationType"]
        auth = connection.get("AuthParameters", {})
        if kind == "BASIC":
            user = auth["BasicAuthParameters"]["Username"]
            return {"Authorization": _basic(user, secrets["Password"])}
        if kind == "API_KEY":
            return {auth["ApiKeyAuthParameters"]["ApiKeyName"]: secrets["ApiKeyValue"]}
        return {"Authorization": f"Bearer {await self._oauth_token(connection, secrets)}"}

    async def _oauth_token(self, connection: Mapping[str, Any], secrets: Mapping[str, Any]) -> str:
        arn = connection["ConnectionArn"]
        async with self._token_locks.setdefault(arn, asyncio.Lock()):
            cached = self._tokens.get(arn)
            if cached is not None and cached[1] > time.monotonic():
                return cached[0]
            token, lifetime = await self._fetch_token(connection, secrets)
            self._tokens[arn] = (token, time.monotonic() + max(lifetime - 30, 1))
            return token

    async def _fetch_token(self, connection: Mapping[str, Any], secrets: Mapping[str, Any]) -> tuple[str, float]:
        oauth = connection["AuthParameters"]["OAuthParameters"]
        headers = {"Authorization": _basic(oauth["ClientParameters"]["ClientID"], secrets["ClientSecret"])}
        params: dict[str, str] = {}
        extra = oauth.get("OAuthHttpParameters") or {}
        _merge({k: v for k, v in extra.items() if k != "BodyParameters"}, headers, params)
        form = _pairs(extra.get("BodyParameters") or [])
        url, method = oauth["AuthorizationEndpoint"], oauth["HttpMethod"]
        try:
            response = await self._request(method, url, headers, params, form=form if method != "GET" else None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise DeliveryFailure("OAUTH_FAILURE", f"token request to {url} failed: {exc!r}") from None
        if response.status >= 300:
            raise DeliveryFailure("OAUTH_FAILURE", f"token request to {url} answered {response.status}")
        try:
            answer = orjson.loads(response.body)
            token = str(answer["access_token"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise DeliveryFailure("OAUTH_FAILURE", f"token response from {url} has no access_token") from None
        return token, float(answer.get("expires_in", 3600))


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _url(endpoint: str, path_values: list[str]) -> str:
    values = iter(path_values)
    return "".join(quote(next(values, ""), safe="") if part == "*" else part for part in _split_stars(endpoint))


def _split_stars(text: str) -> list[str]:
    parts: list[str] = []
    for index, chunk in enumerate(text.split("*")):
        if index:
            parts.append("*")
        parts.append(chunk)
    return parts


def _merge(parameters: Mapping[str, Any], headers: dict[str, str], params: dict[str, str]) -> None:
    """Header and query-string parameters in either shape AWS uses: a map, or a list of Key/Value."""
    for key, target in (("HeaderParameters", headers), ("QueryStringParameters", params)):
        value = parameters.get(key) or {}
        if isinstance(value, list):
            target.update(_pairs(value))
        else:
            target.update(value)


def _pairs(entries: list[Mapping[str, Any]]) -> dict[str, str]:
    """Key/Value entries as a map; one without a Value (a secret parameter created without one) is left out."""
    return {p["Key"]: p["Value"] for p in entries if "Key" in p and "Value" in p}


def _check(response: _Answer) -> None:
    status = response.status
    if status < 300:
        return
    retryable = status in _RETRY_STATUSES or status >= 500
    code = "THROTTLING" if status == 429 else f"HTTP_{status}"
    text = response.body[:256].decode(errors="replace")
    raise DeliveryFailure(code, f"endpoint answered {status}: {text}", retryable=retryable)
