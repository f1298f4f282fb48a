"""Matching events of nested arrays: trailbridge vs moto vs LocalStack vs the enumeration it replaced, in one run.

The rule binds three fields in arrays nested three deep (issue 13, item 8):
`{"source":["s"],"detail":{"a":{"x":[0],"b":{"y":[0],"c":{"z":[0]}}}}}`, and each event is
`{"a": [{"x": 0, "b": [{"y": .., "c": [{"z": ..}] * n3}] * n2}] * n1}`, in three variants: every z is 0
(a match at once), only the last z is 0 (a match found last), and z is 0 only where y is not (no match:
every element must be tried). trailbridge decides array consistency per array element; the enumeration
(`reference.py`, which the matcher used in spirit before: one combination of values at a time) is run only
on the smaller sizes, as it grows with the product of the counts. moto and LocalStack do not check array
consistency at all (they answer the crossed case wrongly); they are here for the cost of a match.

    pip install -e '.[bench]' && python bench/nested_arrays.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from patterns import peers

from trailbridge.patterns import Matcher, reference

RULE = {"source": ["s"], "detail": {"a": {"x": [0], "b": {"y": [0], "c": {"z": [0]}}}}}
SIZES = ((6, 6, 7), (12, 12, 7), (30, 30, 10), (40, 40, 7))
ENUMERATED = 12 * 12 * 7  # the largest event (in innermost values) the enumeration is run on
Z = Callable[[int, int, int], int]


def event(n1: int, n2: int, n3: int, z: Z, y: Callable[[int], int]) -> bytes:
    detail = {
        "a": [
            {"x": 0, "b": [{"y": y(j), "c": [{"z": z(i, j, k)} for k in range(n3)]} for j in range(n2)]}
            for i in range(n1)
        ]
    }
    envelope = {"version": "0", "id": "1", "detail-type": "t", "source": "s", "account": "123456789012"}
    return orjson.dumps(
        envelope | {"time": "2026-01-01T00:00:00Z", "region": "us-east-1", "resources": []} | {"detail": detail}
    )


def variants(n1: int, n2: int, n3: int) -> dict[str, tuple[bytes, bool]]:
    last = (n1 - 1, n2 - 1, n3 - 1)
    return {
        "every z": (event(n1, n2, n3, lambda i, j, k: 0, lambda j: 0), True),
        "last z": (event(n1, n2, n3, lambda i, j, k: 0 if (i, j, k) == last else 1, lambda j: 0), True),
        "crossed": (event(n1, n2, n3, lambda i, j, k: 0 if j % 2 else 1, lambda j: j % 2), False),
    }


def seconds(run: Callable[[bytes], object], data: bytes, budget: float) -> tuple[float, object]:
    """Seconds per call, the best of as many calls as fit in `budget` (at least one)."""
    best, answer, spent = float("inf"), None, 0.0
    while spent < budget or best == float("inf"):
        start = time.perf_counter()
        answer = run(data)
        took = time.perf_counter() - start
        best, spent = min(best, took), spent + took
    return best, answer


def first(run: Callable[[bytes], object]) -> Callable[[bytes], object]:
    """A peer's answer for the one rule (peers answer a list, one per rule)."""
    return lambda data: run(data)[0]  # type: ignore[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=0.5, help="seconds per engine and event")
    args = parser.parse_args()
    matcher = Matcher()
    matcher.add("r", RULE)
    text = json.dumps(RULE)
    engines: dict[str, Callable[[bytes], object]] = {
        "trailbridge": lambda e: "r" in matcher.matches(e),
        "enumeration": lambda e: reference.matches(text, orjson.loads(e)),
    }
    for name, run in peers([RULE]).items():
        engines[name] = first(run)
    print(f"rule {text}")
    print(f"{'event':<24}{'engine':<14}{'ms':>12}{'x trailbridge':>16}  answer")
    for n1, n2, n3 in SIZES:
        for variant, (data, expected) in variants(n1, n2, n3).items():
            ours = 0.0
            for name, run in engines.items():
                if name == "enumeration" and n1 * n2 * n3 > ENUMERATED:
                    continue
                took, answer = seconds(run, data, args.budget)
                ours = ours or took
                verdict = "right" if bool(answer) is expected else "WRONG"
                label = f"{n1}x{n2}x{n3} {variant}"
                print(f"{label:<24}{name:<14}{took * 1000:>12.2f}{took / ours:>16.1f}  {verdict}")


if __name__ == "__main__":
    main()
