"""Repeat the SIGKILL test many times: `python3 bench/crash_stress.py [ROUNDS]` (run from the repository root).

Each round starts a producer that puts and delivers events, kills it with SIGKILL after a random time,
restarts on the same data and checks that every accepted event was delivered.
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_crash import crash_and_recover


def main(rounds: int) -> None:
    lost_rounds = 0
    for number in range(1, rounds + 1):
        with tempfile.TemporaryDirectory() as directory:
            accepted, delivered = crash_and_recover(Path(directory), random.uniform(0.2, 1.5))
        lost = len(accepted - delivered)
        lost_rounds += lost > 0
        print(f"round {number}: accepted {len(accepted)}, delivered {len(delivered)}, lost {lost}", flush=True)
    print(f"{rounds} rounds, {lost_rounds} with a lost event")
    sys.exit(1 if lost_rounds else 0)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
