"""Record durability under SIGKILL: `python3 bench/kill_trials.py [TRIALS]` (from the repository root).

Each trial sends PutRule calls from 8 clients to `trailbridge serve`, kills it with SIGKILL after a random
0.3-2.0 s, restarts it on the same data and looks every answered call's record up by its request ID, and every kept
rule's call up by the rule's Description (one per call). The target (issue 13, item 7): 0 answered calls
without a record over 20 trials, and no change kept without its record. Exit 1 otherwise.
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.kill_trial import kill_trial


def main(trials: int) -> None:
    answered = missing = unrecorded = 0
    for number in range(1, trials + 1):
        with tempfile.TemporaryDirectory() as directory:
            outcome = kill_trial(Path(directory), random.uniform(0.3, 2.0))
        answered, missing = answered + len(outcome.answered), missing + len(outcome.missing)
        unrecorded += len(outcome.unrecorded_changes)
        print(
            f"trial {number}: answered {len(outcome.answered)}, without a record {len(outcome.missing)}; "
            f"rules kept {len(outcome.kept)}, kept without their call's record {len(outcome.unrecorded_changes)}",
            flush=True,
        )
    print(f"{trials} trials: {answered} calls answered, {missing} without a record; {unrecorded} changes unrecorded")
    sys.exit(1 if missing or unrecorded else 0)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
