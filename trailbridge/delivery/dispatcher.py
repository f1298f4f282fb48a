"""The dispatcher: takes due deliveries from the durable queue, renders and invokes, then acknowledges.

Life of a delivery (the port `storage.ports.Deliveries`):

    written by PutEvents (no lease, due=now)
      -> claimed (a lease: this dispatcher's owner id, until now + delivery_lease_seconds) -> invoked
           -> success ........................................ removed (and its event, once it has no other)
           -> failure, retries left .......................... lease released, due=now+backoff
           -> failure, none left / not retryable
                -> dead-letter queue (or dropped and counted); removed
    the dispatcher dies while it holds the lease -> the lease expires (or, on a store only one process
    opens, the next dispatcher to start releases every lease) -> claimed again -> delivered again

So every accepted event is delivered at least once or dead-lettered. One dispatcher per data directory
(an exclusive lock file enforces it) runs an asyncio loop in its own thread; `max_in_flight` bounds the
deliveries under way and `max_in_flight_per_target` keeps one slow target from taking every slot.
Scheduled rules fire from the same loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple, TextIO

import orjson

from trailbridge.bus.router import Lineage
from trailbridge.bus.routing import Rule, Target
from trailbridge.clock import Clock
from trailbridge.delivery.invoker import Delivery, Invoker, Routing
from trailbridge.delivery.lambdas import ASYNC, AsyncInvoker
from trailbridge.delivery.queues import QueueMessages
from trailbridge.delivery.retry import DeliveryFailure, compute_backoff, gives_up
from trailbridge.delivery.subscriptions import NOTIFY, Notifier
from trailbridge.errors import ConflictError
from trailbridge.metrics import Metrics
from trailbridge.settings import Settings
from trailbridge.storage.ports import Claimed, Deliveries, NewEvent, Resources, Store
from trailbridge.transform import InputContext, TransformError
from trailbridge.workers import Worker

log = logging.getLogger("trailbridge.delivery")
_IDLE_SECONDS = 1.0
_CLAIM_AT_LEAST_EVERY = 0.05  # seconds: while busy, a claim is made this often even if nothing asked for one
_WRITTEN_KEPT = 1024  # events this dispatcher wrote, kept until it claims their deliveries (not read back)...
_WRITTEN_MOST_BYTES = 8192  # ...when they are this small at most (so what is kept stays under 8 MiB)
TRANSFORMATION_FAILURE = "TRANSFORMATION_FAILURE"  # the dead-letter ERROR_CODE of an input that could not be made


class _Event(NamedTuple):
    body: bytes
    doc: dict[str, Any]
    ingested: float
    lineage: Lineage


class _Outcome(NamedTuple):
    row: Claimed
    kind: str  # done | retry | dead
    due: float = 0.0
    error: DeliveryFailure | None = None
    event: _Event | None = None
    target: Target | None = None
    rule_creator: str | None = None  # the account that created the rule (for the dead-letter queue's check)
    writes: Callable[[], None] | None = None  # written with the outcome (a function's logs): in the flush's commit
    accepted: tuple[NewEvent, ...] = ()  # asynchronous invocations the delivery made: in the flush's commit too


class Dispatcher:
    def __init__(
        self,
        store: Store,
        resources: Resources,
        deliveries: Deliveries,
        routing: Routing,
        invoker: Invoker,
        queues: QueueMessages,
        metrics: Metrics,
        settings: Settings,
        clock: Clock,
        notifier: Notifier,
        functions: AsyncInvoker,
    ) -> None:
        self.store, self.deliveries, self.notifier, self.functions = store, deliveries, notifier, functions
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"  # the name its leases carry
        self.resources, self.routing, self.invoker, self.queues = resources, routing, invoker, queues
        self.metrics, self.settings, self.clock = metrics, settings, clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0  # the thread `_loop` runs on
        self._wakeup: asyncio.Event | None = None
        self.worker = Worker("dispatcher", self._run, self.wake)
        self._runs = 0
        self._lock_file: TextIO | None = None
        self._outcomes: list[_Outcome] = []
        self._per_target: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._ready = threading.Event()
        self._next_expiry = 0.0
        # Whether the next pass claims: a claim scans past every due delivery of a target at its cap, so it is
        # made only when something new may be claimable (see _claim_and_start).
        self._claim_wanted = True
        self._last_claim = 0.0
        self._skipped: set[str] = set()  # the targets the last claim left out (at their cap)
        self._filled = False  # whether the last claim took as many as it had room for (more may be due)
        self._written: dict[str, _Event] = {}  # by id: asynchronous invocations committed by _flush, not yet claimed

    # -- life cycle ---------------------------------------------------------------------------

    def start(self, lock_dir: Path | None) -> None:
        if lock_dir is not None:
            self._lock_file = _exclusive_lock(lock_dir / "dispatcher.lock")
        if not self.store.shared:  # one process per store: whatever a dead dispatcher held is due again now
            self.deliveries.release()  # (on a shared store, a dead node's leases are taken when they expire)
        self.worker.start()
        self._ready.wait()

    def wake(self) -> None:
        """New deliveries are committed."""
        loop, wakeup = self._loop, self._wakeup
        on_the_loop = threading.get_ident() == self._loop_thread
        if not on_the_loop:
            self._claim_wanted = True
        if loop is not None and wakeup is not None:
            if on_the_loop:  # a delivery under way wrote them (a rule's deployed function target): set at once, no
                wakeup.set()  # write to the loop's self-pipe; claimed after that delivery ends (see _deliver)
                return
            # a loop closed meanwhile (the dispatcher is starting again) claims what is due when it starts
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wakeup.set)

    def stop(self) -> None:
        """Stop claiming, let deliveries under way finish within the grace period, then stop."""
        self.worker.stop(self.settings.shutdown_grace_seconds + 5)
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def _run(self) -> None:
        """The dispatcher's loop; its worker runs it again if it raises, and what the loop that died had
        claimed is due again."""
        if self._runs:  # run again
            self._tasks.clear()
            self._per_target.clear()
            self._skipped.clear()
            self._written.clear()
            self._claim_wanted = True
            self.deliveries.release(self.owner)
        self._runs += 1
        try:
            asyncio.run(self._main())
        finally:
            self._loop = self._wakeup = None

    async def _main(self) -> None:
        self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        self._wakeup = asyncio.Event()
        self._ready.set()
        next_schedule = 0.0
        try:
            while self.worker.running:
                try:
                    if self.clock.now() >= next_schedule:
                        upcoming = self.routing.fire_schedules()
                        next_schedule = min(upcoming or float("inf"), self.clock.now() + _IDLE_SECONDS)
                    self._claim_and_start()
                    self._flush()
                    self.worker.succeeded()
                except Exception as exc:  # e.g. the database is locked for longer than its timeout: try again
                    self.worker.failed(exc)
                    log.exception("dispatcher loop failed; retrying")
                    await asyncio.sleep(_IDLE_SECONDS)
                await self._sleep(next_schedule)
            await self._drain()
        finally:
            await self.invoker.http.close()

    async def _sleep(self, next_schedule: float) -> None:
        assert self._wakeup is not None
        if self._wakeup.is_set() or self._outcomes:
            self._wakeup.clear()
            return
        next_due = self.deliveries.next_due()
        next_due = float("inf") if next_due is None else next_due
        now = self.clock.now()
        if next_due <= now and self._skipped:  # most likely deliveries to a target at its cap: they wait for it to
            next_due = now + _CLAIM_AT_LEAST_EVERY  # come down (a delivery that ends wakes this) or a while
        timeout = max(0.0, min(next_due, next_schedule) - now)
        try:
            await asyncio.wait_for(self._wakeup.wait(), timeout=min(timeout, _IDLE_SECONDS))
        except TimeoutError:  # a delivery (or a lease) may be due by now
            self._claim_wanted = True
        self._wakeup.clear()

    async def _drain(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self.settings.shutdown_grace_seconds)
        self._flush()

    # -- claiming -----------------------------------------------------------------------------

    def _claim_and_start(self) -> None:
        """Claim what is due, when something new may be: another thread committed deliveries (`wake`), a due
        time was reached, or a delivery ended (unless its target was left out at its cap and is still above its
        low mark, and the last claim had room to spare); and at least every _CLAIM_AT_LEAST_EVERY while busy. A
        target at its cap stays left out until it is down to its low mark (a quarter below the cap), so a
        backlog to one slow target is claimed in batches, not by one claim (a scan past that backlog) per
        delivery that ends."""
        room = self.settings.max_in_flight - len(self._tasks)
        now = self.clock.now()
        if room <= 0 or not (self._claim_wanted or now >= self._last_claim + _CLAIM_AT_LEAST_EVERY):
            return
        self._claim_wanted, self._last_claim = False, now  # before the claim: a wake during it asks for another
        cap, low = self.settings.max_in_flight_per_target, self._low_mark()
        skipped = self._skipped
        saturated = {arn for arn, n in self._per_target.items() if n >= cap or (arn in skipped and n > low)}
        lease = self.settings.delivery_lease_seconds
        if now >= self._next_expiry:  # leases of a dispatcher that died are taken by `claim` too; this keeps
            self._next_expiry = now + lease / 4  # `next_due` (which counts only deliveries not leased) right
            self.deliveries.expire_leases(now)
        rows = self.deliveries.claim(self.owner, now, room, lease, saturated)
        self._skipped, self._filled = saturated, len(rows) >= room
        if not rows:
            return
        events = self._events({row.event_id for row in rows})
        rules = self.routing.current_rules()  # a rule another process changed is delivered as it is now
        for row in rows:
            self._per_target[row.target_arn] += 1
            task = asyncio.create_task(self._deliver(row, events.get(row.event_id), rules.get(row.rule_arn)))
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    def _events(self, ids: set[str]) -> dict[str, _Event]:
        events = {}
        for event_id in ids:
            if (kept := self._written.pop(event_id, None)) is not None:  # written by this dispatcher: as stored
                events[event_id] = kept
                continue
            found = self.deliveries.event(event_id)
            if found is not None:
                body = found.body
                events[event_id] = _Event(body, orjson.loads(body), found.ingested, orjson.loads(found.lineage))
        return events

    def _low_mark(self) -> int:
        """How far a target left out at its cap must come down before it is claimed for again."""
        cap = self.settings.max_in_flight_per_target
        return cap - max(1, cap // 4)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._wakeup is not None:
            self._wakeup.set()

    # -- one delivery -------------------------------------------------------------------------

    async def _deliver(self, row: Claimed, event: _Event | None, rule: Rule | None) -> None:
        try:
            outcome = await self._attempt(row, event, rule)  # awaited first: _flush swaps the list meanwhile
        except Exception:  # a bug must not lose the delivery: leave it for a retry
            log.exception("delivery %s failed unexpectedly", row.id)
            outcome = _Outcome(row, "retry", due=self.clock.now() + self.settings.retry_max_seconds)
        finally:
            left = self._per_target[row.target_arn] = self._per_target[row.target_arn] - 1
            if self._filled or row.target_arn not in self._skipped or left <= self._low_mark():
                self._claim_wanted = True  # only a target left out at its cap and still above its low mark waits
        self._outcomes.append(outcome)

    async def _attempt(self, row: Claimed, event: _Event | None, rule: Rule | None) -> _Outcome:
        if row.target_id == NOTIFY:
            return await self._notify(row, event)
        if row.target_id == ASYNC:
            return await self._invoke_async(row, event)
        target = rule.targets.get(row.target_id) if rule is not None else None
        if event is None or rule is None or target is None:
            self.metrics.add("DroppedEvents", row.rule_arn, row.target_id)  # rule or target removed meanwhile
            return _Outcome(row, "done")
        accepted: list[NewEvent] = []
        try:
            payload = self._render(rule, target, event)
            child = {**event.lineage, rule.arn: event.lineage.get(rule.arn, 0) + 1}
            delivery = Delivery(
                target.arn, target.spec, payload, event.doc, child, self.routing.new_id(), rule.arn, rule.creator,
                accepted.append,
            )  # fmt: skip
            throttled = await self.invoker.invoke(delivery)
        except DeliveryFailure as failure:
            return self._failed(row, rule, target, event, failure)
        self._succeeded(rule, target, event, throttled)
        return _Outcome(row, "done", accepted=tuple(accepted))

    def _render(self, rule: Rule, target: Target, event: _Event) -> bytes:
        """What the target receives; a transformation that fails (a JSON template whose output is not JSON)
        is not retried: it would fail again. AWS delivers nothing; it is dead-lettered like other failures."""
        try:
            return target.input.render(event.doc, event.body, InputContext(rule.arn, rule.name, event.ingested))
        except TransformError as exc:
            log.warning("event %s not delivered to %s of %s: %s", event.doc.get("id"), target.id, rule.arn, exc.message)
            raise DeliveryFailure(TRANSFORMATION_FAILURE, exc.message, retryable=False) from None

    async def _notify(self, row: Claimed, event: _Event | None) -> _Outcome:
        """An SNS message to one subscription (`rule_arn` is the subscription's ARN): sent, retried as its
        delivery policy says, or given to its dead-letter queue."""
        found = self.notifier.subscription(row.rule_arn) if event is not None else None
        if event is None or found is None:  # unsubscribed (or the topic deleted) meanwhile: nothing to send
            return _Outcome(row, "done")
        subscription, topic = found
        try:
            await self.notifier.deliver(subscription, topic, event.doc)
        except DeliveryFailure as failure:
            attempts = row.attempts + 1
            delay = self.notifier.next_delay(subscription, topic, failure, attempts)
            if delay is not None:
                return _Outcome(replace(row, attempts=attempts), "retry", due=self.clock.now() + delay, error=failure)
            with self.store.transaction():
                self.notifier.dead_letter(subscription, topic, event.doc, failure)
        return _Outcome(row, "done")

    async def _invoke_async(self, row: Claimed, event: _Event | None) -> _Outcome:
        """A function's asynchronous invocation (`rule_arn` is the function's ARN), made or retried as Lambda
        makes it (`delivery.lambdas`)."""
        if event is None:
            return _Outcome(row, "done")
        now = self.clock.now()
        attempted = await self.functions.attempt(row.rule_arn, event.doc, row.attempts, event.ingested, now)
        if attempted.done:
            return _Outcome(row, "done", writes=attempted.write_logs)
        error = DeliveryFailure("FUNCTION_ERROR", attempted.error or "failed")
        retried = replace(row, attempts=attempted.attempts)
        return _Outcome(retried, "retry", due=attempted.due, error=error, writes=attempted.write_logs)

    def _succeeded(self, rule: Rule, target: Target, event: _Event, throttled: bool) -> None:
        self.metrics.add("Invocations", rule.arn, target.id)
        if throttled:
            self.metrics.add("ThrottledRules", rule.arn, target.id)
        self.metrics.observe_latency(rule.arn, target.id, self.clock.now() - event.ingested)

    def _failed(self, row: Claimed, rule: Rule, target: Target, event: _Event, failure: DeliveryFailure) -> _Outcome:
        attempts = row.attempts + 1
        now = self.clock.now()
        delay = compute_backoff(attempts - 1, self.settings.retry_base_seconds, self.settings.retry_max_seconds)
        age_at_retry = now + delay - event.ingested
        if failure.retryable and not gives_up(attempts, target.max_attempts, age_at_retry, target.max_age):
            self.metrics.add("RetryInvocationAttempts", rule.arn, target.id)
            return _Outcome(replace(row, attempts=attempts), "retry", due=now + delay, error=failure)
        self.metrics.add("FailedInvocations", rule.arn, target.id)
        log.warning(
            "event %s to target %s of %s failed after %d attempt(s): %s",
            event.doc.get("id"),
            target.id,
            rule.arn,
            attempts,
            failure,
        )
        return _Outcome(row, "dead", error=failure, event=event, target=target, rule_creator=rule.creator)

    # -- acknowledging ------------------------------------------------------------------------

    def _flush(self) -> None:
        """Note the outcomes in one commit, with what goes with them: a rule's delivery to a deployed function is
        done in the commit that writes the asynchronous invocation it made (at least once, and not twice)."""
        outcomes, self._outcomes = self._outcomes, []
        if not outcomes:
            return
        with self.store.transaction():
            done = [outcome.row.id for outcome in outcomes if self._settle(outcome)]
            self.deliveries.done(done)
            accepted = [event for outcome in outcomes for event in outcome.accepted]
            for event in accepted:
                self.routing.enqueue(event)
        if accepted:
            for event in accepted:  # committed: kept, so that their claim need not read them back
                self._keep_written(event)
            self._claim_wanted = True
            self.routing.wake()

    def _keep_written(self, event: NewEvent) -> None:
        if len(event.body) > _WRITTEN_MOST_BYTES:
            return
        if len(self._written) >= _WRITTEN_KEPT:  # (claimed by another node of a shared store, say): oldest first
            self._written.pop(next(iter(self._written)))
        doc = orjson.loads(event.body)
        self._written[event.event_id] = _Event(event.body, doc, event.ingested, orjson.loads(event.lineage))

    def _settle(self, outcome: _Outcome) -> bool:
        """Write what goes with the outcome, note a retry, or dead-letter; whether the delivery is done."""
        row = outcome.row
        if outcome.writes is not None:
            try:
                outcome.writes()
            except self.store.failures:  # the store failed: so does the flush (the leases expire, tried again)
                raise
            except Exception:  # a bug in what was to be written must not fail the other outcomes' commit
                log.exception("what delivery %s was to write with its outcome failed", row.id)
        if outcome.kind == "retry":
            error = str(outcome.error) if outcome.error else None
            if not self.deliveries.retry(row.id, self.owner, outcome.due, row.attempts, error):
                log.warning("delivery %s was taken over (its lease expired) before its retry was noted", row.id)
            return False
        if outcome.kind == "dead":
            self._dead_letter(outcome)
        return True

    def _dead_letter(self, outcome: _Outcome) -> None:
        assert outcome.target is not None and outcome.event is not None and outcome.error is not None
        target, row, error = outcome.target, outcome.row, outcome.error
        self.metrics.add("DeadLetterInvocations", row.rule_arn, row.target_id)
        queue = target.dead_letter_arn
        if queue is None:
            self.metrics.add("DroppedEvents", row.rule_arn, row.target_id)
            log.warning("dropped event %s for %s: %s (no dead-letter queue)", row.event_id, target.arn, error)
            return
        if self.resources.get(queue) is None:
            self.metrics.add("InvocationsFailedToBeSentToDlq", row.rule_arn, row.target_id)
            log.error("dead-letter queue %s does not exist; event %s dropped", queue, row.event_id)
            return
        try:
            self.invoker.check(row.rule_arn, outcome.rule_creator, queue)
        except DeliveryFailure as denied:
            self.metrics.add("InvocationsFailedToBeSentToDlq", row.rule_arn, row.target_id)
            log.error("dead-letter queue %s refused event %s: %s", queue, row.event_id, denied.message)
            return
        attributes = {
            "RULE_ARN": row.rule_arn,
            "TARGET_ARN": target.arn,
            "ERROR_CODE": error.code,
            "ERROR_MESSAGE": error.message,
        }
        self.queues.send(
            queue,
            outcome.event.body.decode(),
            {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )
        self.metrics.add("InvocationsSentToDlq", row.rule_arn, row.target_id)


def _exclusive_lock(path: Path) -> TextIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise ConflictError(f"another dispatcher is running on {path.parent} (it holds {path.name})") from None
    return handle
