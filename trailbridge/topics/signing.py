"""SNS message signatures, made as Amazon SNS makes them, so that a receiver that verifies them the way AWS
documents ("Verifying the signatures of Amazon SNS messages") accepts ours.

A notification, subscription confirmation or unsubscribe confirmation carries `SignatureVersion` ("1":
SHA1withRSA, SNS's default; "2": SHA256withRSA), `Signature` (base64, RSA PKCS#1 v1.5 over `string_to_sign`)
and `SigningCertURL`, where the receiver fetches the X.509 certificate whose public key checks the signature.

Each region has its own RSA-2048 key and self-signed certificate. They are kept with the trails' keys (the
`Keys` port) under the region name `sns:REGION`, which no real region can be, the private key sealed with the
data directory's secret key: every node on one database signs with the same key and serves the same
certificate, and both outlive restarts. A key is current for `KEY_LIFETIME`; its certificate stays valid
`CERTIFICATE_GRACE` longer, and is still served, so a message signed just before a rotation still verifies.

The certificate is issued to the name AWS's SDKs expect of an SNS signing certificate in that region (the AWS
SDK for Java 2's `SnsMessageManager` matches it as a host name: `sns.amazonaws.com` in most regions), and its
URL has AWS's shape, `PUBLIC_URL/SimpleNotificationService-<32 hex>.pem`: what a verifier also checks of the
URL's host (`sns.REGION.amazonaws.com`, HTTPS) and of the chain of trust (ours is self-signed) it must be
told to accept.

An RSA signature costs about a millisecond, with the GIL released (cryptography lets other threads run while
OpenSSL signs). `NotificationSigner.signing` makes it on a thread of the signer's own and lets its caller go
on (`topics.batch.write_signed` writes what waits for it); a signature no signing thread has started by the
time it is wanted is made by the caller instead of waited for.
"""

from __future__ import annotations

import base64
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from trailbridge.clock import Clock
from trailbridge.errors import InvalidInputError
from trailbridge.secrets import SecretBox
from trailbridge.storage.ports import Keys, SigningKey

KEY_LIFETIME = 365 * 86_400.0
CERTIFICATE_GRACE = 30 * 86_400.0
CLOCK_SKEW = 86_400.0  # the certificate is valid from a day before its key, for verifiers whose clocks lag
SCOPE = "sns:"  # the prefix of the `Keys` region under which SNS keeps a region's keys

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
_RECENT_SIGNATURES = 1024  # messages whose signature is kept for their other subscriptions
_SIGNING_THREADS = 2  # as many as signatures made at once (on this machine's CPUs beside the GIL's)
_NOTIFICATION = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_SIGNED = {
    "Notification": _NOTIFICATION,
    "SubscriptionConfirmation": _CONFIRMATION,
    "UnsubscribeConfirmation": _CONFIRMATION,
}
_OPTIONAL = frozenset({"Subject"})  # signed when the notification has one
_PATH = re.compile(r"/SimpleNotificationService-([0-9a-f]{32})\.pem")
# The regions whose SNS certificate is issued to sns-signing.REGION.amazonaws.com (opt-in regions).
_OWN_SIGNING_NAME = frozenset(
    {
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-south-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-west-1",
        "eu-central-2",
        "eu-south-1",
        "eu-south-2",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
    }
)


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    """AWS's canonical string, UTF-8: `Key\\nValue\\n` for each signed key of the message's Type, in AWS's order
    (Subject only when the notification has one)."""
    kind = message.get("Type")
    names = _SIGNED.get(kind) if isinstance(kind, str) else None
    if names is None:
        raise InvalidInputError(f"an SNS message of Type {kind!r} cannot be signed")
    parts = []
    for name in names:
        if name in _OPTIONAL and name not in message:
            continue
        value = message.get(name)
        if not isinstance(value, str):
            raise InvalidInputError(f"an SNS {kind} needs {name} (a string) to be signed")
        parts.append(f"{name}\n{value}\n")
    return "".join(parts).encode()


def signing_name(region: str) -> str:
    """The host name SNS's signing certificate is issued to in `region`, as AWS's SDKs check it."""
    if region.startswith("cn-"):
        return f"sns-{region}.amazonaws.com.cn"
    if region.startswith("us-gov-"):
        return "sns-us-gov-west-1.amazonaws.com"
    if region in _OWN_SIGNING_NAME:
        return f"sns-signing.{region}.amazonaws.com"
    return "sns.amazonaws.com"


@dataclass(frozen=True, slots=True)
class _Opened:
    """A stored key, unsealed once per process: its private key, certificate and certificate path."""

    private: rsa.RSAPrivateKey
    certificate: bytes  # PEM
    path: str
    valid_to: float


