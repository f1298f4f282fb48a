"""One frozen, typed Settings object, built once at start-up and passed down explicitly.

`Settings.load()` builds it from, in rising priority: the defaults below, an optional TOML config file
(keys are the field names), `TRAILBRIDGE_<FIELD>` environment variables (upper case), and flags.
Nothing reads the environment at import time.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from trailbridge.errors import InvalidInputError

SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps")


@dataclasses.dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("trailbridge-data")
    default_account: str = "123456789012"
    default_region: str = "us-east-1"
    public_url: str = ""  # the base of queue URLs; empty: http://HOST:PORT of the server
    # Delivery: the first retry waits about retry_base_seconds, doubling up to retry_max_seconds (with jitter).
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 300.0
    http_timeout_seconds: float = 5.0
    # A claimed delivery is the dispatcher's until this long after the claim; then, if it is still not done
    # (its dispatcher died), another takes it over. Longer than any one attempt takes.
    delivery_lease_seconds: float = 60.0
    max_in_flight: int = 512  # deliveries being invoked at once, all targets together
    max_in_flight_per_target: int = 64  # so one slow target never takes every slot
    shutdown_grace_seconds: float = 10.0  # on stop, how long deliveries under way may take to finish
    # Beyond AWS: an event that re-enters the same rule more often than this (through bus or function
    # targets) is stopped and counted.
    max_rule_hops: int = 8
    # Soft AWS quotas (the AWS defaults).
    max_rules_per_bus: int = 300
    max_event_buses: int = 100
    # Where the state is: empty, the SQLite file in the data directory; or postgresql://USER@HOST:PORT/DB, one
    # database any number of nodes share (each with the same secret key file).
    database: str = ""
    secret_key_file: Path | None = None  # the key that seals stored secrets; default <data_dir>/secret.key
    # sqlite: NORMAL survives a killed process (WAL); FULL also survives power loss, at a cost per write.
    sqlite_synchronous: str = "NORMAL"
    # CloudTrail: how long LookupEvents keeps management events.
    lookup_retention_days: float = 90.0
    # How often a logging trail writes a log file (per region), and its digest period.
    trail_delivery_seconds: float = 300.0
    digest_seconds: float = 3600.0
    s3_endpoint_url: str = ""  # trail buckets on this S3-compatible endpoint instead of <data>/buckets/
    # The server (`trailbridge serve`).
    host: str = "127.0.0.1"
    port: int = 4566
    # AWS-format credentials file: access key -> secret and account (aws_account_id). Used to map callers
    # to accounts; with `auth`, every request's SigV4 signature is verified against it.
    credentials_file: Path | None = None
    auth: bool = False
    insecure: bool = False  # allow a non-loopback host without auth
    metrics_open: bool = False  # under auth, serve GET /metrics without a signature (for a scraper)
    tls_certfile: Path | None = None  # serve HTTPS with this certificate (PEM) and key
    tls_keyfile: Path | None = None
    max_request_bytes: int = 2 * 1024 * 1024
    # The largest S3 body of one request (an object, or one part of a multipart upload): held in memory while
    # it is stored. The AWS CLI uploads anything above 8 MB in parts of 8 MB.
    max_object_bytes: int = 512 * 1024 * 1024
    # A connection is closed when a request's head has not fully arrived this long after the connection was made
    # (or the previous answer sent), or when its body pauses this long (slow clients must not hold sockets).
    header_read_timeout_seconds: float = 10.0
    body_read_timeout_seconds: float = 30.0
    log_level: str = "INFO"
    # SNS: the SMTP server email and email-json subscriptions are delivered through, as
    # smtp://[USER:PASSWORD@]HOST[:PORT] (plain, 25), smtp+starttls://... (587) or smtps://... (465); empty: email
    # subscriptions are refused. Kept out of repr; give the password through TRAILBRIDGE_SMTP_URL, not a flag.
    smtp_url: str = dataclasses.field(default="", repr=False)
    sns_email_sender: str = "AWS Notifications <no-reply@sns.amazonaws.com>"
    # multiplies every delay of SNS's delivery policies (tests and impatient CI set it below 1)
    sns_retry_scale: float = 1.0
    # Lambda: live function workers on this node (all functions together), how long an idle one is kept, and
    # the delay before an asynchronous invocation's first retry (AWS: about a minute; the second twice it)
    lambda_max_workers: int = 16
    lambda_idle_seconds: float = 300.0
    lambda_retry_base_seconds: float = 60.0
    # For local development: Python callables served as functions without a zip, NAME=module:callable, comma
    # separated (`trailbridge serve --function NAME=module:callable`, repeatable); rules and topics invoke them
    functions: str = ""

    def __post_init__(self) -> None:
        if self.log_level.upper() not in _LOG_LEVELS:
            raise InvalidInputError(f"log level must be one of {', '.join(_LOG_LEVELS)}, not {self.log_level!r}")
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise InvalidInputError("TLS needs both a certificate file and a key file")
        if self.database and not self.database.startswith(("postgresql://", "postgres://")):
            raise InvalidInputError(
                "database must be a postgresql://USER@HOST:PORT/DB URL, or empty for the SQLite file in the data "
                "directory"
            )
        if not 0 <= self.port <= 65535:
            raise InvalidInputError(f"port must be between 0 and 65535, not {self.port}")
        if self.smtp_url and urlsplit(self.smtp_url).scheme not in SMTP_SCHEMES:
            raise InvalidInputError(f"smtp_url must start with {', '.join(s + '://' for s in SMTP_SCHEMES)}")
        if not 0 < self.sns_retry_scale <= 1000:
            raise InvalidInputError(f"sns_retry_scale must be more than 0 and at most 1000, not {self.sns_retry_scale}")
        if not 1 <= self.lambda_max_workers <= 1024:
            raise InvalidInputError(f"lambda_max_workers must be between 1 and 1024, not {self.lambda_max_workers}")
        for name in ("header_read_timeout_seconds", "body_read_timeout_seconds", "delivery_lease_seconds"):
            if not 0 < (seconds := getattr(self, name)) <= 86400:
                raise InvalidInputError(f"{name} must be more than 0 and at most 86400 seconds, not {seconds}")

    @property
    def database_shown(self) -> str:
        """The database URL with its password, if any, replaced by `***` (for messages and logs)."""
        url = re.sub(r"^(\w+://[^:/@]*:)[^@/]*@", r"\1***@", self.database)
        return re.sub(r"([?&]password=)[^&]*", r"\1***", url)

    @property
    def endpoint_url(self) -> str:
        """Where clients reach the server (the base of queue URLs)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in ("0.0.0.0", "::", "127.0.0.1") else self.host
        return f"{'https' if self.tls_certfile else 'http'}://{host}:{self.port}"

    @classmethod
    def load(
        cls, config_file: Path | None = None, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> Settings:
        """Defaults, then the config file, then `TRAILBRIDGE_*` variables, then explicit overrides (flags)."""
        env = os.environ if environ is None else environ
        fields = {field.name: str(field.type) for field in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in _read_config(config_file).items():
            if key not in fields:
                raise InvalidInputError(f"{config_file}: unknown setting {key!r}")
            values[key] = _convert(f"{config_file}: {key}", fields[key], str(value))
        for name, kind in fields.items():
            raw = env.get(f"TRAILBRIDGE_{name.upper()}")
            if raw is not None:
                values[name] = _convert(f"TRAILBRIDGE_{name.upper()}", kind, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _read_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInputError(f"cannot read config file {path}: {exc}") from None


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _boolean(raw: str) -> bool:
    return _BOOLEANS[raw.strip().lower()]


def _convert(where: str, kind: str, raw: str) -> Any:
    converters: dict[str, Any] = {
        "Path": Path,
        "Path | None": lambda text: Path(text) if text else None,
        "str": str,
        "int": int,
        "float": float,
        "bool": _boolean,
    }
    try:
        return converters[kind](raw)
    except (ValueError, KeyError):
        raise InvalidInputError(f"{where}={raw!r} is not a valid {kind}") from None
