"""Step Functions executions in dicts (`storage.ports.Executions`)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Collection, Sequence

from trailbridge.storage.memory.store import MemoryStore
from trailbridge.storage.ports import ExecutionChange, ExecutionRequest, StoredExecution


@dataclasses.dataclass(frozen=True, slots=True)
class _Lease:
    owner: str
    until: float


class MemoryExecutions:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._revisions: dict[str, str] = {}
        self._executions: dict[str, StoredExecution] = {}
        self._leases: dict[str, _Lease] = {}
        self._events: dict[str, list[tuple[int, str]]] = {}
        self._tokens: dict[str, str] = {}
        self._tokens_of: dict[str, tuple[str, ...]] = {}
        self._requests: dict[int, ExecutionRequest] = {}
        self._seqs = itertools.count(1)

    def put_revision(self, revision: str, definition: str) -> None:
        with self._store.transaction():
            if revision not in self._revisions:
                self._store.assign(self._revisions, revision, definition)

    def revision(self, revision: str) -> str | None:
        return self._revisions.get(revision)

    def add(self, execution: StoredExecution, events: Sequence[tuple[int, str]] = ()) -> bool:
        with self._store.transaction():
            if execution.arn in self._executions:
                return False
            self._store.assign(self._executions, execution.arn, execution)
            self._store.assign(self._events, execution.arn, list(events))
            return True

    def get(self, arn: str) -> StoredExecution | None:
        return self._executions.get(arn)

    def listing(
        self, machine_arn: str, status: str | None, after: tuple[float, str] | None, limit: int
    ) -> list[StoredExecution]:
        with self._store.transaction():
            chosen = [
                e
                for e in self._executions.values()
                if e.machine_arn == machine_arn
                and (status is None or e.status == status)
                and (after is None or (e.started, e.arn) < after)
            ]
        chosen.sort(key=lambda e: (e.started, e.arn), reverse=True)
        return chosen[:limit]

    def history(self, arn: str, after: int, limit: int, reverse: bool = False) -> list[tuple[int, str]]:
        with self._store.transaction():
            events = list(self._events.get(arn, ()))
        if reverse:
            return [e for e in reversed(events) if not after or e[0] < after][:limit]
        return [e for e in events if e[0] > after][:limit]

    def _free(self, arn: str, now: float) -> bool:
        lease = self._leases.get(arn)
        return lease is None or lease.until < now

    def claim_due(self, owner: str, now: float, until: float, limit: int) -> list[StoredExecution]:
        with self._store.transaction():
            due = sorted(
                (e for e in self._executions.values() if e.status == "RUNNING" and e.wake_at is not None),
                key=lambda e: (e.wake_at or 0.0, e.arn),
            )
            chosen = [e for e in due if (e.wake_at or 0.0) <= now and self._free(e.arn, now)][:limit]
            for execution in chosen:
                self._store.assign(self._leases, execution.arn, _Lease(owner, until))
            return chosen

    def lease(self, arn: str, owner: str, now: float, until: float) -> StoredExecution | None:
        with self._store.transaction():
            execution = self._executions.get(arn)
            held = self._leases.get(arn)
            if execution is None or (held is not None and held.owner != owner and held.until >= now):
                return None
            self._store.assign(self._leases, arn, _Lease(owner, until))
            return execution

    def save(self, owner: str, changes: Sequence[ExecutionChange]) -> list[str]:
        refused: list[str] = []
        with self._store.transaction():
            for change in changes:
                held = self._leases.get(change.arn)
                current = self._executions.get(change.arn)
                if current is None or held is None or held.owner != owner:
                    refused.append(change.arn)
                    continue
                self._apply(current, change)
        return refused

    def _apply(self, current: StoredExecution, change: ExecutionChange) -> None:
        for seq in change.applied:
            self._store.assign(self._requests, seq, None)
        if change.events:
            self._store.assign(self._events, change.arn, self._events.get(change.arn, []) + list(change.events))
        if change.held:
            self._store.assign(self._executions, change.arn, dataclasses.replace(current, snapshot=change.snapshot))
            return
        updated = dataclasses.replace(
            current,
            status=change.status,
            snapshot=change.snapshot,
            wake_at=change.wake_at,
            output=change.output,
            error=change.error,
            cause=change.cause,
            stopped=change.stopped,
        )
        self._store.assign(self._executions, change.arn, updated)
        for token in change.tokens:
            self._store.assign(self._tokens, token, change.arn)
        if change.tokens:
            self._store.assign(self._tokens_of, change.arn, self._tokens_of.get(change.arn, ()) + tuple(change.tokens))
        if change.status != "RUNNING":
            for token in self._tokens_of.get(change.arn, ()):
                self._store.assign(self._tokens, token, None)
            self._store.assign(self._tokens_of, change.arn, None)
            for request in self._pending(change.arn):
                self._store.assign(self._requests, request.seq, None)
        if change.release:
            self._store.assign(self._leases, change.arn, None)
            earliest = min((r.at for r in self._pending(change.arn)), default=None)
            if change.status == "RUNNING" and earliest is not None:
                due = earliest if change.wake_at is None else min(change.wake_at, earliest)
                self._store.assign(self._executions, change.arn, dataclasses.replace(updated, wake_at=due))

    def _pending(self, arn: str) -> list[ExecutionRequest]:
        return sorted((r for r in self._requests.values() if r.arn == arn), key=lambda r: r.seq)

    def lock(self, arn: str) -> StoredExecution | None:
        return self._executions.get(arn)  # the caller's transaction holds the store's lock

    def ask(self, request: ExecutionRequest, now: float) -> ExecutionRequest:
        with self._store.transaction():
            if request.once is not None:
                for pending in self._requests.values():
                    if pending.once == request.once:
                        return pending
            kept = dataclasses.replace(request, seq=next(self._seqs))
            self._store.assign(self._requests, kept.seq, kept)
            execution = self._executions.get(request.arn)
            if execution is not None and execution.status == "RUNNING" and self._free(request.arn, now):
                due = now if execution.wake_at is None else min(execution.wake_at, now)
                self._store.assign(self._executions, request.arn, dataclasses.replace(execution, wake_at=due))
            return kept

    def requests(self, arns: Collection[str]) -> list[ExecutionRequest]:
        wanted = set(arns)
        with self._store.transaction():
            return sorted((r for r in self._requests.values() if r.arn in wanted), key=lambda r: r.seq)

    def children(self, tokens: Collection[str]) -> list[str]:
        wanted = set(tokens)
        with self._store.transaction():
            return [e.arn for e in self._executions.values() if e.status == "RUNNING" and e.parent in wanted]

    def token(self, token: str) -> str | None:
        return self._tokens.get(token)

    def next_wake(self) -> float | None:
        with self._store.transaction():
            return min(
                (
                    e.wake_at
                    for e in self._executions.values()
                    if e.status == "RUNNING" and e.wake_at is not None and e.arn not in self._leases
                ),
                default=None,
            )

    def release(self, owner: str | None = None) -> int:
        with self._store.transaction():
            chosen = [arn for arn, lease in self._leases.items() if owner is None or lease.owner == owner]
            for arn in chosen:
                self._store.assign(self._leases, arn, None)
            return len(chosen)
