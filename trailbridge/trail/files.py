"""A trail's files together: log files, then the digests that list them."""

from __future__ import annotations

from typing import Any

from trailbridge.clock import Clock
from trailbridge.trail.digests import DigestWriter
from trailbridge.trail.logfiles import LogFileWriter


class TrailFiles:
    def __init__(self, log_files: LogFileWriter, digests: DigestWriter, clock: Clock) -> None:
        self.log_files, self.digests, self.clock = log_files, digests, clock

    def write_due(self) -> None:
        """Write the log files and digests that are due (the recorder's thread calls this every second)."""
        self.log_files.deliver_due()
        self.digests.write_due()

    def finish(self, trail: dict[str, Any]) -> None:
        """A trail about to be deleted: write what it holds and, if it was logging, its final digest."""
        stopped = dict(trail)
        if stopped.get("IsLogging"):
            stopped.update(IsLogging=False, StopLoggingTime=self.clock.now())
        self.log_files.deliver_all(stopped)
        self.digests.write_for(stopped)
