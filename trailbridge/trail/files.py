"""A trail's files together: log files, then the digests that list them."""

from __future__ import annotations

from typing import Any

from trailbridge.clock import Clock
from trailbridge.trail.digests import DigestWriter
from trailbridge.trail.logfiles import LogFileWriter


class TrailFiles:
    def __init__(self, log_files: LogFileWriter, digests: DigestWriter, clock: Clock) -> None:
        self.log_files, self.digests, self.clock = log_files, digests, clock

    def write_due(self, stopping: bool = False) -> None:
        """Write the log files and digests that are due (the recorder's thread calls this every second);
        `stopping` (the engine stops): write every trail's pending records now, so that none wait for the next
        start; digests keep their own schedule, and the next one lists these files. Each trail's failures are
        its own (logged once by the writers' `failures`): they stop no other trail."""
        try:
            self.log_files.deliver_due(everything=stopping)
        finally:  # whatever stopped the log files (the store), the digests are tried all the same
            self.digests.write_due()

    def finish(self, trail: dict[str, Any]) -> None:
        """A trail about to be deleted: write what it holds and, if it was logging, its final digest. What
        cannot be written (its bucket is gone, its key would leave it) is logged, and the trail is deleted all
        the same."""
        stopped = dict(trail)
        if stopped.get("IsLogging"):
            stopped.update(IsLogging=False, StopLoggingTime=self.clock.now())
        arn = str(trail.get("TrailARN"))
        try:
            self.log_files.deliver_all(stopped)
        except Exception as exc:  # a trail that cannot write can still be deleted
            self.log_files.failures.failed(arn, "final log files", exc)
        try:
            self.digests.write_for(stopped)
        except Exception as exc:
            self.digests.failures.failed(arn, "final digest", exc)
