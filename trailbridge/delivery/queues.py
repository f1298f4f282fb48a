"""Built-in durable queues (the SQS role): targets, dead-letter queues, and read by receive/delete.

Messages live in the store. Sending with a delay hides a message until the delay ends. Receiving first
drops messages older than the retention period and moves those received `maxReceiveCount` times to the
redrive policy's dead-letter queue, then hides each message it returns for the visibility timeout and gives
it a fresh receipt handle; deleting needs the latest handle. A message not deleted in time becomes visible
again. A receive that finds nothing may wait (long polling); a send wakes it.
"""

from __future__ import annotations

import hashlib
import struct
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from trailbridge.clock import Clock
from trailbridge.storage.sqlite import SqliteStore

DEFAULT_VISIBILITY_TIMEOUT = 30
_POLL_SECONDS = 0.1  # long polls also look again this often, for messages whose delay or timeout ends


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def md5_of_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """SQS's MD5OfMessageAttributes: per attribute, sorted by name, length-prefixed name, data type,
    a transport byte (1 text, 2 binary) and length-prefixed value."""
    digest = hashlib.md5(usedforsecurity=False)

    def field(data: bytes) -> None:
        digest.update(struct.pack(">I", len(data)) + data)

    for name in sorted(attributes):
        attribute = attributes[name]
        field(name.encode())
        field(attribute["DataType"].encode())
        if "BinaryValue" in attribute and attribute["BinaryValue"] is not None:
            digest.update(b"\x02")
            value = attribute["BinaryValue"]
            field(value if isinstance(value, bytes) else str(value).encode())
        else:
            digest.update(b"\x01")
            field(str(attribute.get("StringValue", "")).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class ReceivePolicy:
    """What a queue's attributes say about receiving."""

    visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT
    retention_seconds: float = 345_600
    dead_letter_arn: str | None = None
    max_receive_count: int = 0


class QueueMessages:
    def __init__(self, store: SqliteStore, clock: Clock) -> None:
        self._store, self._clock = store, clock
        self._sent = threading.Condition()
        self._generation = 0  # counts sends, so a long poll never misses one that came just before it waits

    def send(
        self, queue_arn: str, body: str, attributes: Mapping[str, Any] | None = None, delay_seconds: float = 0
    ) -> str:
        message_id = str(uuid.uuid4())
        now = self._clock.now()
        blob = orjson.dumps(dict(attributes or {}))
        self._store.run("message_send", (queue_arn, message_id, body, blob, now, now + delay_seconds))
        with self._sent:
            self._generation += 1
            self._sent.notify_all()
        return message_id

    def receive(
        self, queue_arn: str, limit: int, policy: ReceivePolicy, wait_seconds: float = 0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + wait_seconds
        while True:
            generation = self._generation
            received = self._receive_now(queue_arn, limit, policy)
            remaining = deadline - time.monotonic()
            if received or remaining <= 0:
                return received
            with self._sent:
                if self._generation == generation:
                    self._sent.wait(min(remaining, _POLL_SECONDS))

    def _receive_now(self, queue_arn: str, limit: int, policy: ReceivePolicy) -> list[dict[str, Any]]:
        now = self._clock.now()
        received = []
        with self._store.transaction():
            self._store.run("message_expire", (queue_arn, now - policy.retention_seconds))
            if policy.dead_letter_arn and policy.max_receive_count:
                moved = (policy.dead_letter_arn, now, queue_arn, now, policy.max_receive_count)
                self._store.run("message_redrive", moved)
            rows = self._store.all("message_visible", (queue_arn, now, limit))
            for seq, message_id, body, attributes, sent, count, first in rows:
                receipt = f"{uuid.uuid4()}-{seq}"
                self._store.run("message_receive", (now + policy.visibility_timeout, receipt, now, seq))
                message = _message(message_id, receipt, body, orjson.loads(attributes))
                message["Attributes"] = {
                    "SentTimestamp": str(int(sent * 1000)),
                    "ApproximateReceiveCount": str(count + 1),
                    "ApproximateFirstReceiveTimestamp": str(int((first or now) * 1000)),
                }
                received.append(message)
        return received

    def delete(self, queue_arn: str, receipt: str) -> bool:
        return self._store.run("message_delete", (queue_arn, receipt)) > 0

    def change_visibility(self, queue_arn: str, receipt: str, timeout: float) -> bool:
        """Reset the visibility timeout of a message in flight; False if the handle names none."""
        now = self._clock.now()
        return self._store.run("message_change_visibility", (now + timeout, queue_arn, receipt, now)) > 0

    def purge(self, queue_arn: str) -> None:
        self._store.run("message_purge", (queue_arn,))

    def counts(self, queue_arn: str) -> tuple[int, int, int]:
        """(visible, in flight, delayed) messages."""
        row = self._store.one("message_count", (self._clock.now(), queue_arn))
        return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)


def _message(message_id: str, receipt: str, body: str, attributes: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"MessageId": message_id, "ReceiptHandle": receipt, "MD5OfBody": md5_hex(body)}
    message["Body"] = body
    if attributes:
        message["MessageAttributes"] = attributes
    return message
