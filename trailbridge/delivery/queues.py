"""Built-in durable queues (the SQS role): targets, dead-letter queues, and read by receive/delete.

Messages live in the store. Sending with a delay hides a message until the delay ends. Receiving first
drops messages older than the retention period and moves those received `maxReceiveCount` times to the
redrive policy's dead-letter queue, then hides each message it returns for the visibility timeout and gives
it a fresh receipt handle; deleting needs the latest handle. A message not deleted in time becomes visible
again. A receive that finds nothing may wait (long polling); a send wakes it.

A FIFO queue (its name ends with `.fifo`) numbers its messages, drops a duplicate sent within five minutes
of the original, and gives each message group's messages in order, none while one of the group is in flight.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from trailbridge.clock import Clock
from trailbridge.domain.ids import NewId
from trailbridge.metrics import Metrics
from trailbridge.storage.ports import Deduplication, Messages, NewMessage, Received, ReceiveRules, Sent, Store

DEFAULT_VISIBILITY_TIMEOUT = 30
DEDUPLICATION_SECONDS = 300  # a FIFO queue's deduplication interval
_SENT = "messages"  # the topic the store announces a send under, to the other nodes
_POLL_SECONDS = 0.1  # long polls also look again this often, for messages whose delay or timeout ends


def is_fifo(queue_arn: str) -> bool:
    """Whether a queue is a FIFO queue (its name ends with `.fifo`, as SQS requires of FIFO queues alone)."""
    return queue_arn.endswith(".fifo")


def content_dedup_id(body: str) -> str:
    """The deduplication id of content-based deduplication: the SHA-256 of the body, in hex."""
    return hashlib.sha256(body.encode()).hexdigest()


class QueueMessages:
    def __init__(
        self, messages: Messages, clock: Clock, store: Store, new_id: NewId, metrics: Metrics | None = None
    ) -> None:
        self._messages, self._clock, self._store, self._new_id = messages, clock, store, new_id
        self._metrics = metrics  # NumberOfMessagesSent per queue, whoever sends: the API, rules, topics
        self._sent = threading.Condition()
        self._generation = 0  # counts sends, so a long poll never misses one that came just before it waits
        store.on_announce(_SENT, self._wake)  # a send on another node wakes the long polls here

    def send(
        self,
        queue_arn: str,
        body: str,
        attributes: Mapping[str, Any] | None = None,
        delay_seconds: float = 0,
        *,
        group_id: str | None = None,
        dedup_id: str | None = None,
        dedup_by_group: bool = False,
    ) -> Sent:
        """Put a message on a queue. A FIFO queue's message needs its group and deduplication id (the caller
        derives one under content-based deduplication, `content_dedup_id`); a duplicate of one sent in the
        last five minutes (in the whole queue, or with `dedup_by_group` in its group) is not enqueued again,
        and answers the original's id and sequence number. A standard queue's message may have a group (a
        fair queue's tenant); it changes nothing about the order it is received in."""
        message_id = self._new_id()
        now = self._clock.now()
        blob = orjson.dumps(dict(attributes or {}))
        dedup = None
        if is_fifo(queue_arn):
            if group_id is None or dedup_id is None:
                raise ValueError(f"a message to the FIFO queue {queue_arn} needs a group id and a deduplication id")
            scope = group_id if dedup_by_group else ""
            dedup = Deduplication(dedup_id, scope, now + DEDUPLICATION_SECONDS)
        sent = self._messages.send(queue_arn, message_id, body, blob, now, now + delay_seconds, group_id, dedup)
        if self._metrics is not None:  # a duplicate is sent too (SQS counts it), only not enqueued again
            self._metrics.add("NumberOfMessagesSent", queue_arn)
        if not sent.duplicate:
            self._store.announce(_SENT)  # inside a transaction, with its commit
            self._wake()
        return sent

    def send_many(self, sends: Sequence[tuple[str, str, Mapping[str, Any], float, str | None]]) -> None:
        """`send` each (queue ARN, body, attributes, delay in seconds, group id) to a standard queue, in one write
        (`Messages.send_many`) that wakes the long polls once."""
        now = self._clock.now()
        messages = []
        for queue_arn, body, attributes, delay_seconds, group_id in sends:
            if is_fifo(queue_arn):
                raise ValueError(f"a message to the FIFO queue {queue_arn} is sent alone, with its deduplication id")
            blob = orjson.dumps(dict(attributes))
            messages.append(NewMessage(queue_arn, self._new_id(), body, blob, now, now + delay_seconds, group_id))
        if messages:
            self._messages.send_many(messages)
            if self._metrics is not None:
                for message in messages:
                    self._metrics.add("NumberOfMessagesSent", message.queue_arn)
            self._store.announce(_SENT)
            self._wake()

    def _wake(self) -> None:
        with self._sent:
            self._generation += 1
            self._sent.notify_all()

    def receive(self, queue_arn: str, limit: int, rules: ReceiveRules, wait_seconds: float = 0) -> list[Received]:
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

    def _receive_now(self, queue_arn: str, limit: int, rules: ReceiveRules) -> list[Received]:
        return self._messages.receive(queue_arn, self._clock.now(), limit, rules)

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
