"""Who is calling: the access key and region of an AWS Signature Version 4 request, and, when asked, proof
that the caller holds the secret key.

The algorithm is AWS's published one (canonical request -> string to sign -> HMAC chain keyed by the
secret, date, region and service). A request is refused when its signature is missing, malformed, made with
an unknown access key, wrong, or dated more than five minutes away from the server's clock; when its body is
not the one signed (the body is always hashed: an `x-amz-content-sha256` header must equal its hash, and
`UNSIGNED-PAYLOAD` is accepted only where AWS accepts it, S3); when `host` (and, for a service addressed by
`X-Amz-Target`, that header) is not signed; and when its credential scope names another service, or a region
that is not one (checked with or without verification: the region names folders of the data directory).
"""

from __future__ import annotations

import configparser
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

from trailbridge.aws.wire import WireError

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_SECONDS = 300
_ACCOUNT_KEY = re.compile(r"\d{12}")
_FIELD = re.compile(r"(Credential|SignedHeaders|Signature)=([^,\s]*)")
# AWS's region names (us-east-1, us-gov-west-1, eu-central-2, ap-southeast-5, ...): lowercase words, a digit.
REGION = re.compile(r"[a-z]{2}(-[a-z]+){1,3}-\d{1,2}")
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING = "STREAMING-"  # STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, ...
# The credentials-file option that lets a key import records of every account (`trailbridge trail import`).
IMPORT_ANY_ACCOUNT = "trailbridge_import_any_account"


@dataclass(frozen=True)
class Principal:
    access_key: str
    account: str
    region: str
    user_name: str | None = None  # the credentials-file section of the access key
    import_any_account: bool = False  # the credentials file lets this key import any account's records
    identity: Mapping[str, Any] | None = None  # a temporary session's holder, as CloudTrail's userIdentity


@dataclass(frozen=True)
class Credential:
    secret_key: str
    account: str
    name: str  # the credentials-file section
    import_any_account: bool = False  # `trailbridge_import_any_account = true`: an organization's key
    identity: Mapping[str, Any] | None = None  # a temporary session's holder, as CloudTrail's userIdentity


@dataclass(frozen=True)
class Signature:
    access_key: str
    date: str  # YYYYMMDD
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def load_credentials(path: Path, default_account: str) -> dict[str, Credential]:
    """Access key -> secret and account, from a file in the AWS credentials format (INI sections with
    aws_access_key_id, aws_secret_access_key and optionally aws_account_id; and trailbridge's own
    `trailbridge_import_any_account = true`, for a key that may import CloudTrail log files of any account)."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except (OSError, configparser.Error) as exc:
        raise ValueError(f"cannot read credentials file {path}: {exc}") from None
    credentials = {}
    for name in parser.sections():
        section = parser[name]
        if "aws_access_key_id" not in section or "aws_secret_access_key" not in section:
            raise ValueError(f"{path} [{name}]: aws_access_key_id and aws_secret_access_key are required")
        account = section.get("aws_account_id", default_account)
        if not _ACCOUNT_KEY.fullmatch(account):
            raise ValueError(f"{path} [{name}]: aws_account_id must be 12 digits")
        try:
            any_account = section.getboolean(IMPORT_ANY_ACCOUNT, fallback=False)
        except ValueError:
            raise ValueError(f"{path} [{name}]: {IMPORT_ANY_ACCOUNT} must be true or false") from None
        credentials[section["aws_access_key_id"]] = Credential(
            section["aws_secret_access_key"], account, name, any_account
        )
    return credentials


def parse_authorization(header: str) -> Signature:
    if not header.startswith(ALGORITHM + " "):
        raise WireError("IncompleteSignatureException", f"Authorization header requires the {ALGORITHM} algorithm.")
    fields = dict(_FIELD.findall(header))
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not fields.get(name)]
    if missing:
        raise WireError(
            "IncompleteSignatureException",
            f"Authorization header requires '{missing[0]}' parameter. Authorization={header}",
        )
    parts = fields["Credential"].split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        credential = fields["Credential"]
        raise WireError("IncompleteSignatureException", f"Credential should be scoped correctly: {credential}")
    headers = tuple(fields["SignedHeaders"].split(";"))
    return Signature(parts[0], parts[1], parts[2], parts[3], headers, fields["Signature"])


def canonical_request(
    method: str,
    raw_path: str,
    query: str,
    headers: Mapping[str, str],
    signed: tuple[str, ...],
    payload: bytes,
    *,
    s3: bool = False,
) -> str:
    """The canonical request: S3's path is the one sent; every other service's is normalised and encoded
    once more (its labels, an ARN's `:` say, arrive encoded already)."""
    path = (raw_path or "/") if s3 else quote(_normalized(raw_path), safe="/~")
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in parse_qsl(query, keep_blank_values=True))
    lines = [f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in signed]
    payload_hash = headers.get("x-amz-content-sha256") or hashlib.sha256(payload).hexdigest()  # checked first
    query_text = "&".join(f"{k}={v}" for k, v in pairs)
    return "\n".join([method, path, query_text, "".join(lines), ";".join(signed), payload_hash])


def _normalized(path: str) -> str:
    """The path with `.` and `..` segments resolved and empty ones dropped (RFC 3986 5.2.4, as SigV4 asks),
    its leading and trailing slashes kept."""
    kept: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment not in ("", "."):
            kept.append(segment)
    text = "/" + "/".join(kept)
    return text + "/" if path.endswith("/") and text != "/" else text


