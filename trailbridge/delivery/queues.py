"""Built-in durable queues (the SQS role): targets, dead-letter queues, and read by receive/delete.

Messages live in the store. Receiving hides a message for the visibility timeout and gives it a fresh
receipt handle; deleting needs the latest handle. A message not deleted in time becomes visible again.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from trailbridge.clock import Clock
from trailbridge.storage.sqlite import SqliteStore

DEFAULT_VISIBILITY_TIMEOUT = 30


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class QueueMessages:
    def __init__(self, store: SqliteStore, clock: Clock) -> None:
        self._store, self._clock = store, clock

    def send(self, queue_arn: str, body: str, attributes: Mapping[str, Any] | None = None) -> str:
        message_id = str(uuid.uuid4())
        now = self._clock.now()
        blob = orjson.dumps(dict(attributes or {}))
        self._store.run("message_send", (queue_arn, message_id, body, blob, now, now))
        return message_id

    def receive(self, queue_arn: str, limit: int, visibility_timeout: float) -> list[dict[str, Any]]:
        now = self._clock.now()
        received = []
        with self._store.transaction():
            for seq, message_id, body, attributes, sent, count in self._store.all(
                "message_visible", (queue_arn, now, limit)
            ):
                receipt = f"{uuid.uuid4()}-{seq}"
                self._store.run("message_receive", (now + visibility_timeout, receipt, seq))
                received.append(_message(message_id, receipt, body, orjson.loads(attributes), sent, count + 1))
        return received

    def delete(self, queue_arn: str, receipt: str) -> bool:
        return self._store.run("message_delete", (queue_arn, receipt)) > 0

    def change_visibility(self, queue_arn: str, receipt: str, timeout: float) -> bool:
        return self._store.run("message_change_visibility", (self._clock.now() + timeout, queue_arn, receipt)) > 0

    def purge(self, queue_arn: str) -> None:
        self._store.run("message_purge", (queue_arn,))

    def counts(self, queue_arn: str) -> tuple[int, int]:
        """(messages in all, of which now invisible because received)."""
        row = self._store.one("message_count", (self._clock.now(), queue_arn))
        return (row[0], row[1]) if row else (0, 0)


def _message(
    message_id: str, receipt: str, body: str, attributes: dict[str, Any], sent: float, count: int
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "MessageId": message_id,
        "ReceiptHandle": receipt,
        "MD5OfBody": md5_hex(body),
        "Body": body,
        "Attributes": {"SentTimestamp": str(int(sent * 1000)), "ApproximateReceiveCount": str(count)},
    }
    if attributes:
        message["MessageAttributes"] = attributes
    return message
