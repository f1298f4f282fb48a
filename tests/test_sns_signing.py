"""SNS message signatures (`topics.signing`), checked by a verifier written here as AWS's documentation
("Verifying the signatures of Amazon SNS messages") describes one: it builds the string to sign from the
message it received, fetches the certificate at `SigningCertURL` over HTTP and checks the signature with it.
The certificate is served as the server must serve it: `GET <path>` answered by `certificate_at(path)`."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.corpora import load_json
from trailbridge.clock import ManualClock
from trailbridge.errors import InvalidInputError
from trailbridge.secrets import SecretBox
from trailbridge.settings import Settings
from trailbridge.storage.backends import Ports, open_ports
from trailbridge.storage.ports import SigningKey
from trailbridge.topics.signing import KEY_LIFETIME, NotificationSigner, string_to_sign

TOPIC = "arn:aws:sns:us-east-1:111111111111:orders"
SIGNING_FIELDS = ("SignatureVersion", "Signature", "SigningCertURL")
MESSAGES: dict[str, dict[str, str]] = {  # in the order SNS writes their keys
    "Notification": {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Subject": "Größe\n2",
        "Message": 'line one\nline "two" \u00a3 \U0001f600',
        "Timestamp": "2026-12-07T12:00:00.123Z",
        "UnsubscribeURL": "https://tb.example/?Action=Unsubscribe&SubscriptionArn=" + TOPIC + ":1",
    },
    "SubscriptionConfirmation": {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02",
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": "https://tb.example/?Action=ConfirmSubscription&TopicArn=" + TOPIC + "&Token=2336",
        "Timestamp": "2026-12-07T12:00:01.456Z",
    },
}
MESSAGES["UnsubscribeConfirmation"] = {
    **MESSAGES["SubscriptionConfirmation"],
    "Type": "UnsubscribeConfirmation",
    "Message": f"You have chosen to deactivate subscription {TOPIC}:1.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.",
    "Timestamp": "2026-12-07T12:00:02.789Z",
}

SIGNED = {  # what AWS's documentation says each Type signs (and Type), in its order
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn"),
}


# -- the verifier, as AWS documents it --------------------------------------------------------------------


def canonical(message: dict[str, Any]) -> bytes:
    """The string to sign, built here from AWS's documentation (not from trailbridge's)."""
    names = [name for name in SIGNED[message["Type"]] if name != "Subject" or "Subject" in message]
    return "".join(f"{name}\n{message[name]}\n" for name in [*names, "Type"]).encode("utf-8")


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return bytes(answer.read())


def verify(body: bytes, name: str = "sns.amazonaws.com", at: float | None = None) -> dict[str, Any]:
    """Check the signature of the JSON `body` an endpoint received (raises InvalidSignature); the message."""
    message: dict[str, Any] = json.loads(body)
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}[message["SignatureVersion"]]
    certificate = x509.load_pem_x509_certificate(fetch(message["SigningCertURL"]))
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [name]  # issued to SNS's signing name
    moment = datetime.fromtimestamp(time.time() if at is None else at, UTC)
    assert certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc
    signature = base64.b64decode(message["Signature"], validate=True)
    certificate.public_key().verify(signature, canonical(message), padding.PKCS1v15(), algorithm)
    return message


def wire(message: dict[str, Any]) -> bytes:
    """The message as an HTTP endpoint receives it: JSON, control characters escaped."""
    return json.dumps(message, ensure_ascii=False).encode()


# -- the certificate route and the nodes ------------------------------------------------------------------


class CertificateServer:
    """An HTTP server on loopback with the route trailbridge's server must have: GET of a certificate's path
    answered with `certificate_at(path)`, 404 when it names none."""

    def __init__(self) -> None:
        self.signer: NotificationSigner | None = None
        outer = self

        class Route(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                pem = outer.signer.certificate_at(self.path) if outer.signer else None
                self.send_response(200 if pem else 404)
                self.send_header("Content-Type", "application/x-pem-file")
                self.end_headers()
                self.wfile.write(pem or b"")

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Route)
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def node(self, ports: Ports, secrets: SecretBox, clock: ManualClock | None = None) -> NotificationSigner:
        """A signer on `ports`, as the server makes it; the certificates it serves are this one's."""
        self.signer = NotificationSigner(ports.keys, secrets, clock or ManualClock(time.time()), self.url)
        return self.signer


