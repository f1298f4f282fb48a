"""Step Functions executions in SQLite (`storage.ports.Executions`); its queries are in executions.sql. One
process opens the file and a transaction holds the connection, so a claim is exclusive."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from trailbridge.storage.ports import ExecutionChange, ExecutionRequest, StoredExecution
from trailbridge.storage.sqlite.store import SqliteStore


def _row(row: Sequence[Any]) -> StoredExecution:
    return StoredExecution(*row)


def _request(row: Sequence[Any] | None) -> ExecutionRequest:
    if row is None:
        raise LookupError("no pending request holds the key")
    arn, kind, at, token, body, once, seq = row
    return ExecutionRequest(arn, kind, float(at), token, body, once, int(seq))


def _values(e: StoredExecution) -> tuple[Any, ...]:
    return (
        e.arn,
        e.machine_arn,
        e.revision,
        e.account,
        e.region,
        e.name,
        e.status,
        e.input,
        e.started,
        e.snapshot,
        e.wake_at,
        e.output,
        e.error,
        e.cause,
        e.stopped,
        e.parent,
    )


class SqliteExecutions:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def put_revision(self, revision: str, definition: str) -> None:
        self._store.run("sfn_revision_put", (revision, definition))

    def revision(self, revision: str) -> str | None:
        row = self._store.one("sfn_revision", (revision,))
        return None if row is None else str(row[0])

    def add(self, execution: StoredExecution, events: Sequence[tuple[int, str]] = ()) -> bool:
        with self._store.transaction():
            if not self._store.run("sfn_add", _values(execution)):
                return False
            if events:
                self._store.run_many("sfn_history_add", [(execution.arn, i, body) for i, body in events])
            return True

    def get(self, arn: str) -> StoredExecution | None:
        row = self._store.one("sfn_get", (arn,))
        return None if row is None else _row(row)

    def listing(
        self, machine_arn: str, status: str | None, after: tuple[float, str] | None, limit: int
    ) -> list[StoredExecution]:
        started, arn = after if after is not None else (None, None)
        return [_row(r) for r in self._store.all("sfn_list", (machine_arn, status, started, arn, limit))]

    def history(self, arn: str, after: int, limit: int, reverse: bool = False) -> list[tuple[int, str]]:
        name = "sfn_history_reverse" if reverse else "sfn_history_forward"
        return [(int(i), str(body)) for i, body in self._store.all(name, (arn, after, limit))]

    def claim_due(self, owner: str, now: float, until: float, limit: int) -> list[StoredExecution]:
        with self._store.transaction():
            rows = self._store.all("sfn_claim", (owner, now, until, limit))
        return sorted((_row(r) for r in rows), key=lambda e: (e.wake_at or 0.0, e.arn))

    def lease(self, arn: str, owner: str, now: float, until: float) -> StoredExecution | None:
        with self._store.transaction():
            row = self._store.one("sfn_lease", (arn, owner, now, until))
        return None if row is None else _row(row)

    def save(self, owner: str, changes: Sequence[ExecutionChange]) -> list[str]:
        refused: list[str] = []
        events: list[tuple[str, int, str]] = []
        tokens: list[tuple[str, str]] = []
        with self._store.transaction():
            for c in changes:
                values = (c.arn, owner, c.status, c.snapshot, c.wake_at, c.output, c.error, c.cause, c.stopped)
                saved = (
                    self._store.run("sfn_save_held", (c.arn, owner, c.snapshot))
                    if c.held
                    else self._store.run("sfn_save", (*values, c.release))
                )
                if not saved:
                    refused.append(c.arn)
                    continue
                events += [(c.arn, i, body) for i, body in c.events]
                for seq in c.applied:
                    self._store.run("sfn_request_done", (seq,))
                if c.held:
                    continue
                if c.status != "RUNNING":
                    self._store.run("sfn_tokens_drop", (c.arn,))
                    self._store.run("sfn_requests_drop", (c.arn,))
                else:
                    tokens += [(token, c.arn) for token in c.tokens]
                    if c.release:
                        self._store.run("sfn_requests_wake", (c.arn,))
            if events:
                self._store.run_many("sfn_history_add", events)
            for token in tokens:
                self._store.run("sfn_token_add", token)
        return refused

    def lock(self, arn: str) -> StoredExecution | None:
        row = self._store.one("sfn_lock", (arn,))  # the caller's transaction holds the only connection
        return None if row is None else _row(row)

    def ask(self, request: ExecutionRequest, now: float) -> ExecutionRequest:
        r = request
        with self._store.transaction():
            added = self._store.one("sfn_request_add", (r.arn, r.kind, r.at, r.token, r.body, r.once))
            if added is None:
                return _request(self._store.one("sfn_request_once", (r.once,)))
            self._store.run("sfn_request_wake", (r.arn, now))
        return ExecutionRequest(r.arn, r.kind, r.at, r.token, r.body, r.once, int(added[0]))

    def requests(self, arns: Collection[str]) -> list[ExecutionRequest]:
        found = [_request(row) for row in self._store.all_many("sfn_requests_of", [(arn,) for arn in arns])]
        return sorted(found, key=lambda r: r.seq)

    def children(self, tokens: Collection[str]) -> list[str]:
        with self._store.transaction():
            return [str(row[0]) for token in tokens for row in self._store.all("sfn_children", (token,))]

    def token(self, token: str) -> str | None:
        row = self._store.one("sfn_token", (token,))
        return None if row is None else str(row[0])

    def next_wake(self) -> float | None:
        row = self._store.one("sfn_next_wake")
        return None if row is None or row[0] is None else float(row[0])

    def release(self, owner: str | None = None) -> int:
        return self._store.run("sfn_release", (owner,))
