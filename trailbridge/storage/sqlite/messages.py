"""Queue messages in SQLite (`storage.ports.Messages`); its queries are in messages.sql."""

from __future__ import annotations

import uuid

from trailbridge.storage.ports import Received, ReceiveRules
from trailbridge.storage.sqlite.store import SqliteStore


class SqliteMessages:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def send(
        self, queue_arn: str, message_id: str, body: str, attributes: bytes, sent: float, visible_at: float
    ) -> None:
        self._store.run("message_send", (queue_arn, message_id, body, attributes, sent, visible_at))

    def receive(self, queue_arn: str, now: float, limit: int, rules: ReceiveRules) -> list[Received]:
        received = []
        with self._store.transaction():
            self._store.run("message_expire", (queue_arn, now - rules.retention_seconds))
            if rules.dead_letter_arn and rules.max_receive_count:
                moved = (rules.dead_letter_arn, now, queue_arn, now, rules.max_receive_count)
                self._store.run("message_redrive", moved)
            hidden_until = now + rules.visibility_timeout
            for seq, message_id, body, attributes, sent, count, first in self._store.all(
                "message_visible", (queue_arn, now, limit)
            ):
                receipt = f"{uuid.uuid4()}-{seq}"
                self._store.run("message_receive", (hidden_until, receipt, now, seq))
                received.append(
                    Received(message_id, receipt, body, bytes(attributes), float(sent), int(count) + 1, first or now)
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