@pytest.fixture
def certificates() -> Iterator[CertificateServer]:
    server = CertificateServer()
    yield server
    server.http.shutdown()
    server.http.server_close()


@pytest.fixture
def memory() -> Iterator[Ports]:
    ports = open_ports(Settings(), None)
    yield ports
    ports.store.close()


@pytest.fixture
def signer(certificates: CertificateServer, memory: Ports) -> NotificationSigner:
    return certificates.node(memory, SecretBox.ephemeral())


# -- signatures -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize("kind", sorted(MESSAGES))
def test_a_verifier_as_aws_documents_it_accepts_our_signature(
    signer: NotificationSigner, kind: str, version: str
) -> None:
    signed = signer.sign(MESSAGES[kind], "us-east-1", version)
    assert verify(wire(signed)) == signed
    assert signed["SignatureVersion"] == version
    assert len(base64.b64decode(signed["Signature"])) == 256  # RSA-2048


def test_a_signature_no_signing_thread_started_is_made_by_its_caller(signer: NotificationSigner) -> None:
    """With the signing threads busy, the caller makes the signature instead of waiting for one; it verifies,
    and the message's other subscriptions get it without another signature being made."""
    signer.sign(MESSAGES["Notification"], "us-east-1")  # the region's key made
    released = threading.Event()
    busy = [signer._threads.submit(released.wait) for _ in range(2)]  # both signing threads held
    try:
        message = {**MESSAGES["Notification"], "MessageId": "made-by-its-caller"}
        first, again = signer.signing(message, "us-east-1"), signer.signing(message, "us-east-1")
        signed = first()
        assert verify(wire(signed)) == signed
        assert again() == signed
        assert not any(task.done() for task in busy)  # made while the threads were still held
    finally:
        released.set()


def test_version_1_sha1withrsa_is_the_default(signer: NotificationSigner) -> None:
    signed = signer.sign(MESSAGES["Notification"], "us-east-1")
    assert signed["SignatureVersion"] == "1"
    verify(wire(signed))
    with pytest.raises(InvalidSignature):  # it is not a SHA256withRSA signature
        verify(wire({**signed, "SignatureVersion": "2"}))


@pytest.mark.parametrize(("kind", "field"), [(kind, field) for kind, fields in SIGNED.items() for field in fields])
def test_a_changed_field_fails(signer: NotificationSigner, kind: str, field: str) -> None:
    signed = signer.sign(MESSAGES[kind], "us-east-1", "2")
    with pytest.raises(InvalidSignature):
        verify(wire({**signed, field: signed[field] + "x"}))


def test_a_changed_type_and_an_added_or_removed_subject_fail(signer: NotificationSigner) -> None:
    confirmation = signer.sign(MESSAGES["SubscriptionConfirmation"], "us-east-1")
    with pytest.raises(InvalidSignature):
        verify(wire({**confirmation, "Type": "UnsubscribeConfirmation"}))
    with_subject = signer.sign(MESSAGES["Notification"], "us-east-1")
    with pytest.raises(InvalidSignature):
        verify(wire({k: v for k, v in with_subject.items() if k != "Subject"}))
    without = signer.sign({k: v for k, v in MESSAGES["Notification"].items() if k != "Subject"}, "us-east-1")
    verify(wire(without))
    with pytest.raises(InvalidSignature):
        verify(wire({**without, "Subject": ""}))


