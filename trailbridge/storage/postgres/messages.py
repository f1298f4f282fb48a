"""Queue messages in PostgreSQL (`storage.ports.Messages`); its queries are in messages.sql.

A receive locks the rows it takes and passes over rows another node's receive holds, so two receivers on
any nodes never get one message at the same time. Receives of one FIFO queue take turns instead (a message
group's order depends on what the receive before took), and so do sends to one FIFO queue (its sequence
number row is locked until the send commits).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from trailbridge.storage.ports import Deduplication, NewMessage, Received, ReceiveRules, Sent
from trailbridge.storage.postgres.store import PostgresStore, queries


class PostgresMessages:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._sql = queries("messages.sql")

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
        row: dict[str, object] = {"queue_arn": queue_arn, "message_id": message_id, "body": body}
        row |= {"attributes": attributes, "sent": sent, "visible_at": visible_at, "group_id": group_id}
        row |= {"dedup_id": None, "sequence": None}
        if dedup is None:
            with self._store.connection() as conn:
                conn.execute(self._sql["message_send"], row)
            return Sent(message_id)
        key = {"queue_arn": queue_arn, "scope": dedup.scope, "dedup_id": dedup.dedup_id, "sent": sent}
        with self._store.transaction(), self._store.connection() as conn:
            last = conn.execute(self._sql["message_sequence_next"], {"queue_arn": queue_arn}).fetchone()
            sequence = int(last[0]) if last else 1
            conn.execute(self._sql["message_dedup_expire"], key)
            found = conn.execute(self._sql["message_dedup_find"], key).fetchone()
            if found is not None:  # the sequence number just taken goes unused: the numbers still increase
                return Sent(str(found[0]), int(found[1]), duplicate=True)
            opened = {**key, "message_id": message_id, "sequence": sequence, "until": dedup.until}
            conn.execute(self._sql["message_dedup_open"], opened)
            conn.execute(self._sql["message_send"], {**row, "dedup_id": dedup.dedup_id, "sequence": sequence})
        return Sent(message_id, sequence)

    def send_many(self, messages: Sequence[NewMessage]) -> None:
        rows = [
            {
                "queue_arn": m.queue_arn,
                "message_id": m.message_id,
                "body": m.body,
                "attributes": m.attributes,
                "sent": m.sent,
                "visible_at": m.visible_at,
                "group_id": m.group_id,
                "dedup_id": None,
                "sequence": None,
            }
            for m in messages
        ]
        if rows:
            with self._store.transaction(), self._store.connection() as conn:
                conn.cursor().executemany(self._sql["message_send"], rows)

    def receive(self, queue_arn: str, now: float, limit: int, rules: ReceiveRules) -> list[Received]:
        where = {"queue_arn": queue_arn, "now": now}
        with self._store.transaction(), self._store.connection() as conn:
            if rules.fifo:
                conn.execute(self._sql["message_fifo_lock"], {"queue_arn": queue_arn})
            conn.execute(self._sql["message_expire"], {**where, "oldest": now - rules.retention_seconds})
            if rules.dead_letter_arn and rules.max_receive_count:
                redrive = {"dead_letter_arn": rules.dead_letter_arn, "max_receive_count": rules.max_receive_count}
                conn.execute(self._sql["message_redrive"], {**where, **redrive})
            hidden = {"limit": limit, "hidden_until": now + rules.visibility_timeout, "prefix": str(uuid.uuid4())}
            query = self._sql["message_receive_fifo" if rules.fifo else "message_receive"]
            rows = conn.execute(query, {**where, **hidden}).fetchall()
        return [
            Received(
                message_id,
                receipt,
                body,
                bytes(attributes),
                float(sent),
                int(count),
                float(first),
                group,
                dedup,
                None if sequence is None else int(sequence),
            )
            for _, message_id, receipt, body, attributes, sent, count, first, group, dedup, sequence in sorted(
                rows, key=lambda row: int(row[0])
            )
        ]

    def delete(self, queue_arn: str, receipt: str) -> bool:
        with self._store.connection() as conn:
            return conn.execute(self._sql["message_delete"], {"queue_arn": queue_arn, "receipt": receipt}).rowcount > 0

    def change_visibility(self, queue_arn: str, receipt: str, now: float, visible_at: float) -> bool:
        params = {"queue_arn": queue_arn, "receipt": receipt, "now": now, "visible_at": visible_at}
        with self._store.connection() as conn:
            return conn.execute(self._sql["message_change_visibility"], params).rowcount > 0

    def purge(self, queue_arn: str) -> None:
        with self._store.connection() as conn:
            conn.execute(self._sql["message_purge"], {"queue_arn": queue_arn})

    def counts(self, queue_arn: str, now: float) -> tuple[int, int, int]:
        with self._store.connection() as conn:
            row = conn.execute(self._sql["message_count"], {"queue_arn": queue_arn, "now": now}).fetchone()
        return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)
