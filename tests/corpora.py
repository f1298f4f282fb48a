"""Paths to the shared conformance corpora (read in place, never copied)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"


def corpus(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"shared corpus file {path} is missing: the repository must sit beside ../shared (see README)"
        )
    return path


def load_json(*parts: str) -> Any:
    return json.loads(corpus(*parts).read_text(encoding="utf-8"))
