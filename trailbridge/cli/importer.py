"""`trailbridge trail import`: send CloudTrail log files to a running server, with progress and a summary.

The files come from one file, a folder tree (`AWSLogs/...` or any other layout; digest files are left out),
or `s3://bucket/prefix`. Each file is one request to the server's import endpoint, signed with the caller's
AWS credentials when there are any; the server imports it in one transaction and remembers it by its SHA-256,
so running the same import again (after an interruption) imports only what is missing. Under --auth the server
imports only the records of the caller's own account (unless the key is an organization's): the others are
reported as refused, by file and account.
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import orjson

IN_FLIGHT = 2  # files sent at once: reading and sending the next overlaps the server's work on one


@dataclass(frozen=True)
class LogFile:
    name: str  # as reported: a path or an s3:// URI
    read: Callable[[], bytes]


def _wanted(name: str) -> bool:
    """Log files, not digests (`.../CloudTrail-Digest/...`) nor the signature sidecars of a folder bucket."""
    return name.endswith((".json", ".json.gz")) and "CloudTrail-Digest" not in name and "s3meta" not in name


def find_files(location: str, s3_endpoint_url: str | None = None) -> list[LogFile]:
    """The log files at a path or an s3://bucket/prefix, in name order."""
    if location.startswith("s3://"):
        return _s3_files(location, s3_endpoint_url)
    path = Path(location)
    if path.is_file():
        return [LogFile(str(path), path.read_bytes)]
    if not path.is_dir():
        raise FileNotFoundError(f"{location} is neither a file, a folder nor s3://bucket/prefix")
    found = sorted(p for p in path.rglob("*") if p.is_file() and _wanted(str(p.relative_to(path))))
    return [LogFile(str(p), p.read_bytes) for p in found]


def _s3_files(location: str, endpoint_url: str | None) -> list[LogFile]:
    import boto3  # noqa: PLC0415 (only an s3:// import needs it)
    from botocore.exceptions import ClientError  # noqa: PLC0415

    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    client = boto3.client("s3", endpoint_url=endpoint_url)
    try:
        keys = [
            item["Key"]
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for item in page.get("Contents", [])
            if _wanted(item["Key"])
        ]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchBucket":
            raise
        where = f" --endpoint-url {endpoint_url}" if endpoint_url else ""
        raise FileNotFoundError(
            f"the bucket {bucket} does not exist (create one with `aws s3 mb s3://{bucket}{where}`, or name "
            f"the S3 endpoint that has it with --s3-endpoint-url)"
        ) from None

    def reader(key: str) -> Callable[[], bytes]:
        return lambda: bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())

    return [LogFile(f"s3://{bucket}/{key}", reader(key)) for key in sorted(keys)]


class Sender:
    """Posts files to the import endpoint, signed (SigV4) with the caller's credentials when there are any."""

    def __init__(self, endpoint_url: str, event_bus: str | None, region: str | None, *, again: bool = False) -> None:
        import botocore.session  # noqa: PLC0415

        session = botocore.session.get_session()
        self.credentials = session.get_credentials()
        self.region = region or session.get_config_variable("region") or "us-east-1"
        self.url = endpoint_url.rstrip("/") + "/_trailbridge/import"
        self.event_bus, self.again = event_bus, again

    def send(self, file: LogFile) -> dict[str, Any]:
        from botocore.auth import SigV4Auth  # noqa: PLC0415
        from botocore.awsrequest import AWSRequest  # noqa: PLC0415

        data = file.read()
        query = {"name": file.name} | ({"eventBus": self.event_bus} if self.event_bus else {})
        if self.again:
            query["again"] = "true"
        url = f"{self.url}?{urllib.parse.urlencode(query, quote_via=urllib.parse.quote)}"
        request = AWSRequest(method="POST", url=url, data=data, headers={"Content-Type": "application/octet-stream"})
        if self.credentials is not None:
            SigV4Auth(self.credentials, "cloudtrail", self.region).add_auth(request)
        prepared = urllib.request.Request(url, data=data, headers=dict(request.headers.items()), method="POST")
        try:
            with urllib.request.urlopen(prepared, timeout=600) as answer:
                result: dict[str, Any] = orjson.loads(answer.read())
                return result
        except urllib.error.HTTPError as exc:
            try:
                message = orjson.loads(exc.read()).get("message", exc.reason)
            except orjson.JSONDecodeError:
                message = exc.reason
            raise ImportFailed(f"{file.name}: the server refused the file: {message}") from None


