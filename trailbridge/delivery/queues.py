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
from typing import Any

import orjson

from trailbridge.clock import Clock
from trailbridge.storage.ports import Messages, ReceiveRules, Store

DEFAULT_VISIBILITY_TIMEOUT = 30
_SENT = "messages"  # the topic the store announces a send under, to the other nodes
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


class QueueMessages:
    def __init__(self, messages: Messages, clock: Clock, store: Store) -> None:
        self._messages, self._clock, self._store = messages, clock, store
        self._sent = threading.Condition()
        self._generation = 0  # counts sends, so a long poll never misses one that came just before it waits
        store.on_announce(_SENT, self._wake)  # a send on another node wakes the long polls here

    def send(
        self, queue_arn: str, body: str, attributes: Mapping[str, Any] | None = None, delay_seconds: float = 0
    ) -> str:
        message_id = str(uuid.uuid4())
        now = self._clock.now()
        blob = orjson.dumps(dict(attributes or {}))
        self._messages.send(queue_arn, message_id, body, blob, now, now + delay_seconds)
        self._store.announce(_SENT)  # inside a transaction, with its commit
        self._wake()
        return message_id

    def _wake(self) -> None:
        with self._sent:
            self._generation += 1
            self._sent.notify_all()

    def receive(self, queue_arn: str, limit: int, rules: ReceiveRules, wait_seconds: float = 0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + wait_seconds
        while True:
            generation = self._generation
            received = self._receive_now(queue_arn, limit, rules)
            remaining = deadline - time.monotonic()
            if received or remaining <= 0:
                return received
            with self._sent:
                if self._generation == generation:
                    self._sent.wait(min(remaining, _POLL_SECONDS))

    def _receive_now(self, queue_arn: str, limit: int, rules: ReceiveRules) -> list[dict[str, Any]]:
        received = []
        for one in self._messages.receive(queue_arn, self._clock.now(), limit, rules):
            message = _message(one.message_id, one.receipt, one.body, orjson.loads(one.attributes))
            message["Attributes"] = {
                "SentTimestamp": str(int(one.sent * 1000)),
                "ApproximateReceiveCount": str(one.receive_count),
                "ApproximateFirstReceiveTimestamp": str(int(one.first_received * 1000)),
            }
            received.append(message)
        return received

    def delete(self, queue_arn: str, receipt: str) -> bool:
        return self._messages.delete(queue_arn, receipt)

    def change_visibility(self, queue_arn: str, receipt: str, timeout: float) -> bool:
        """Reset the visibility timeout of a message in flight; False if the handle names none."""
        now = self._clock.now()
        return self._messages.change_visibility(queue_arn, receipt, now, now + timeout)

    def purge(self, queue_arn: str) -> None:
        self._messages.purge(queue_arn)

    def counts(self, queue_arn: str) -> tuple[int, int, int]:
        """(visible, in flight, delayed) messages."""
        return self._messages.counts(queue_arn, self._clock.now())


def _message(message_id: str, receipt: str, body: str, attributes: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"MessageId": message_id, "ReceiptHandle": receipt, "MD5OfBody": md5_hex(body)}
    message["Body"] = body
    if attributes:
        message["MessageAttributes"] = attributes
    return message