class NotificationSigner:
    """Signs SNS messages with their region's key; answers the certificates their `SigningCertURL`s name."""

    def __init__(self, keys: Keys, secrets: SecretBox, clock: Clock, public_url: str) -> None:
        """`public_url`: where receivers reach this server (`Settings.endpoint_url`), the base of
        `SigningCertURL`."""
        self._keys, self._secrets, self._clock = keys, secrets, clock
        self._base = public_url.rstrip("/")
        self._opened: dict[str, _Opened] = {}  # by fingerprint; keys never change, so this is never stale
        self._current: dict[str, _Opened] = {}  # by region, until its key's valid_to
        # The signatures made last, by (what was signed, key, version): a message published to a topic goes to
        # every subscription with the same signed fields (only the unsigned UnsubscribeURL differs), and an RSA
        # signature costs about a millisecond, so it is made once per message, not once per subscription.
        self._recent: OrderedDict[tuple[bytes, str, str], Future[str]] = OrderedDict()
        self._recent_lock = threading.Lock()  # workers of many requests sign at once
        self._threads = ThreadPoolExecutor(_SIGNING_THREADS, thread_name_prefix="trailbridge-sns-signing")

    def sign(self, message: Mapping[str, Any], region: str, version: str = "1") -> dict[str, Any]:
        """`message` with SignatureVersion, Signature and SigningCertURL after its Timestamp, where SNS puts them
        (those of an earlier signature replaced). Its other keys keep their order: give them in SNS's."""
        return self.signing(message, region, version)()

    def signing(self, message: Mapping[str, Any], region: str, version: str = "1") -> Callable[[], dict[str, Any]]:
        """`sign`, started: the message checked and the region's key found (or made) here, the signature made on
        a signing thread; the call returned waits for it and answers what `sign` answers."""
        algorithm = _HASHES.get(version)
        if algorithm is None:
            raise InvalidInputError(f"SignatureVersion must be 1 or 2, not {version!r}")
        payload = string_to_sign(message)
        key = self._key(region)
        made = (payload, key.path, version)
        with self._recent_lock:
            signature = self._recent.get(made)
            if signature is None:
                signature = self._recent[made] = self._threads.submit(_signature, key.private, payload, algorithm)
                while len(self._recent) > _RECENT_SIGNATURES:
                    self._recent.popitem(last=False)
        url = self._base + key.path
        return lambda: _with_signature(
            message,
            {"SignatureVersion": version, "Signature": self._taken(made, signature, key), "SigningCertURL": url},
        )

    def _taken(self, made: tuple[bytes, str, str], signature: Future[str], key: _Opened) -> str:
        """The signature: awaited when a signing thread has started it, else made here (the signing threads are
        busy with others: the caller would only wait, while OpenSSL signs with the GIL released just as well on
        its thread), and kept for the message's other subscriptions."""
        if not signature.cancel():  # started, or made
            return signature.result()
        payload, _, version = made
        made_here: Future[str] = Future()
        made_here.set_result(_signature(key.private, payload, _HASHES[version]))
        with self._recent_lock:
            if self._recent.get(made) is signature:
                self._recent[made] = made_here
        return made_here.result()

    def certificate_pem(self, region: str) -> bytes:
        """The region's current signing certificate (PEM)."""
        return self._key(region).certificate

    def certificate_path(self, region: str) -> str:
        """The URL path of the region's current certificate: `/SimpleNotificationService-<32 hex>.pem`, the hex
        the start of the certificate's SHA-256 fingerprint (AWS's shape; AWS serves it on sns.REGION.amazonaws.com,
        we on `public_url`)."""
        return self._key(region).path

    def certificate_at(self, path: str) -> bytes | None:
        """The certificate (PEM) a `SigningCertURL` with this path names, of any region and also after its key's
        turn as current; None for a path that names none: what the server answers a GET of the path with."""
        match = _PATH.fullmatch(path)
        stored = self._keys.by_fingerprint(match[1]) if match else None
        if stored is None or not stored.region.startswith(SCOPE):
            return None
        return self._open(stored).certificate

    def _key(self, region: str) -> _Opened:
        """The region's current key: a new one when it has none valid (of nodes making one at once, the one
        stored first)."""
        now = self._clock.now()
        cached = self._current.get(region)
        if cached is not None and cached.valid_to > now:
            return cached
        stored = self._keys.current(SCOPE + region)
        if stored is None or stored.valid_to <= now:
            stored = self._keys.add_if_absent(_new_key(region, now, self._secrets), now)
        opened = self._current[region] = self._open(stored)
        return opened

    def _open(self, stored: SigningKey) -> _Opened:
        opened = self._opened.get(stored.fingerprint)
        if opened is None:
            values = self._secrets.open(stored.sealed)
            private = serialization.load_pem_private_key(values["pem"].encode(), password=None)
            assert isinstance(private, rsa.RSAPrivateKey)
            path = f"/SimpleNotificationService-{stored.fingerprint}.pem"
            opened = _Opened(private, values["certificate"].encode(), path, stored.valid_to)
            self._opened[stored.fingerprint] = opened
        return opened


def _signature(private: rsa.RSAPrivateKey, payload: bytes, algorithm: type[hashes.HashAlgorithm]) -> str:
    return base64.b64encode(private.sign(payload, padding.PKCS1v15(), algorithm())).decode()


def _with_signature(message: Mapping[str, Any], stamp: dict[str, str]) -> dict[str, Any]:
    signed: dict[str, Any] = {}
    for name, value in message.items():
        if name not in stamp:
            signed[name] = value
        if name == "Timestamp":
            signed.update(stamp)
    return signed


def _new_key(region: str, now: float, secrets: SecretBox) -> SigningKey:
    """A new RSA-2048 key for `region` and its certificate, the fingerprint naming both, the private key sealed."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = _certificate(private, signing_name(region), now)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    sealed = secrets.seal({"pem": pem, "certificate": certificate.public_bytes(serialization.Encoding.PEM).decode()})
    der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    fingerprint = certificate.fingerprint(hashes.SHA256()).hex()[:32]
    return SigningKey(fingerprint, SCOPE + region, sealed, der, now, now + KEY_LIFETIME)


def _certificate(private: rsa.RSAPrivateKey, name: str, now: float) -> x509.Certificate:
    """A self-signed end-entity certificate issued to `name` (subject CN and DNS subject alternative name: host
    name checks read the second). No key usage extension: one without keyCertSign would keep OpenSSL from
    taking the certificate as its own issuer, when a receiver trusts it as is."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.fromtimestamp(now - CLOCK_SKEW, UTC))
        .not_valid_after(datetime.fromtimestamp(now + KEY_LIFETIME + CERTIFICATE_GRACE, UTC))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
