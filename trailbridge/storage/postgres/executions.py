"""Step Functions executions in PostgreSQL (`storage.ports.Executions`); its queries are in executions.sql.

Claims lease rows with `FOR UPDATE SKIP LOCKED`, so drivers on many nodes step side by side without taking
one execution twice; a save applies only the changes whose lease is still the saver's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from typing import Any

from trailbridge.storage.ports import ExecutionChange, ExecutionRequest, StoredExecution
from trailbridge.storage.postgres.store import PostgresStore, queries


def _row(row: Sequence[Any]) -> StoredExecution:
    return StoredExecution(*row)


def _request(row: Sequence[Any]) -> ExecutionRequest:
    arn, kind, at, token, body, once, seq = row
    return ExecutionRequest(arn, kind, float(at), token, body, once, int(seq))


class PostgresExecutions:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._sql = queries("executions.sql")

    def put_revision(self, revision: str, definition: str) -> None:
        with self._store.connection() as conn:
            conn.execute(self._sql["revision_put"], {"revision": revision, "definition": definition})

    def revision(self, revision: str) -> str | None:
        with self._store.connection() as conn:
            row = conn.execute(self._sql["revision"], {"revision": revision}).fetchone()
        return None if row is None else str(row[0])

    def add(self, execution: StoredExecution, events: Sequence[tuple[int, str]] = ()) -> bool:
        params = dataclasses.asdict(execution)
        with self._store.connection() as conn:
            if conn.execute(self._sql["add"], params).fetchone() is None:
                return False
            if events:
                self._add_events(conn, [(execution.arn, i, body) for i, body in events])
            return True

    def _add_events(self, conn: Any, rows: Sequence[tuple[str, int, str]]) -> None:
        columns = {"arns": [r[0] for r in rows], "ids": [r[1] for r in rows], "bodies": [r[2] for r in rows]}
        conn.execute(self._sql["history_add"], columns)

    def get(self, arn: str) -> StoredExecution | None:
        with self._store.connection() as conn:
            row = conn.execute(self._sql["get"], {"arn": arn}).fetchone()
        return None if row is None else _row(row)

    def listing(
        self, machine_arn: str, status: str | None, after: tuple[float, str] | None, limit: int
    ) -> list[StoredExecution]:
        started, arn = after if after is not None else (None, None)
        params = {"machine": machine_arn, "status": status, "started": started, "arn": arn, "limit": limit}
        with self._store.connection() as conn:
            return [_row(r) for r in conn.execute(self._sql["list"], params)]

    def history(self, arn: str, after: int, limit: int, reverse: bool = False) -> list[tuple[int, str]]:
        name = "history_reverse" if reverse else "history_forward"
        with self._store.connection() as conn:
            rows = conn.execute(self._sql[name], {"arn": arn, "after": after, "limit": limit})
            return [(int(i), str(body)) for i, body in rows]

    def claim_due(self, owner: str, now: float, until: float, limit: int) -> list[StoredExecution]:
        params = {"owner": owner, "now": now, "until": until, "limit": limit}
        with self._store.connection() as conn:
            rows = conn.execute(self._sql["claim"], params).fetchall()
        return sorted((_row(r) for r in rows), key=lambda e: (e.wake_at or 0.0, e.arn))

    def lease(self, arn: str, owner: str, now: float, until: float) -> StoredExecution | None:
        params = {"arn": arn, "owner": owner, "now": now, "until": until}
        with self._store.connection() as conn:
            row = conn.execute(self._sql["lease"], params).fetchone()
        return None if row is None else _row(row)

    def save(self, owner: str, changes: Sequence[ExecutionChange]) -> list[str]:
        if not changes:
            return []
        columns = {
            "owner": owner,
            "arns": [c.arn for c in changes],
            "statuses": [c.status for c in changes],
            "snapshots": [c.snapshot for c in changes],
            "wakes": [c.wake_at for c in changes],
            "outputs": [c.output for c in changes],
            "errors": [c.error for c in changes],
            "causes": [c.cause for c in changes],
            "stops": [c.stopped for c in changes],
            "releases": [c.release for c in changes],
            "helds": [c.held for c in changes],
        }
        with self._store.connection() as conn:
            saved = {row[0] for row in conn.execute(self._sql["save"], columns)}
            kept = [c for c in changes if c.arn in saved]
            events = [(c.arn, i, body) for c in kept for i, body in c.events]
            if events:
                self._add_events(conn, events)
            tokens = [(token, c.arn) for c in kept if c.status == "RUNNING" and not c.held for token in c.tokens]
            if tokens:
                conn.execute(
                    self._sql["tokens_add"], {"tokens": [t for t, _ in tokens], "arns": [a for _, a in tokens]}
                )
            applied = [seq for c in kept for seq in c.applied]
            if applied:
                conn.execute(self._sql["requests_done"], {"seqs": applied})
            finished = [c.arn for c in kept if c.status != "RUNNING" and not c.held]
            if finished:
                conn.execute(self._sql["tokens_drop"], {"arns": finished})
                conn.execute(self._sql["requests_drop"], {"arns": finished})
            released = [c.arn for c in kept if c.status == "RUNNING" and c.release and not c.held]
            if released:
                conn.execute(self._sql["requests_wake"], {"arns": released})
        return [c.arn for c in changes if c.arn not in saved]

    def lock(self, arn: str) -> StoredExecution | None:
        with self._store.connection() as conn:
            row = conn.execute(self._sql["lock"], {"arn": arn}).fetchone()
        return None if row is None else _row(row)

    def ask(self, request: ExecutionRequest, now: float) -> ExecutionRequest:
        params = dataclasses.asdict(request)
        with self._store.connection() as conn:
            while (added := conn.execute(self._sql["request_add"], params).fetchone()) is None:
                pending = conn.execute(self._sql["request_once"], params).fetchone()
                if pending is not None:  # else its holder applied it since: this one is added after all
                    return _request(pending)
            conn.execute(self._sql["request_wake"], {"arn": request.arn, "now": now})
        return dataclasses.replace(request, seq=int(added[0]))

    def requests(self, arns: Collection[str]) -> list[ExecutionRequest]:
        with self._store.connection() as conn:
            return [_request(row) for row in conn.execute(self._sql["requests_of"], {"arns": list(arns)})]

    def children(self, tokens: Collection[str]) -> list[str]:
        with self._store.connection() as conn:
            return [str(row[0]) for row in conn.execute(self._sql["children"], {"tokens": list(tokens)})]

    def token(self, token: str) -> str | None:
        with self._store.connection() as conn:
            row = conn.execute(self._sql["token"], {"token": token}).fetchone()
        return None if row is None else str(row[0])

    def next_wake(self) -> float | None:
        with self._store.connection() as conn:
            row = conn.execute(self._sql["next_wake"]).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def release(self, owner: str | None = None) -> int:
        with self._store.connection() as conn:
            return conn.execute(self._sql["release"], {"owner": owner}).rowcount
