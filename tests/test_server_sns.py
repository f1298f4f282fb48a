"""SNS through `trailbridge serve`: a topic's notification, delivered to an SQS subscription, carries a signature
that verifies, as AWS documents the check, against the certificate its SigningCertURL serves."""

from __future__ import annotations

import base64

import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.support.server import Server
from tests.test_server_events import queue_for, receive_all

# What a notification's signature covers, in AWS's order ("Key\nValue\n" each; Subject only when present).
SIGNED = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")


def test_a_notification_verifies_against_the_certificate_its_url_serves(server: Server, account: str) -> None:
    sns = server.client("sns", account)
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    sqs, url, queue = queue_for(server, account)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)
    sns.publish(TopicArn=topic, Message="a bucket was made public", Subject="alert")
    [notification] = receive_all(sqs, url, 1)
    assert (notification["Type"], notification["TopicArn"], notification["Message"]) == (
        "Notification",
        topic,
        "a bucket was made public",
    )
    assert (
        notification["SigningCertURL"]
        .rsplit(":", 1)[1]
        .startswith(server.url.rsplit(":", 1)[1] + "/SimpleNotificationService-")
    )
    pem = urllib3.PoolManager().request("GET", notification["SigningCertURL"])
    assert pem.status == 200
    key = x509.load_pem_x509_certificate(pem.data).public_key()
    text = "".join(f"{k}\n{notification[k]}\n" for k in SIGNED if k in notification)
    digest = hashes.SHA1() if notification["SignatureVersion"] == "1" else hashes.SHA256()
    key.verify(base64.b64decode(notification["Signature"]), text.encode(), padding.PKCS1v15(), digest)  # type: ignore[union-attr]
    missing = urllib3.PoolManager().request("GET", server.url + "/SimpleNotificationService-" + "0" * 32 + ".pem")
    assert missing.status == 404
