"""Function targets (the Lambda role): Python callables registered under a function name.

`arn:aws:lambda:REGION:ACCOUNT:function:NAME` invokes the callable registered as NAME (for that account
and region, or for any). A callable takes `(event)` or `(event, context)`, like a Lambda handler; it may be
`async`. Raising is a failed invocation (retried). Callables can also come from configuration as
`NAME=module:callable` pairs.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trailbridge.domain.arns import parse_arn
from trailbridge.errors import InvalidInputError


@dataclass(frozen=True)
class FunctionContext:
    """What a handler's second argument offers (a subset of Lambda's context object)."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str


@dataclass(frozen=True)
class _Registered:
    fn: Callable[..., Any]
    wants_context: bool
    is_async: bool


class Functions:
    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str | None, str | None], _Registered] = {}

    def register(
        self, name: str, fn: Callable[..., Any], *, account: str | None = None, region: str | None = None
    ) -> None:
        if not callable(fn):
            raise InvalidInputError(f"function {name}: {fn!r} is not callable")
        self._by_key[(name, account, region)] = _Registered(fn, _wants_context(fn), inspect.iscoroutinefunction(fn))

    def register_spec(self, spec: str) -> None:
        """`NAME=module:callable[,NAME=module:callable...]`."""
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, _, target = item.partition("=")
            module_name, _, attribute = target.partition(":")
            if not (name and module_name and attribute):
                raise InvalidInputError(f"function spec {item!r} is not NAME=module:callable")
            try:
                self.register(name, getattr(importlib.import_module(module_name), attribute))
            except (ImportError, AttributeError, SyntaxError) as exc:
                raise InvalidInputError(f"function spec {item!r}: {exc}") from None

    def exists(self, arn: str) -> bool:
        return self._find(arn) is not None

    def _find(self, arn: str) -> _Registered | None:
        parsed = parse_arn(arn)
        name = function_name(arn)
        for key in ((name, parsed.account, parsed.region), (name, parsed.account, None), (name, None, None)):
            if key in self._by_key:
                return self._by_key[key]
        return None

    async def invoke(self, arn: str, event: Any, request_id: str) -> None:
        registered = self._find(arn)
        if registered is None:
            raise LookupError(arn)
        args = (event, FunctionContext(function_name(arn), arn, request_id)) if registered.wants_context else (event,)
        if registered.is_async:
            await registered.fn(*args)
        else:
            await asyncio.to_thread(registered.fn, *args)


def function_name(arn: str) -> str:
    resource = parse_arn(arn).resource  # function:NAME or function:NAME:QUALIFIER
    return resource.split(":")[1] if resource.startswith("function:") else resource


def _wants_context(fn: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    variadic = any(p.kind == p.VAR_POSITIONAL for p in parameters)
    return len(positional) >= 2 or variadic
