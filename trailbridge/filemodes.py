"""File modes of what trailbridge writes: its files are its owner's only."""

from __future__ import annotations

import os
from pathlib import Path


def tighten(path: Path) -> None:
    """Make a file of ours that group or other users may access 0600 (written by an older trailbridge, or
    under a looser umask); another user's file is left alone."""
    status = path.stat()
    if status.st_uid == os.geteuid() and status.st_mode & 0o077:
        os.chmod(path, 0o600)