def test_the_string_to_sign_is_awss_canonical_string() -> None:
    notification = {"Type": "Notification", "MessageId": "m", "TopicArn": "t", "Message": "hi\n", "Timestamp": "ts"}
    assert (
        string_to_sign(notification) == b"Message\nhi\n\nMessageId\nm\nTimestamp\nts\nTopicArn\nt\nType\nNotification\n"
    )
    assert string_to_sign({**notification, "Subject": "s"}).startswith(b"Message\nhi\n\nMessageId\nm\nSubject\ns\n")
    for kind, message in MESSAGES.items():
        assert string_to_sign(message) == canonical(message), kind
    assert b"UnsubscribeURL" not in string_to_sign(MESSAGES["Notification"])  # not signed


@pytest.mark.parametrize(
    ("message", "version"),
    [
        ({**MESSAGES["Notification"], "Type": "Other"}, "1"),
        ({k: v for k, v in MESSAGES["Notification"].items() if k != "Type"}, "1"),
        ({k: v for k, v in MESSAGES["Notification"].items() if k != "Timestamp"}, "2"),
        ({k: v for k, v in MESSAGES["SubscriptionConfirmation"].items() if k != "Token"}, "1"),
        ({**MESSAGES["Notification"], "Subject": None}, "1"),
        (MESSAGES["Notification"], "3"),  # only versions 1 and 2 exist
    ],
)
def test_a_message_that_cannot_be_signed_is_refused(
    signer: NotificationSigner, message: dict[str, Any], version: str
) -> None:
    with pytest.raises(InvalidInputError):
        signer.sign(message, "us-east-1", version)


def test_the_signature_goes_after_the_timestamp_and_a_new_one_replaces_the_old(signer: NotificationSigner) -> None:
    signed = signer.sign(MESSAGES["SubscriptionConfirmation"], "us-east-1", "2")
    assert list(signed) == [*MESSAGES["SubscriptionConfirmation"], *SIGNING_FIELDS]
    again = signer.sign(signed, "us-east-1", "1")
    assert list(again) == list(signed) and again["SignatureVersion"] == "1"
    verify(wire(again))


# -- the corpus: AWS's notifications, key by key ------------------------------------------------------------


def _recorded_bodies() -> list[Any]:
    """Every notification body (with a signature) recorded in the corpus's notification_shapes."""
    found: list[Any] = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            if "SignatureVersion" in value:
                found.append(pytest.param(value, id=where))
            for key, inner in value.items():
                walk(inner, f"{where}/{key}")
        elif isinstance(value, list):
            for n, inner in enumerate(value):
                walk(inner, f"{where}/{n}")

    for shape in load_json("sns", "aws-recorded.json")["notification_shapes"]:
        walk(shape["recorded"], shape["name"])
    return found


def _masked(signed: dict[str, Any], public_url: str) -> dict[str, Any]:
    """Our signature fields masked as the corpus's notification_masks say AWS's were."""
    assert len(base64.b64decode(signed["Signature"], validate=True)) == 256
    assert re.fullmatch(
        re.escape(public_url) + r"/SimpleNotificationService-[0-9a-f]{32}\.pem", signed["SigningCertURL"]
    )
    masks = {
        "Signature": "<signature>",
        "SigningCertURL": "<cert-domain>/SimpleNotificationService-<signing-cert-file:1>",
    }
    return {key: masks.get(key, value) for key, value in signed.items()}


def test_the_corpus_holds_awss_notifications() -> None:
    assert len(_recorded_bodies()) >= 5


@pytest.mark.parametrize("recorded", _recorded_bodies())
def test_our_notification_has_exactly_awss_keys_in_awss_order(
    signer: NotificationSigner, certificates: CertificateServer, recorded: dict[str, Any]
) -> None:
    unsigned = {key: value for key, value in recorded.items() if key not in SIGNING_FIELDS}
    signed = signer.sign(unsigned, "us-east-1", recorded["SignatureVersion"])
    masked = _masked(signed, certificates.url)
    assert list(masked) == list(recorded)
    assert masked == recorded


# -- the certificate -------------------------------------------------------------------------------------