def signature_of(secret_key: str, sig: Signature, amz_date: str, request: str) -> str:
    digest = hashlib.sha256(request.encode()).hexdigest()
    to_sign = f"{ALGORITHM}\n{amz_date}\n{sig.scope}\n{digest}"
    key = ("AWS4" + secret_key).encode()
    for part in (sig.date, sig.region, sig.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Request:
    method: str
    raw_path: str
    query: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    service: str = ""  # the signing name the credential scope must give ("" when any will do)
    signed_target: bool = False  # the service is addressed by X-Amz-Target, which must then be signed
    unsigned_payload: bool = False  # UNSIGNED-PAYLOAD is allowed (S3)


# A temporary session's credential from its access key and session token (X-Amz-Security-Token), or None when
# the token is not one of the sessions it knows.
Sessions = Callable[[str, str], Credential | None]


class Authenticator:
    """Find the caller of a request; with `verify`, refuse one whose signature does not check out. A request
    with a session token is the session's whose credential `sessions` gives, when the key is not a long-term
    one of `credentials`."""

    def __init__(
        self,
        credentials: Mapping[str, Credential],
        default_account: str,
        default_region: str,
        *,
        verify: bool,
        sessions: Sessions | None = None,
    ) -> None:
        self.credentials, self.verify, self.sessions = credentials, verify, sessions
        self.default_account, self.default_region = default_account, default_region

    def with_sessions(self, sessions: Sessions) -> Authenticator:
        creds, account, region = self.credentials, self.default_account, self.default_region
        return Authenticator(creds, account, region, verify=self.verify, sessions=sessions)

    def principal(self, request: Request, now: datetime | None = None) -> Principal:
        header = request.headers.get("authorization")
        if header is None:
            if self.verify:
                raise WireError("MissingAuthenticationTokenException", "Missing Authentication Token", 403)
            return Principal("", self.default_account, self.default_region)
        sig = parse_authorization(header)
        if not REGION.fullmatch(sig.region):
            raise WireError(
                "InvalidSignatureException", f"Credential should be scoped to a valid region, not '{sig.region}'."
            )
        known = self.credentials.get(sig.access_key)
        token = request.headers.get("x-amz-security-token")
        if known is None and token and self.sessions is not None:
            known = self.sessions(sig.access_key, token)
        if self.verify:
            if known is None:
                raise WireError("UnrecognizedClientException", "The security token included in the request is invalid.")
            self._check(request, sig, known, now or datetime.now(UTC))
        name = known.name if known is not None else None
        any_account = known is not None and known.import_any_account
        identity = known.identity if known is not None else None
        return Principal(sig.access_key, self._account(sig.access_key, known), sig.region, name, any_account, identity)

    def _check_scope(self, request: Request, sig: Signature) -> None:
        if request.service and sig.service != request.service:
            raise WireError(
                "InvalidSignatureException", f"Credential should be scoped to correct service: '{request.service}'."
            )
        required = ["host", *(["x-amz-target"] if request.signed_target else [])]
        missing = [name for name in required if name not in sig.signed_headers]
        if missing:
            raise WireError(
                "IncompleteSignatureException",
                f"Signed headers must include {', '.join(required)}: {';'.join(sig.signed_headers)} lacks "
                f"{', '.join(missing)}.",
            )

    def _check_payload(self, request: Request) -> None:
        """The signature covers the body: the hash it was made with must be the body's."""
        claimed = request.headers.get("x-amz-content-sha256")
        if claimed is None:
            return  # the canonical request is then made with the body's own hash
        if request.unsigned_payload and (claimed == UNSIGNED_PAYLOAD or claimed.startswith(STREAMING)):
            return  # S3: the body is not signed, or signed chunk by chunk (the chunks' signatures are not checked)
        if claimed != hashlib.sha256(request.body).hexdigest():
            raise WireError(
                "InvalidSignatureException",
                "The provided 'x-amz-content-sha256' header does not match what was computed."
                if claimed != UNSIGNED_PAYLOAD
                else "UNSIGNED-PAYLOAD is not accepted by this service: sign the body.",
            )

    def _account(self, access_key: str, known: Credential | None) -> str:
        if known is not None:
            return known.account
        return access_key if _ACCOUNT_KEY.fullmatch(access_key) else self.default_account

    def _check(self, request: Request, sig: Signature, known: Credential, now: datetime) -> None:
        amz_date = request.headers.get("x-amz-date", "")
        try:
            stamp = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise WireError("IncompleteSignatureException", "X-Amz-Date header is missing or malformed.") from None
        skew = (now - stamp).total_seconds()
        if abs(skew) > MAX_SKEW_SECONDS:
            bound = "earlier" if skew > 0 else "later"
            raise WireError(
                "InvalidSignatureException",
                f"Signature expired: {amz_date} is now {bound} than {now:%Y%m%dT%H%M%SZ} "
                f"({now:%Y%m%dT%H%M%SZ} {'-' if skew > 0 else '+'} 5 min.)",
            )
        self._check_scope(request, sig)
        self._check_payload(request)
        text = canonical_request(
            request.method,
            request.raw_path,
            request.query,
            request.headers,
            sig.signed_headers,
            request.body,
            s3=request.unsigned_payload,
        )
        if not hmac.compare_digest(signature_of(known.secret_key, sig, amz_date, text), sig.signature):
            raise WireError(
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. Check your AWS "
                "Secret Access Key and signing method. Consult the service documentation for details.",
            )
