"""Queue messages in dicts (`storage.ports.Messages`)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, replace

from trailbridge.storage.memory.store import MemoryStore
from trailbridge.storage.ports import Received, ReceiveRules


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


class MemoryMessages:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._messages: dict[int, _Message] = {}  # by sequence: the order they were sent
        self._seq = itertools.count(1)

    def _set(self, seq: int, message: _Message | None) -> None:
        self._store.assign(self._messages, seq, message)

    def _of(self, queue_arn: str) -> list[tuple[int, _Message]]:
        return [(seq, m) for seq, m in sorted(self._messages.items()) if m.queue_arn == queue_arn]

    def send(
        self, queue_arn: str, message_id: str, body: str, attributes: bytes, sent: float, visible_at: float
    ) -> None:
        with self._store.transaction():
            self._set(next(self._seq), _Message(queue_arn, message_id, body, attributes, sent, visible_at))

    def receive(self, queue_arn: str, now: float, limit: int, rules: ReceiveRules) -> list[Received]:
        received: list[Received] = []
        with self._store.transaction():
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
                elif message.visible_at <= now and len(received) < limit:
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
                            message.message_id, receipt, message.body, message.attributes, message.sent, count, first
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
