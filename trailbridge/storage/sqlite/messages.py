"""Queue messages in SQLite (`storage.ports.Messages`); its queries are in messages.sql."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from trailbridge.storage.ports import Deduplication, NewMessage, Received, ReceiveRules, Sent
from trailbridge.storage.sqlite.store import SqliteStore


class SqliteMessages:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

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
        if dedup is None and group_id is None:
            self._store.run("message_send", (queue_arn, message_id, body, attributes, sent, visible_at))
            return Sent(message_id)
        if dedup is None:
            row = (queue_arn, message_id, body, attributes, sent, visible_at, group_id, None, None)
            self._store.run("message_send_grouped", row)
            return Sent(message_id)
        with self._store.transaction():
            self._store.run("message_dedup_expire", (queue_arn, sent))
            found = self._store.one("message_dedup_find", (queue_arn, dedup.scope, dedup.dedup_id, sent))
            if found is not None:
                return Sent(str(found[0]), int(found[1]), duplicate=True)
            self._store.run("message_sequence_next", (queue_arn,))
            last = self._store.one("message_sequence_last", (queue_arn,))
            sequence = int(last[0]) if last else 1
            opened = (queue_arn, dedup.scope, dedup.dedup_id, message_id, sequence, dedup.until)
            self._store.run("message_dedup_open", opened)
            fifo_row = (queue_arn, message_id, body, attributes, sent, visible_at, group_id, dedup.dedup_id, sequence)
            self._store.run("message_send_grouped", fifo_row)
        return Sent(message_id, sequence)

    def send_many(self, messages: Sequence[NewMessage]) -> None:
        rows = [(m.queue_arn, m.message_id, m.body, m.attributes, m.sent, m.visible_at, m.group_id) for m in messages]
        self._store.run_many("message_send_many", rows)

    def receive(self, queue_arn: str, now: float, limit: int, rules: ReceiveRules) -> list[Received]:
        received = []
        with self._store.transaction():
            self._store.run("message_expire", (queue_arn, now - rules.retention_seconds))
            if rules.dead_letter_arn and rules.max_receive_count:
                moved = (rules.dead_letter_arn, now, queue_arn, now, rules.max_receive_count)
                self._store.run("message_redrive", moved)
            hidden_until = now + rules.visibility_timeout
            visible = "message_visible_fifo" if rules.fifo else "message_visible"
            for seq, message_id, body, attributes, sent, count, first, group, dedup, sequence in self._store.all(
                visible, (queue_arn, now, limit)
            ):
                receipt = f"{uuid.uuid4()}-{seq}"
                self._store.run("message_receive", (hidden_until, receipt, now, seq))
                received.append(
                    Received(
                        message_id,
                        receipt,
                        body,
                        bytes(attributes),
                        float(sent),
                        int(count) + 1,
                        first or now,
                        group,
                        dedup,
                        None if sequence is None else int(sequence),
                    )
                )
        return received

    def delete(self, queue_arn: str, receipt: str) -> bool:
        return self._store.run("message_delete", (queue_arn, receipt)) > 0

    def change_visibility(self, queue_arn: str, receipt: str, now: float, visible_at: float) -> bool:
        return self._store.run("message_change_visibility", (visible_at, queue_arn, receipt, now)) > 0

    def purge(self, queue_arn: str) -> None:
        self._store.run("message_purge", (queue_arn,))

    def counts(self, queue_arn: str, now: float) -> tuple[int, int, int]:
        row = self._store.one("message_count", (now, queue_arn))
        return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)
