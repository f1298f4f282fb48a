"""Queue messages in dicts (`storage.ports.Messages`)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from trailbridge.storage.memory.store import MemoryStore
from trailbridge.storage.ports import Deduplication, NewMessage, Received, ReceiveRules, Sent


@dataclass(frozen=True, slots=True)
class _Message:
    queue_arn: str
    message_id: str
    body: str
    attributes: bytes
    sent: float
    visible_at: float
    receive_count: int = 0
    receipt: str | None = None
    first_received: float | None = None
    group_id: str | None = None
    dedup_id: str | None = None
    sequence: int | None = None


@dataclass(frozen=True, slots=True)
class _Interval:
    """A FIFO send's deduplication interval: the message it enqueued, until when it counts."""

    message_id: str
    sequence: int
    until: float


class MemoryMessages:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._messages: dict[int, _Message] = {}  # by sequence: the order they were sent
        self._seq = itertools.count(1)
        self._intervals: dict[tuple[str, str, str], _Interval] = {}  # (queue, scope, deduplication id)
        self._sequences: dict[str, int] = {}  # a FIFO queue's last sequence number

    def _set(self, seq: int, message: _Message | None) -> None:
        self._store.assign(self._messages, seq, message)

    def _of(self, queue_arn: str) -> list[tuple[int, _Message]]:
        return [(seq, m) for seq, m in sorted(self._messages.items()) if m.queue_arn == queue_arn]

    def send(
        self,
        queue_arn: str,
        message_id: str,
        body: str,
        attributes: bytes,
        sent: float,
        visible_at: float,
        group_id: str | None = None,
        dedup: Deduplication | None = None,
    ) -> Sent:
        with self._store.transaction():
            sequence = None
            if dedup is not None:
                key = (queue_arn, dedup.scope, dedup.dedup_id)
                before = self._intervals.get(key)
                if before is not None and before.until > sent:
                    return Sent(before.message_id, before.sequence, duplicate=True)
                sequence = self._sequences.get(queue_arn, 0) + 1
                self._store.assign(self._sequences, queue_arn, sequence)
                self._store.assign(self._intervals, key, _Interval(message_id, sequence, dedup.until))
            dedup_id = dedup.dedup_id if dedup is not None else None
            message = _Message(
                queue_arn, message_id, body, attributes, sent, visible_at, 0, None, None, group_id, dedup_id, sequence
            )
            self._set(next(self._seq), message)
            return Sent(message_id, sequence)

    def send_many(self, messages: Sequence[NewMessage]) -> None:
        with self._store.transaction():
            for m in messages:
                message = _Message(
                    m.queue_arn, m.message_id, m.body, m.attributes, m.sent, m.visible_at, group_id=m.group_id
                )
                self._set(next(self._seq), message)

    def receive(self, queue_arn: str, now: float, limit: int, rules: ReceiveRules) -> list[Received]:
        received: list[Received] = []
        with self._store.transaction():
            held: set[str | None] = set()  # FIFO: groups with a message in flight, or an earlier one not yet visible
            if rules.fifo:
                held = {
                    m.group_id
                    for _, m in self._of(queue_arn)
                    if m.group_id is not None
                    and m.visible_at > now
                    and m.receive_count > 0
                    and m.sent >= now - rules.retention_seconds
                }
            for seq, message in self._of(queue_arn):
                if message.sent < now - rules.retention_seconds:
                    self._set(seq, None)
                elif (
                    rules.dead_letter_arn
                    and rules.max_receive_count
                    and message.visible_at <= now
                    and message.receive_count >= rules.max_receive_count
                ):
                    moved = replace(message, queue_arn=rules.dead_letter_arn, receive_count=0, visible_at=now)
                    self._set(seq, replace(moved, receipt=None, first_received=None))
                elif rules.fifo and message.group_id in held:
                    continue
                elif message.visible_at > now:
                    if rules.fifo and message.group_id is not None:
                        held.add(message.group_id)  # its group's later messages wait for it
                elif len(received) < limit:
                    receipt = f"{uuid.uuid4()}-{seq}"
                    first = message.first_received if message.first_received is not None else now
                    count = message.receive_count + 1
                    hidden = now + rules.visibility_timeout
                    self._set(
                        seq,
                        replace(message, visible_at=hidden, receive_count=count, receipt=receipt, first_received=first),
                    )
                    received.append(
                        Received(
                            message.message_id,
                            receipt,
                            message.body,
                            message.attributes,
                            message.sent,
                            count,
                            first,
                            message.group_id,
                            message.dedup_id,
                            message.sequence,
                        )
                    )
        return received

    def _by_receipt(self, queue_arn: str, receipt: str) -> tuple[int, _Message] | None:
        return next(((seq, m) for seq, m in self._of(queue_arn) if m.receipt == receipt), None)

    def delete(self, queue_arn: str, receipt: str) -> bool:
        with self._store.transaction():
            found = self._by_receipt(queue_arn, receipt)
            if found is not None:
                self._set(found[0], None)
            return found is not None

    def change_visibility(self, queue_arn: str, receipt: str, now: float, visible_at: float) -> bool:
        with self._store.transaction():
            found = self._by_receipt(queue_arn, receipt)
            if found is None or found[1].visible_at <= now:
                return False
            self._set(found[0], replace(found[1], visible_at=visible_at))
            return True

    def purge(self, queue_arn: str) -> None:
        with self._store.transaction():
            for seq, _ in self._of(queue_arn):
                self._set(seq, None)

    def counts(self, queue_arn: str, now: float) -> tuple[int, int, int]:
        with self._store.transaction():
            messages = [m for _, m in self._of(queue_arn)]
        visible = sum(1 for m in messages if m.visible_at <= now)
        in_flight = sum(1 for m in messages if m.visible_at > now and m.receive_count > 0)
        return visible, in_flight, len(messages) - visible - in_flight
