"""A process for the crash test: `produce DIR` puts events and delivers them until it is killed;
`drain DIR` restarts on the same data and delivers what is left, then exits.

Every event accepted is appended to DIR/accepted.log after put_events returns; every delivery appends
the event id to DIR/delivered.log (flushed and fsynced before the function returns).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from trailbridge.runtime import Trailbridge
from trailbridge.settings import Settings

SETTINGS = Settings(retry_base_seconds=0.01, retry_max_seconds=0.05)
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:record"


def _append(path: Path, lines: list[str]) -> None:
    with path.open("a") as handle:
        handle.write("".join(f"{line}\n" for line in lines))
        handle.flush()
        os.fsync(handle.fileno())


def main(mode: str, directory: Path) -> None:
    delivered = directory / "delivered.log"
    tb = Trailbridge(directory / "data", SETTINGS)
    tb.functions.register("record", lambda event: (_append(delivered, [event["id"]]), time.sleep(0.001)))
    tb.start()
    events = tb.events()
    if mode == "produce":
        events.put_rule(Name="all", EventPattern='{"source": ["crash.test"]}')
        events.put_targets(Rule="all", Targets=[{"Id": "record", "Arn": FUNCTION}])
        print("ready", flush=True)
        entry = {"Source": "crash.test", "DetailType": "tick", "Detail": "{}"}
        while True:
            answer = events.put_events(Entries=[entry] * 10)
            _append(directory / "accepted.log", [e["EventId"] for e in answer["Entries"]])
    while tb.pending_deliveries():
        time.sleep(0.02)
    tb.close()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