class ImportFailed(Exception):
    """The server cannot be reached or refused a request: the import stops (and can be run again)."""


@dataclass
class Totals:
    files: int = 0
    done: int = 0
    duplicates: int = 0
    records: int = 0
    earlier: int = 0  # records left out: their account had imported the file itself
    sources: Counter[str] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def add(self, name: str, result: dict[str, Any]) -> None:
        self.done += 1
        self.duplicates += bool(result["duplicate"])
        self.records += result["records"]
        self.earlier += result.get("earlier", 0)
        self.sources.update(result["sources"])
        self.rules.update(result["rules"])
        if result["error"]:
            line = result["error"]["line"]
            where = f"{name}:{line}" if line else name
            self.problems.append(f"{where}: file skipped: {result['error']['message']}")
        self.problems.extend(f"{name}:{p['line']}: skipped {p['message']}" for p in result["skipped"])
        self.problems.extend(
            f"{name}: refused {count:,} records of account {account}: this key may import only its own account's"
            for account, count in sorted(result.get("refused", {}).items())
        )

    @property
    def rate(self) -> float:
        return self.records / max(time.monotonic() - self.started, 1e-9)


class Progress:
    """One status line on a terminal (rewritten in place), or a line every few seconds elsewhere."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.tty = out, out.isatty()
        self.last = 0.0

    def show(self, totals: Totals, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        text = f"files {totals.done}/{totals.files} · records {totals.records:,} · {totals.rate:,.0f} records/s"
        if self.tty:
            self.out.write("\r" + text + ("\n" if final else ""))
        else:
            self.out.write(text + "\n")
        self.out.flush()


def run_import(files: list[LogFile], sender: Sender, progress: Progress) -> Totals:
    totals = Totals(files=len(files))
    pending = iter(files)
    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        running: dict[Future[dict[str, Any]], LogFile] = {}

        def refill(queue: Iterator[LogFile]) -> None:
            while len(running) < IN_FLIGHT and (file := next(queue, None)) is not None:
                running[pool.submit(sender.send, file)] = file

        refill(pending)
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                file = running.pop(future)
                try:
                    totals.add(file.name, future.result())
                except (urllib.error.URLError, OSError) as exc:
                    for other in running:
                        other.cancel()
                    raise ImportFailed(f"{file.name}: cannot reach the server: {exc}") from None
            refill(pending)
            progress.show(totals)
    progress.show(totals, final=True)
    return totals


def report(totals: Totals, out: TextIO = sys.stdout) -> None:
    elapsed = time.monotonic() - totals.started
    new = totals.done - totals.duplicates
    out.write(
        f"Imported {totals.records:,} records from {new} files in {elapsed:.1f} s ({totals.rate:,.0f} records/s); "
        f"{totals.duplicates} files were imported before.\n"
    )
    if totals.earlier:
        out.write(f"{totals.earlier:,} records were left out: their accounts had imported those files themselves.\n")
    if totals.sources:
        out.write("\nRecords by event source:\n")
        out.writelines(f"  {count:>9,}  {source}\n" for source, count in totals.sources.most_common())
    out.write("\nRecords by rule matched:\n")
    if not totals.rules:
        out.write("  (no rule matched)\n")
    out.writelines(f"  {count:>9,}  {rule}\n" for rule, count in totals.rules.most_common())
    if totals.problems:
        out.write(f"\nSkipped ({len(totals.problems)}):\n")
        out.writelines(f"  {problem}\n" for problem in totals.problems)
