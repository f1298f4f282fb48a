"""What the function runtime is asked to run, and what one invocation gave back: plain values between the
Lambda service (`services/lambda_functions/`), the delivery paths (rules, topics, the asynchronous queue)
and the worker processes (`functions/runtime.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """One version of one function, as its workers run it. Workers are reused only for the same `key`."""

    arn: str  # the unqualified function ARN
    name: str
    version: str  # "$LATEST" or "1", "2", ...
    runtime: str  # python3.x or nodejsNN.x
    handler: str  # python: module.function (dots for packages); node: file.export
    code_dir: Path  # the unpacked code, read-only for the workers
    code_sha256: str  # base64 SHA-256 of the zip, as Lambda's CodeSha256
    environment: Mapping[str, str]  # the function's variables plus the AWS_* a worker gets (credentials included)
    timeout: float  # seconds, 1-900
    memory_mb: int  # 128-10240
    log_group: str  # /aws/lambda/NAME
    reserved_concurrency: int | None = None  # PutFunctionConcurrency; None: only the node-wide limit
    role: str = ""  # the execution role, whose session's credentials the environment carries

    @property
    def key(self) -> tuple[object, ...]:
        """What a warm worker must match to be reused: the version, its code and its configuration."""
        settings = (self.runtime, self.handler, self.timeout, self.memory_mb)
        return (self.arn, self.version, self.code_sha256, settings, tuple(sorted(self.environment.items())))


@dataclass(frozen=True, slots=True)
class Outcome:
    """One invocation's result. `error` is Lambda's error payload (errorMessage, errorType, stackTrace) when
    the handler raised, timed out, ran out of memory or its worker died; then `payload` is that error as
    JSON and Lambda answers `X-Amz-Function-Error: Unhandled`."""

    payload: bytes
    error: Mapping[str, Any] | None
    log_lines: tuple[str, ...]  # what the handler printed, between AWS's START and END/REPORT lines
    duration_ms: float
    billed_ms: int
    max_memory_mb: int
    init_ms: float | None = None  # a cold start's Init Duration

    @property
    def failed(self) -> bool:
        return self.error is not None
