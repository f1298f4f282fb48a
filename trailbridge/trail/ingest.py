"""Import of CloudTrail log files written elsewhere (by AWS's CloudTrail, or by another trailbridge).

A file is `{"Records": [...]}` or a JSON array of records, gzipped or not. Its records enter the pipeline
as live records do (the LookupEvents store, the log files of local trails that admit them), and each goes to
the default bus of its own account and region, as CloudTrail delivered it, or to one named bus. A file is
imported in one transaction, remembered by the SHA-256 of its content: importing it again does nothing, and an
interrupted import leaves no file half imported. Records that are not CloudTrail records are reported with
their line and skipped; a file that is not JSON, or not a log file, is reported and skipped whole.

An import may be limited to one account's records (the server's caller's, under --auth): the records of other
accounts are then refused and counted by account. A file of which some records were refused is remembered as
imported for that account only; an import of it for every account (an organization's key) later imports the
records of the accounts that have not imported it yet.
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import json
import re
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson

from trailbridge.storage.ports import Import, Imports, Store
from trailbridge.trail.forward import Forwarder, cloudtrail_event
from trailbridge.trail.record import check_record
from trailbridge.trail.recorder import Recorder

MAX_FILE_BYTES = 256 * 1024 * 1024  # a file (as sent, gzipped or not) larger than this is refused


class MalformedFile(Exception):
    """The whole file is unusable: not gzip, not JSON, or not a CloudTrail log file."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line = message, line


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based line of the file (decompressed) where the record starts
    message: str


@dataclass
class FileResult:
    """What importing one file did."""

    duplicate: bool = False  # imported before: nothing done
    records: int = 0  # records imported
    skipped: list[Problem] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)  # account -> records not imported: not the caller's
    earlier: int = 0  # records left out: their account imported this file before
    sources: Counter[str] = field(default_factory=Counter)  # eventSource -> records
    rules: Counter[str] = field(default_factory=Counter)  # rule ARN -> records it matched
    error: MalformedFile | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "duplicate": self.duplicate,
            "records": self.records,
            "skipped": [{"line": p.line, "message": p.message} for p in self.skipped],
            "refused": dict(self.refused),
            "earlier": self.earlier,
            "sources": dict(self.sources),
            "rules": dict(self.rules),
            "error": None if self.error is None else {"line": self.error.line, "message": self.error.message},
        }


def inflate(data: bytes) -> bytes:
    """A log file's text: gunzipped when it is gzip, else as it is."""
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise MalformedFile(f"not a valid gzip file ({exc})") from None


def read_log_file(data: bytes) -> list[Any]:
    """The records of a log file's text, unchecked."""
    try:
        with _no_collection():
            document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedFile(f"not valid JSON: {exc.msg}", exc.lineno) from None
    if isinstance(document, dict) and isinstance(document.get("Records"), list):
        return list(document["Records"])
    if isinstance(document, list):
        return document
    raise MalformedFile('not a CloudTrail log file: expected {"Records": [...]} or a JSON array of records', 1)


class _CollectorPause:
    """Pauses the cyclic garbage collector while log files are parsed and imported: a file holds hundreds of
    thousands of new objects, none of them in a cycle (refcounting frees them when the file is done), and
    collections triggered meanwhile walk them again and again (measured: a 7 MB file parsed in 34 ms with the
    collector paused, up to 92 ms without; collections during the import of a file cost about 8% of the
    import's throughput). Threads share one pause; the last one to finish ends it. While pauses overlap
    without end (a long import keeps several files in flight), whichever finishes after `longest` seconds
    collects the young generations, the only ones a pause lets grow, so cycles made meanwhile (by requests
    served beside the import) are freed all the same."""

    def __init__(self, longest: float = 10.0) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._paused = False
        self._longest, self._since = longest, 0.0

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._active == 0:
                self._paused = gc.isenabled()
                self._since = time.monotonic()
                gc.disable()
            self._active += 1
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1
                if self._active == 0:
                    if self._paused:
                        gc.enable()
                elif time.monotonic() - self._since >= self._longest:
                    self._since = time.monotonic()
                    gc.collect(1)


_no_collection = _CollectorPause()


def record_lines(text: bytes, count: int) -> list[int]:
    """The line on which each of the file's `count` records starts (only asked for when some are bad)."""
    decoded = text.decode("utf-8", errors="replace")
    decoder = json.JSONDecoder()
    records_key = re.search(r'"Records"\s*:\s*\[', decoded) if decoded.lstrip().startswith("{") else None
    pos = records_key.end() if records_key else decoded.index("[") + 1
    lines, line, scanned = [], 1, 0
    for _ in range(count):
        while decoded[pos] in " \t\r\n,":
            pos += 1
        line += decoded.count("\n", scanned, pos)
        scanned = pos
        lines.append(line)
        _, pos = decoder.raw_decode(decoded, pos)
    return lines


def _partial_key(key: str, account: str) -> str:
    """How a file of which only `account`'s records were imported is remembered."""
    return f"{key}:{account}"