def test_the_certificate_is_served_at_its_path_in_awss_shape(
    signer: NotificationSigner, certificates: CertificateServer
) -> None:
    path = signer.certificate_path("us-east-1")
    pem = signer.certificate_pem("us-east-1")
    certificate = x509.load_pem_x509_certificate(pem)
    assert path == f"/SimpleNotificationService-{certificate.fingerprint(hashes.SHA256()).hex()[:32]}.pem"
    assert pem.startswith(b"-----BEGIN CERTIFICATE-----\n") and pem.count(b"-----BEGIN") == 1
    assert fetch(certificates.url + path) == pem
    signed = signer.sign(MESSAGES["Notification"], "us-east-1")
    assert signed["SigningCertURL"] == certificates.url + path
    subject = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    assert [attribute.value for attribute in subject] == ["sns.amazonaws.com"]
    assert certificate.issuer == certificate.subject  # self-signed: it checks itself
    certificate.public_key().verify(
        certificate.signature, certificate.tbs_certificate_bytes, padding.PKCS1v15(), hashes.SHA256()
    )


@pytest.mark.parametrize(
    ("region", "name"),
    [
        ("eu-west-1", "sns.amazonaws.com"),
        ("af-south-1", "sns-signing.af-south-1.amazonaws.com"),
        ("cn-north-1", "sns-cn-north-1.amazonaws.com.cn"),
        ("us-gov-east-1", "sns-us-gov-west-1.amazonaws.com"),
    ],
)
def test_each_region_has_its_own_key_issued_to_the_name_awss_sdks_expect(
    signer: NotificationSigner, region: str, name: str
) -> None:
    signed = signer.sign(MESSAGES["Notification"], region, "2")
    verify(wire(signed), name)
    assert signer.certificate_path(region) != signer.certificate_path("us-east-1")
    assert signer.certificate_pem(region) != signer.certificate_pem("us-east-1")


def test_a_path_that_names_no_certificate_is_not_found(
    signer: NotificationSigner, certificates: CertificateServer, memory: Ports
) -> None:
    fingerprint = signer.certificate_path("us-east-1")[len("/SimpleNotificationService-") : -len(".pem")]
    unknown = "0" * 32 if fingerprint != "0" * 32 else "1" * 32
    for other in (f"/SimpleNotificationService-{unknown}.pem", "/SimpleNotificationService-x.pem", "/"):
        assert signer.certificate_at(other) is None
        with pytest.raises(urllib.error.HTTPError):
            fetch(certificates.url + other)
    memory.keys.add_if_absent(SigningKey(unknown, "us-east-1", "sealed", b"", 0.0, 1e12), 0.0)
    assert signer.certificate_at(f"/SimpleNotificationService-{unknown}.pem") is None  # a trail's key, not SNS's


def test_after_a_rotation_a_message_signed_before_still_verifies(
    certificates: CertificateServer, memory: Ports
) -> None:
    clock = ManualClock(time.time())
    signer = certificates.node(memory, SecretBox.ephemeral(), clock)
    before = signer.sign(MESSAGES["Notification"], "us-east-1")
    clock.advance(KEY_LIFETIME + 1)
    after = signer.sign(MESSAGES["Notification"], "us-east-1")
    assert after["SigningCertURL"] != before["SigningCertURL"]
    verify(wire(after), at=clock.now())
    verify(wire(before), at=clock.now())  # its certificate outlives its key's turn, and is still served


# -- durable, shared, sealed -----------------------------------------------------------------------------


def test_the_key_and_certificate_outlive_a_restart_on_sqlite(certificates: CertificateServer, tmp_path: Path) -> None:
    ports = open_ports(Settings(), tmp_path)
    first = certificates.node(ports, SecretBox.in_directory(tmp_path))
    signed, pem = first.sign(MESSAGES["Notification"], "us-east-1"), first.certificate_pem("us-east-1")
    ports.store.close()
    ports = open_ports(Settings(), tmp_path)
    try:
        second = certificates.node(ports, SecretBox.in_directory(tmp_path))
        assert second.certificate_pem("us-east-1") == pem
        assert second.certificate_path("us-east-1") == first.certificate_path("us-east-1")
        verify(wire(signed))  # served by the reopened store
        assert second.sign(MESSAGES["Notification"], "us-east-1")["SigningCertURL"] == signed["SigningCertURL"]
    finally:
        ports.store.close()


