"""One frozen, typed Settings object, built once at start-up and passed down explicitly.

Every field reads from a `TRAILBRIDGE_<FIELD>` environment variable (upper case) when `Settings.from_env()`
builds it; nothing reads the environment at import time.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trailbridge.errors import InvalidInputError


@dataclasses.dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("trailbridge-data")
    default_account: str = "123456789012"
    default_region: str = "us-east-1"
    public_url: str = "http://localhost:4566"  # the base of queue URLs
    # Delivery: the first retry waits about retry_base_seconds, doubling up to retry_max_seconds (with jitter).
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 300.0
    http_timeout_seconds: float = 5.0
    max_in_flight: int = 512  # deliveries being invoked at once, all targets together
    max_in_flight_per_target: int = 64  # so one slow target never takes every slot
    shutdown_grace_seconds: float = 10.0  # on stop, how long deliveries under way may take to finish
    # Beyond AWS: an event that re-enters the same rule more often than this (through bus or function
    # targets) is stopped and counted.
    max_rule_hops: int = 8
    # Soft AWS quotas (the AWS defaults).
    max_rules_per_bus: int = 300
    max_event_buses: int = 100
    # sqlite: NORMAL survives a killed process (WAL); FULL also survives power loss, at a cost per write.
    sqlite_synchronous: str = "NORMAL"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then `TRAILBRIDGE_*` variables, then explicit overrides (flags)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            raw = env.get(f"TRAILBRIDGE_{field.name.upper()}")
            if raw is not None:
                values[field.name] = _convert(field.name, field.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _convert(name: str, kind: Any, raw: str) -> Any:
    converters: dict[str, Any] = {"Path": Path, "str": str, "int": int, "float": float}
    try:
        return converters[str(kind)](raw)
    except ValueError:
        raise InvalidInputError(f"TRAILBRIDGE_{name.upper()}={raw!r} is not a valid {kind}") from None
