"""The storage ports: what the engine asks of a store, one `Protocol` per aggregate, rows as dataclasses.

Each backend (`memory`, `sqlite`, `postgres`) implements every port; its adapter modules are the only callers
of its queries, and the engine modules take ports, never a backend class. `tests/contract/` runs the same
tests over every backend. `STORAGE.md` describes the ports, the lease life cycle and what each backend
guarantees.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol


class Transactional(Protocol):
    def transaction(self) -> AbstractContextManager[None]:
        """One write transaction over every port of the store; nested uses join the outer one."""
        ...


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A delivery to make: one (event, rule, target), due at `due`."""

    rule_arn: str
    target_id: str
    target_arn: str
    due: float


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery a dispatcher holds a lease on; `attempts` made so far."""

    id: int
    event_id: str
    rule_arn: str
    target_id: str
    target_arn: str
    attempts: int


@dataclass(frozen=True, slots=True)
class StoredEvent:
    body: bytes  # the event's JSON
    ingested: float
    lineage: str  # JSON: how many times the event's chain has passed each rule


class Deliveries(Protocol):
    """The durable delivery queue: accepted events, and one delivery per (event, rule, target) until it is
    delivered or dead-lettered. A dispatcher claims due deliveries with a lease (an owner and an expiry):
    while it holds one no other claims the delivery; when the lease expires (its owner died), the delivery
    is claimable again, so a delivery is made at least once."""

    def add(self, event_id: str, body: bytes, ingested: float, lineage: str, new: Sequence[NewDelivery]) -> None:
        """Store an event with its deliveries (nothing, if `new` is empty)."""
        ...

    def claim(self, owner: str, now: float, limit: int, lease: float, skip: Collection[str]) -> list[Claimed]:
        """Lease up to `limit` deliveries due by `now`, earliest first, not leased by anyone (or whose lease
        expired), none to a target ARN in `skip`; each lease lasts until `now + lease`."""
        ...

    def event(self, event_id: str) -> StoredEvent | None: ...

    def retry(self, delivery_id: int, owner: str, due: float, attempts: int, error: str | None) -> bool:
        """Release a delivery `owner` holds, due again at `due` after `attempts` attempts; False (nothing
        changed) when its lease is no longer `owner`'s."""
        ...

    def done(self, delivery_id: int) -> None:
        """Remove a delivery (delivered, dead-lettered or dropped), and its event once it has no other."""
        ...

    def next_due(self) -> float | None:
        """When the earliest delivery not leased falls due (None: there is none)."""
        ...

    def expire_leases(self, now: float) -> int:
        """Release every lease that expired by `now`; how many."""
        ...

    def release(self, owner: str | None = None) -> int:
        """Release `owner`'s leases (every lease when None: a store only one process uses, at start-up);
        how many."""
        ...

    def pending(self) -> int:
        """Deliveries not yet done, leased or not."""
        ...


@dataclass(frozen=True, slots=True)
class Due:
    rule_arn: str
    due: float  # when the rule was to fire


class Schedules(Protocol):
    """When each scheduled rule fires next."""

    def set(self, rule_arn: str, next_fire: float) -> None: ...

    def delete(self, rule_arn: str) -> None: ...

    def claim_due(self, now: float) -> list[Due]:
        """The schedules due by `now`, earliest first. Call inside a transaction that then sets (or deletes)
        each one: until it ends, another process's claim passes them over, so a tick fires once however many
        processes run."""
        ...

    def next_fire(self) -> float | None:
        """The earliest next fire time of any schedule (None: there is none)."""
        ...