def test_the_private_key_is_not_in_the_database_file_in_clear(certificates: CertificateServer, tmp_path: Path) -> None:
    ports = open_ports(Settings(), tmp_path)
    secrets = SecretBox.in_directory(tmp_path)
    try:
        certificates.node(ports, secrets).sign(MESSAGES["Notification"], "us-east-1")
        stored = ports.keys.current("sns:us-east-1")
    finally:
        ports.store.close()
    assert stored is not None
    files = b"".join(path.read_bytes() for path in tmp_path.glob("trailbridge.sqlite3*"))
    assert stored.sealed[:200].encode() in files  # the right file: the sealed key starts there (then overflows)
    pem = secrets.open(stored.sealed)["pem"].encode()
    private = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    numbers = private.private_numbers()  # its secret numbers (the modulus is public, and stored so)
    secret = [n.to_bytes((n.bit_length() + 7) // 8) for n in (numbers.d, numbers.p, numbers.q, numbers.iqmp)]
    assert b"PRIVATE KEY" not in files
    assert not any(value[n : n + 16] in files for value in secret for n in range(0, len(value) - 16, 16))
    assert not any(line in files for line in pem.splitlines()[1:-1])  # nor as PEM


def test_two_nodes_on_one_postgresql_sign_with_one_key(
    certificates: CertificateServer, postgres_url: str, tmp_path: Path
) -> None:
    settings = Settings(database=postgres_url, secret_key_file=tmp_path / "secret.key")
    nodes = [open_ports(settings, None), open_ports(settings, None)]
    try:
        signers = [certificates.node(ports, SecretBox.in_file(tmp_path / "secret.key")) for ports in nodes]
        start, pems = threading.Barrier(2), []

        def first_use(signer: NotificationSigner) -> None:
            start.wait()
            pems.append(signer.certificate_pem("us-east-1"))

        threads = [threading.Thread(target=first_use, args=(signer,)) for signer in signers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len(pems) == 2 and pems[0] == pems[1]  # both made one at once: one was stored, both use it
        signed = signers[0].sign(MESSAGES["Notification"], "us-east-1", "2")
        verify(wire(signed))  # the certificate served by the other node
    finally:
        for ports in nodes:
            ports.store.close()
    again = open_ports(settings, None)  # a node started after both stopped
    try:
        restarted = certificates.node(again, SecretBox.in_file(tmp_path / "secret.key"))
        assert restarted.certificate_pem("us-east-1") == pems[0]
        verify(wire(signed))
    finally:
        again.store.close()


def test_a_message_is_signed_once_for_all_its_subscriptions(signer: NotificationSigner) -> None:
    """Only the unsigned UnsubscribeURL differs between a message's deliveries: one RSA signature serves all
    (PKCS #1 v1.5 signatures are deterministic, so the count of signatures made is what tells)."""
    opened = signer._key("us-east-1")  # the region's key, unsealed
    made = 0

    class Counting:
        def sign(self, *args: Any) -> bytes:
            nonlocal made
            made += 1
            return opened.private.sign(*args)

    signer._current["us-east-1"] = replace(opened, private=Counting())  # type: ignore[arg-type]
    base = {
        "Type": "Notification",
        "MessageId": "m-1",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
        "Message": "hello",
        "Timestamp": "2024-01-01T00:00:00.000Z",
    }
    first = signer.sign({**base, "UnsubscribeURL": "http://localhost/?a=1"}, "us-east-1")
    second = signer.sign({**base, "UnsubscribeURL": "http://localhost/?a=2"}, "us-east-1")
    assert second["Signature"] == first["Signature"] and made == 1
    signer.sign({**base, "Message": "other"}, "us-east-1")
    signer.sign(base, "us-east-1", version="2")
    assert made == 3
