"""The storage ports: what the engine asks of a store, one `Protocol` per aggregate, rows as dataclasses.

Each backend (`memory`, `sqlite`, `postgres`) implements every port; its adapter modules are the only callers
of its queries, and the engine modules take ports, never a backend class. `tests/contract/` runs the same
tests over every backend. `STORAGE.md` describes the ports, the lease life cycle and what each backend
guarantees.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, TypeVar

T = TypeVar("T")


class Transactional(Protocol):
    def transaction(self) -> AbstractContextManager[None]:
        """One write transaction over every port of the store; nested uses join the outer one."""
        ...


class Store(Transactional, Protocol):
    """What the engine asks of a backend as a whole, beside its ports."""

    def combined(self, work: Callable[[], T]) -> T:
        """Run `work` in a write transaction, perhaps together with other threads' work in one commit (group
        commit); durable when it returns. An exception in `work` is raised to its caller only."""
        ...

    def locked(self) -> AbstractContextManager[Any]:
        """The process's lock that every write transaction of this store holds: what is read under it does
        not change in this process until it is released."""
        ...

    @property
    def failures(self) -> tuple[type[BaseException], ...]:
        """The exceptions that mean the store itself failed (unreachable, locked, full), not what was written:
        a writer keeps what it was writing and tries again."""
        ...

    @property
    def shared(self) -> bool:
        """Whether other processes may use this store at the same time (several nodes on one database)."""
        ...

    def announce(self, topic: str) -> None:
        """Tell the other processes on this store that `topic` has news (a message sent to a queue, ...);
        inside a transaction, when it commits. This process's own listeners are not called: what happens in
        a process wakes its waiters directly."""
        ...

    def on_announce(self, topic: str, listener: Callable[[], None]) -> None:
        """Call `listener` (on a thread of the store's, quickly: it should only wake someone) each time another
        process announces `topic`."""
        ...

    def close(self) -> None: ...


class Scope(NamedTuple):
    """Where a resource's name is unique: its kind, account, region and parent (a rule's bus, else "")."""

    kind: str
    account: str
    region: str
    parent: str = ""


class Resources(Protocol):
    """Resources of every kind (buses, rules, connections, API destinations, queues, log groups, trails,
    channels) as AWS-shaped JSON documents, addressed by ARN or by scope and name. A configuration version
    counts the changes routing and trails depend on, so a process that caches them notices other writers."""

    def get(self, arn: str) -> dict[str, Any] | None: ...

    def by_name(self, scope: Scope, name: str) -> dict[str, Any] | None: ...

    def scope_of(self, arn: str) -> tuple[Scope, str] | None:
        """The scope and name a resource was put under."""
        ...

    def put(self, scope: Scope, name: str, arn: str, doc: dict[str, Any], *, config: bool = True) -> None:
        """Write a document (replacing the one at `arn`); `config=False` for a change routing and trails do
        not depend on (a channel's ingestion status), which leaves the configuration version as it is."""
        ...

    def delete(self, arn: str) -> None:
        """Remove the document at `arn`, if any."""
        ...

    def scan(self, scope: Scope, prefix: str = "", after: str = "") -> Iterator[dict[str, Any]]:
        """Documents in name order, names starting with `prefix` and not before `after`."""
        ...

    def count(self, scope: Scope) -> int: ...

    def all_of_kind(self, kind: str) -> list[dict[str, Any]]:
        """Every document of `kind`, in every account and region."""
        ...

    def version(self, *, lock: bool = False) -> int:
        """The configuration version: it grows with every `put` (unless `config=False`) and `delete`. With
        `lock` (inside a transaction), no other process changes the configuration until the transaction ends,
        so what is read after it stays in step with the version."""
        ...


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A delivery to make: one (event, rule, target), due at `due`."""

    rule_arn: str
    target_id: str
    target_arn: str
    due: float


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An accepted event to store with its deliveries (an event without any is not stored)."""

    event_id: str
    body: bytes  # the event's JSON
    ingested: float
    lineage: str  # JSON: how many times the event's chain has passed each rule
    deliveries: Sequence[NewDelivery]


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

    def add(self, events: Sequence[NewEvent]) -> None:
        """Store events with their deliveries, in one transaction (those without a delivery are not stored)."""
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

    def done(self, delivery_ids: Collection[int]) -> None:
        """Remove deliveries (delivered, dead-lettered or dropped), and each event once it has no other."""
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


@dataclass(frozen=True, slots=True)
class ReceiveRules:
    """What a queue's attributes say about receiving from it."""

    visibility_timeout: float
    retention_seconds: float
    dead_letter_arn: str | None = None
    max_receive_count: int = 0  # 0: no redrive
    # a FIFO queue: each message group's messages are received in the order they were sent, and none of a
    # group while one of it is in flight
    fifo: bool = False


@dataclass(frozen=True, slots=True)
class Deduplication:
    """A send to a FIFO queue: its deduplication id within a scope ("" the whole queue, or one message
    group's id), and when the deduplication interval it would open ends."""

    dedup_id: str
    scope: str
    until: float


@dataclass(frozen=True, slots=True)
class Sent:
    """What a send did: the message's id (the original's, for a duplicate) and, on a FIFO queue, its sequence
    number (increasing per queue)."""

    message_id: str
    sequence: int | None = None
    duplicate: bool = False  # the send was a duplicate within the interval: nothing was enqueued


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message `Messages.send_many` enqueues: one that is not deduplicated (a standard queue's), in its
    group when it has one (a fair queue's tenant)."""

    queue_arn: str
    message_id: str
    body: str
    attributes: bytes  # the message attributes, as JSON
    sent: float
    visible_at: float
    group_id: str | None = None


@dataclass(frozen=True, slots=True)
class Received:
    """A message as one receive gave it: hidden until its visibility timeout ends, `receipt` its new handle."""

    message_id: str
    receipt: str
    body: str
    attributes: bytes  # the message attributes, as JSON
    sent: float
    receive_count: int  # this receive included
    first_received: float
    group_id: str | None = None
    dedup_id: str | None = None  # FIFO queues
    sequence: int | None = None  # FIFO queues


class Messages(Protocol):
    """The built-in queues' messages (queues themselves are resources). A message is visible from the end of
    its delay; a receive hides it for the visibility timeout and gives it a receipt handle, the only one that
    deletes it or changes its visibility; not deleted in time, it is visible again."""

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
        """Enqueue a message (in its message group, if it has one). With `dedup` (a FIFO queue), in one
        transaction: a message sent before under the same scope and deduplication id whose interval has not
        ended by `sent` makes this send a duplicate (nothing enqueued; the original's id and sequence number
        answered); otherwise the message takes the queue's next sequence number and opens an interval until
        `dedup.until`. Concurrent sends to one FIFO queue take turns."""
        ...

    def send_many(self, messages: Sequence[NewMessage]) -> None:
        """Enqueue each message as `send` without `dedup` does, in their order, in one transaction (as few
        statements as the backend can: a batch of SNS deliveries is one write, not one per message)."""
        ...

    def receive(self, queue_arn: str, now: float, limit: int, rules: ReceiveRules) -> list[Received]:
        """In one transaction: drop the queue's messages sent before `now - retention_seconds`; move to
        `dead_letter_arn` those visible that were received `max_receive_count` times already (never received
        there, their sent time kept, as AWS counts retention from the first enqueue); then receive up to
        `limit` visible messages, oldest first. Two receivers never get one message at the same time. With
        `rules.fifo`, a message group none of whose messages is in flight gives its visible messages in the
        order they were sent, up to the first that is not visible; a group with a message in flight gives
        none."""
        ...

    def delete(self, queue_arn: str, receipt: str) -> bool:
        """Delete the message whose latest receipt handle is `receipt`; False if there is none."""
        ...

    def change_visibility(self, queue_arn: str, receipt: str, now: float, visible_at: float) -> bool:
        """Make the message in flight with handle `receipt` visible at `visible_at`; False if the handle names
        no message in flight."""
        ...

    def purge(self, queue_arn: str) -> None: ...

    def counts(self, queue_arn: str, now: float) -> tuple[int, int, int]:
        """(visible, in flight: received and hidden, delayed: never received and hidden) messages."""
        ...


@dataclass(frozen=True, slots=True)
class LogEvent:
    stream: str
    timestamp: int  # ms
    message: str
    ingested: int  # ms


class Logs(Protocol):
    """The log groups' events (log groups themselves are resources), in the order they were put."""

    def put(self, group_arn: str, event: LogEvent) -> None: ...

    def read(self, group_arn: str, limit: int) -> list[LogEvent]:
        """The group's first `limit` events, in the order they were put."""
        ...

    def purge(self, group_arn: str) -> None: ...


@dataclass(frozen=True, slots=True)
class TrailRegion:
    """Where a trail writes a series of log files and digests: the trail, and one region it logs in."""

    trail_arn: str
    region: str


@dataclass(frozen=True, slots=True)
class NewPending:
    """A record a trail admitted, to wait for the trail's next log file in the record's region."""

    trail_arn: str
    region: str
    time: float  # when it was admitted
    record: bytes  # the record's JSON


@dataclass(frozen=True, slots=True)
class Pending:
    seq: int
    time: float
    record: bytes


@dataclass(frozen=True, slots=True)
class LogFile:
    """A log file written: where, the SHA-256 of its uncompressed content, its records' event times, and when."""

    bucket: str
    key: str
    sha256: str
    oldest: float
    newest: float
    delivered: float


@dataclass(frozen=True, slots=True)
class Digest:
    """A digest file written: where, the end of the window it covers, its SHA-256 and its signature (hex)."""

    bucket: str
    key: str
    end: float
    sha256: str
    signature: str


class Trails(Protocol):
    """The trails' file state, per trail and region: the records waiting for the next log file, the log files
    written, and the chain of digests that list them. One writer at a time writes a (trail, region)'s files:
    it `claim`s it first."""

    def add(self, pending: Sequence[NewPending]) -> None: ...

    def groups(self) -> list[TrailRegion]:
        """The (trail, region)s that have records waiting."""
        ...

    def claim(self, trail_arn: str, region: str) -> AbstractContextManager[bool]:
        """Hold the (trail, region) until the block ends, if no one else (another thread or process) holds it:
        whether this claim holds it. A holder that dies lets it go; what it did not store is not stored, so the
        next holder reads the last digest it stored."""
        ...

    def pending(self, trail_arn: str, region: str) -> list[Pending]:
        """The records waiting, oldest first."""
        ...

    def delivered(self, trail_arn: str, region: str, seqs: Collection[int], file: LogFile | None) -> None:
        """Note a log file written (None: none, the trail is gone) and remove the waiting records `seqs`, which
        it holds, in one transaction."""
        ...

    def last_delivery(self, trail_arn: str, region: str | None = None) -> float | None:
        """When the trail last wrote a log file (in `region`, or in any)."""
        ...

    def files_between(self, trail_arn: str, region: str, start: float, end: float) -> list[LogFile]:
        """The log files written after `start`, up to `end`, in the order they were written."""
        ...

    def regions(self, trail_arn: str) -> set[str]:
        """The regions the trail wrote log files in."""
        ...

    def last_digest(self, trail_arn: str, region: str) -> Digest | None: ...

    def add_digest(self, trail_arn: str, region: str, digest: Digest) -> None: ...


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A region's digest signing key: the private key sealed, the public key as DER (PKCS#1)."""

    fingerprint: str
    region: str
    sealed: str
    public_der: bytes
    valid_from: float
    valid_to: float


class Keys(Protocol):
    """The signing keys, per region; the newest is the region's current key. Trail digests use real region
    names; SNS keeps its message signing keys under `sns:REGION` (`topics.signing`)."""

    def current(self, region: str) -> SigningKey | None:
        """The region's newest key, valid or not."""
        ...

    def add_if_absent(self, key: SigningKey, now: float) -> SigningKey:
        """Store `key` unless its region has a key valid at `now`; the region's current key either way. Of
        writers adding keys at once, one stores its key and every one gets that key."""
        ...

    def between(self, region: str, start: float, end: float) -> list[SigningKey]:
        """The region's keys valid at some time in [start, end], oldest first."""
        ...

    def by_fingerprint(self, fingerprint: str) -> SigningKey | None:
        """The key with that fingerprint, whatever its region and validity: what a reader that knows only the
        fingerprint (a GET of an SNS signing certificate's URL) asks for, expired keys included."""
        ...


@dataclass(frozen=True, slots=True)
class ToForward:
    """A record waiting to be put on its region's default bus."""

    seq: int
    record: bytes


class Forwarding(Protocol):
    """The records on their way to their region's default bus (CloudTrail -> EventBridge)."""

    def add(self, records: Sequence[bytes]) -> None: ...

    def next(self, limit: int) -> list[ToForward]:
        """Up to `limit` records, oldest first."""
        ...

    def take(self, seq: int) -> bool:
        """Remove a record to put it on its bus (inside the transaction that writes what it makes); False when
        another has taken it, or is taking it: it must not be put again."""
        ...


@dataclass(frozen=True, slots=True)
class Import:
    """A log file imported, remembered by `key` (the SHA-256 of its content, perhaps with an account)."""

    key: str
    name: str
    records: int
    imported: float


class Imports(Protocol):
    """The ledger of imported log files: a file is imported once."""

    def known(self, keys: Collection[str]) -> set[str]:
        """Which of `keys` the ledger has."""
        ...

    def add(self, entry: Import) -> bool:
        """Remember an import; False (nothing changed) when its key is there already, or another transaction is
        adding it and then commits."""
        ...


@dataclass(frozen=True, slots=True)
class NewRecord:
    """A CloudTrail record to keep for LookupEvents, with what it is found by."""

    account: str
    region: str
    time: float  # the event's time
    event_id: str
    read_only: bool
    record: bytes  # the record's JSON
    attributes: tuple[tuple[str, str], ...]  # (AttributeKey, value) of EventName, EventSource, Username, ...


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as LookupEvents finds it: its number, its time and its JSON."""

    seq: int
    time: float
    record: bytes


class Records(Protocol):
    """The CloudTrail records LookupEvents finds, per account and region, newest first, by one lookup attribute
    at most. A write numbers each record (`seq`) with a number no other record of the store has, however many
    processes write (records of one time are paged in the order of their numbers); the numbers of one write
    grow in the order of its records."""

    def prepare(self, records: Sequence[NewRecord]) -> Callable[[], None]:
        """The write of `records`, its work that needs no transaction done now: call it inside the transaction
        that keeps them (or alone), so that the store's lock is held for less time."""
        ...

    def page(
        self,
        account: str,
        region: str,
        start: float,
        end: float,
        before: tuple[float, int],
        limit: int,
        by: tuple[str, str] | None = None,
    ) -> list[StoredRecord]:
        """Up to `limit` records of the account and region from `start` to `end` (both included), newest first
        (by time, then number), older than the cursor `before` (time, seq); `by` is one lookup attribute (its
        key and value): EventId, ReadOnly ("true" or "false") or one of a record's `attributes`."""
        ...

    def prune(self, before: float) -> None:
        """Drop the records older than `before`, and what indexes them."""
        ...


@dataclass(frozen=True, slots=True)
class Bucket:
    """An S3 bucket: its name is unique in the store, whatever the account."""

    name: str
    account: str  # the owner
    region: str
    created: float
    # The bucket's configuration as S3 returns it, one document per kind ("policy", "acl", "publicAccessBlock",
    # "tagging", "versioning", "encryption", ...); a kind absent is one never set (or deleted).
    config: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An object's metadata; its bytes are read with `Objects.read`."""

    bucket: str
    key: str
    size: int
    etag: str  # as S3 writes it, without the quotes: the MD5 in hex, or `<md5 of the parts' MD5s>-<parts>`
    modified: float
    # What is returned with the object: ContentType, ContentEncoding, CacheControl, ContentDisposition,
    # ContentLanguage, Expires, Metadata (the user's x-amz-meta-* pairs), ServerSideEncryption, ...
    headers: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Upload:
    """A multipart upload in progress."""

    upload_id: str
    bucket: str
    key: str
    started: float
    headers: dict[str, Any]  # the object's headers, given when the upload starts


@dataclass(frozen=True, slots=True)
class Part:
    number: int  # 1-10,000
    size: int
    etag: str  # the part's MD5 in hex, without the quotes
    modified: float


class Objects(Protocol):
    """S3's buckets, objects and multipart uploads. Keys are ordered as S3 orders them, by their UTF-8 bytes.
    Every write is whole or not at all: a reader sees an object's old bytes and headers or its new ones. The
    bytes are in the store (the SQL backends keep them in chunks, `storage/chunks.py`), so every node on one
    database serves the same buckets. Writing into a bucket or an upload that does not exist raises
    `NotFoundError` (the caller, who answers NoSuchBucket or NoSuchUpload, usually looks first)."""

    def create_bucket(self, bucket: Bucket) -> bool:
        """Add a bucket; False (nothing changed) when the name is taken, by any account."""
        ...

    def bucket(self, name: str) -> Bucket | None: ...

    def buckets(self, account: str) -> list[Bucket]:
        """The account's buckets, by name."""
        ...

    def configure(self, name: str, kind: str, document: Any | None) -> None:
        """Set one kind of the bucket's configuration (`document` None deletes it)."""
        ...

    def delete_bucket(self, name: str) -> bool:
        """Drop an empty bucket (with no object and no upload); False (nothing changed) when it is not empty.
        True for a bucket that does not exist: none is left."""
        ...

    def put(self, item: StoredObject, data: bytes) -> None:
        """Write an object, replacing the one of its key."""
        ...

    def head(self, bucket: str, key: str) -> StoredObject | None: ...

    def read(self, bucket: str, key: str, start: int = 0, end: int | None = None) -> bytes | None:
        """The object's bytes from `start` up to `end` (excluded; None: to the end); None when there is none."""
        ...

    def copy(self, bucket: str, key: str, target: StoredObject) -> bool:
        """Write `target` with the bytes of the object `key` of `bucket` (shared, not copied, where the store
        can); False when that object is gone. `target` may be that object itself (new headers)."""
        ...

    def delete(self, bucket: str, keys: Collection[str]) -> None:
        """Drop the objects of `keys` that exist."""
        ...

    def scan(self, bucket: str, prefix: str, after: str, limit: int) -> list[StoredObject]:
        """Up to `limit` objects whose keys start with `prefix` and come after `after`, in key order."""
        ...

    def start_upload(self, upload: Upload) -> None: ...

    def upload(self, upload_id: str) -> Upload | None: ...

    def uploads(self, bucket: str, prefix: str, after: tuple[str, str], limit: int) -> list[Upload]:
        """Up to `limit` uploads of the bucket whose keys start with `prefix`, after (key, upload id) `after`,
        by key and then upload id."""
        ...

    def put_part(self, upload_id: str, part: Part, data: bytes) -> None:
        """Write one part of an upload, replacing the part of its number."""
        ...

    def parts(self, upload_id: str) -> list[Part]:
        """The upload's parts, by number."""
        ...

    def complete(self, upload_id: str, numbers: Sequence[int], target: StoredObject) -> None:
        """Write `target` with the bytes of the parts `numbers`, in that order, and drop the upload (with the
        parts not named). NotFoundError, and nothing changed, when the upload or one of the parts is missing."""
        ...

    def abort(self, upload_id: str) -> None:
        """Drop the upload and its parts."""
        ...


@dataclass(frozen=True, slots=True)
class StoredExecution:
    """A Step Functions execution: where it is (`snapshot`, the engine's JSON), what it started from (the
    state machine and the revision of its definition), and when it is next to be stepped (`wake_at`: None
    while it waits for a task's answer, or once it has finished)."""

    arn: str
    machine_arn: str
    revision: str  # the definition it runs, kept by `Executions.put_revision`
    account: str
    region: str
    name: str
    status: str  # RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    input: str
    started: float
    snapshot: str  # the engine's JSON
    wake_at: float | None
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    stopped: float | None = None
    parent: str | None = None  # the token of the `.sync` task (of another execution) that waits for it to end


@dataclass(frozen=True, slots=True)
class ExecutionRequest:
    """A caller's request to an execution, kept (committed, acknowledged) until the holder of the execution's
    lease applies it: a task's answer (`kind` "answer", `body` its outcome as JSON), a task's heartbeat
    ("heartbeat"), or a stop ("stop", `body` its error and cause as JSON). At most one pending request holds a
    `once` key (a task's token for its answer, the execution's ARN for its stop). `seq`: given by the store,
    increasing in the order requests are made."""

    arn: str
    kind: str
    at: float
    token: str | None = None
    body: str | None = None
    once: str | None = None
    seq: int = 0


@dataclass(frozen=True, slots=True)
class ExecutionChange:
    """What one step did to an execution, committed with its history events (`(id, JSON)`, ids increasing) and
    the task tokens it began to wait on. A change that leaves the execution not RUNNING drops its tokens.
    `release` gives up the lease with it. `held`: a step of an execution its holder steps again at once, which
    changes only the snapshot and adds events: the rest stays as stored (its status, wake-up instant, lease
    and tokens), so the backend writes less. `applied`: the `seq` of each request (`ExecutionRequest`) the change
    applied, deleted with it (a change not applied leaves them pending)."""

    arn: str
    status: str
    snapshot: str
    wake_at: float | None
    events: Sequence[tuple[int, str]] = ()
    tokens: Sequence[str] = ()
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    stopped: float | None = None
    release: bool = False
    held: bool = False
    applied: Sequence[int] = ()


class Executions(Protocol):
    """Step Functions executions, their history, their task tokens and the definitions they run. One node at a
    time steps an execution: it holds the execution's lease (an owner and an expiry), taken by `claim_due` or
    `lease` and given up by a change with `release` (or by its expiry, when its owner died)."""

    def put_revision(self, revision: str, definition: str) -> None:
        """Keep a definition under its revision id (once: a revision never changes)."""
        ...

    def revision(self, revision: str) -> str | None: ...

    def add(self, execution: StoredExecution, events: Sequence[tuple[int, str]] = ()) -> bool:
        """Store a new execution with its first events, not leased; False (nothing stored) if its ARN is taken."""
        ...

    def get(self, arn: str) -> StoredExecution | None: ...

    def listing(
        self, machine_arn: str, status: str | None, after: tuple[float, str] | None, limit: int
    ) -> list[StoredExecution]:
        """Up to `limit` executions of the machine (of `status` only, if given), newest first (by start time,
        then ARN descending), those after the (started, arn) `after`."""
        ...

    def history(self, arn: str, after: int, limit: int, reverse: bool = False) -> list[tuple[int, str]]:
        """Up to `limit` events of the execution as (id, JSON): ids above `after` in increasing order, or with
        `reverse` ids below `after` (0: from the last) in decreasing order."""
        ...

    def claim_due(self, owner: str, now: float, until: float, limit: int) -> list[StoredExecution]:
        """Lease to `owner` until `until` up to `limit` RUNNING executions whose `wake_at` is at or before `now`,
        earliest first, that nobody holds (or whose lease expired)."""
        ...

    def lease(self, arn: str, owner: str, now: float, until: float) -> StoredExecution | None:
        """Lease one execution to `owner` until `until`, whatever its state, unless another holds it (its lease
        not expired at `now`): then None, as when there is none."""
        ...

    def save(self, owner: str, changes: Sequence[ExecutionChange]) -> list[str]:
        """Apply changes (with their events and tokens, deleting the requests they applied) in one transaction;
        the ARNs of those not applied because `owner` does not hold their execution's lease. A change that ends
        an execution drops its pending requests; one that releases a RUNNING execution with requests still
        pending (made while the lease was held) makes it due at the earliest of them."""
        ...

    def lock(self, arn: str) -> StoredExecution | None:
        """Inside a transaction: the execution as last committed, kept from other writers (a save, another
        request) until the transaction ends (None: there is none)."""
        ...

    def ask(self, request: ExecutionRequest, now: float) -> ExecutionRequest:
        """Inside a transaction: add a pending request, unless one holding its `once` key is pending (then that one
        is answered and nothing is added); the request kept, with its `seq`. An added request makes its RUNNING
        execution due at `now`, unless a live lease holds it (its holder's save does then)."""
        ...

    def requests(self, arns: Collection[str]) -> list[ExecutionRequest]:
        """The pending requests of these executions, in the order they were made."""
        ...

    def children(self, tokens: Collection[str]) -> list[str]:
        """The ARNs of the RUNNING executions whose `parent` is one of these task tokens."""
        ...

    def token(self, token: str) -> str | None:
        """The ARN of the running execution that waits on a task token."""
        ...

    def next_wake(self) -> float | None:
        """The earliest `wake_at` of a RUNNING execution nobody holds (None: there is none)."""
        ...

    def release(self, owner: str | None = None) -> int:
        """Release `owner`'s leases (every lease when None: at start-up of a store no other process shares)."""
        ...