class Importer:
    def __init__(self, store: Store, imports: Imports, recorder: Recorder, forwarder: Forwarder) -> None:
        self.store, self.imports, self.recorder, self.forwarder = store, imports, recorder, forwarder

    def import_file(
        self, name: str, data: bytes, bus: str | None = None, account: str | None = None, *, again: bool = False
    ) -> FileResult:
        """Import one file, gzipped or not; `bus` is the ARN of the bus every record goes to, by default the
        default bus of the record's account and region; `account`, when given, the only account whose records
        are imported (the others are counted in `refused`). The file is remembered by the SHA-256 of its
        uncompressed content (a copy compressed again, or the same file unzipped, is the same file), and by
        that and the account when records of other accounts were refused. A file remembered is not imported
        again, unless `again` says to (into another bus, say): its records are then recorded and routed once
        more."""
        with _no_collection():
            return self._import(name, data, bus, account, again)

    def _import(self, name: str, data: bytes, bus: str | None, account: str | None, again: bool) -> FileResult:
        result = FileResult()
        try:
            text = inflate(data)
        except MalformedFile as exc:
            result.error = exc
            return result
        key = hashlib.sha256(text).hexdigest()
        if not again and self._imported(key, account):
            result.duplicate = True
            return result
        try:
            raw = read_log_file(text)
        except MalformedFile as exc:
            result.error = exc
            return result
        try:  # once for the file: records JSON cannot write back (nested too deep) are then looked for one by one
            orjson.dumps(raw)
            encodable = True
        except TypeError:
            encodable = False
        good: list[tuple[float, dict[str, Any]]] = []
        bad: list[tuple[int, str]] = []
        for index, item in enumerate(raw):
            try:
                checked = check_record(item, encodable, strict=False)
            except ValueError as exc:
                bad.append((index, str(exc)))
                continue
            owner = checked[1]["recipientAccountId"]
            if account is None or owner == account:
                good.append(checked)
            else:
                result.refused[owner] += 1
        if bad:
            try:
                lines = record_lines(text, len(raw))
            except (ValueError, IndexError):  # a layout the line finder does not follow: the records' numbers say it
                lines = [1] * len(raw)
            result.skipped = [Problem(lines[index], f"record {index + 1}: {message}") for index, message in bad]
        remember = _partial_key(key, account) if account is not None and result.refused else key
        made = self._pipeline(key, remember, name, good, bus, account, result, again)
        if made:
            self.forwarder.router.wake()
        return result

    def _imported(self, key: str, account: str | None) -> bool:
        """Whether the file was imported before: whole, or (for an import limited to `account`) for it."""
        keys = [key] if account is None else [key, _partial_key(key, account)]
        return bool(self.imports.known(keys))

    def _imported_by(self, key: str, good: list[tuple[float, dict[str, Any]]]) -> set[str]:
        """The accounts of these records that imported the file for themselves before."""
        partial = {_partial_key(key, record["recipientAccountId"]): record["recipientAccountId"] for _, record in good}
        return {partial[found] for found in self.imports.known(partial)}

    def _pipeline(
        self,
        key: str,
        remember: str,
        name: str,
        good: list[tuple[float, dict[str, Any]]],
        bus: str | None,
        account: str | None,
        result: FileResult,
        again: bool,
    ) -> int:
        """Import the good records in one transaction, and remember the file (`key`) under `remember`: its key,
        or its key and the account when records of other accounts were refused (`again`: whether or not it
        was remembered before)."""
        forwarder, router, made = self.forwarder, self.forwarder.router, 0
        # Everything that needs no lock is made first: the store's lock is then held only for routing and writing.
        prepared = self.recorder.prepare(good)
        events = [(record, cloudtrail_event(record, self.forwarder.new_id())) for _, record in good]
        now = forwarder.clock.now()
        with self.store.transaction():
            earlier = self._imported_by(key, good) if account is None and not again else set()
            if earlier:  # an import for every account leaves out the records of accounts that imported the file
                kept = [item for item in good if item[1]["recipientAccountId"] not in earlier]
                result.earlier, good = len(good) - len(kept), kept
                events = [item for item in events if item[0]["recipientAccountId"] not in earlier]
                prepared = self.recorder.prepare(good)
            # Remembered first, so that of concurrent imports of the file (on any node) one writes its records.
            if again:
                self.imports.add(Import(remember, name, len(good), now))  # False when it is known already
            elif self._imported(key, account) or not self.imports.add(Import(remember, name, len(good), now)):
                result.duplicate, result.skipped, result.refused, result.earlier = True, [], Counter(), 0
                return 0
            router.refresh()
            trails = forwarder.logging_trails()
            default_buses: dict[tuple[str, str], str] = {}
            for record, event in events:
                if trails:
                    forwarder.to_trails(record, trails)
                target = bus
                if target is None:
                    where = (record["recipientAccountId"], record["awsRegion"])
                    target = default_buses.get(where) or default_buses.setdefault(where, forwarder.default_bus(record))
                made += router.record(target, event, now, {}, result.rules)
            self.recorder.write(prepared)
        result.sources.update(record["eventSource"] for _, record in good)
        result.records = len(good)
        return made
