"""Identifiers."""

from __future__ import annotations

import os
import random
from collections.abc import Callable

NewId = Callable[[], str]  # a new unique id (event, message, request, resource suffix): injected like the clock
# trailbridge's own generator, seeded from the OS: what seeds the `random` module (a test framework, code that
# embeds trailbridge) cannot make ids repeat. A forked process seeds it again, so workers do not repeat theirs.
_GENERATOR = random.Random()
os.register_at_fork(after_in_child=_GENERATOR.seed)


def fast_uuid4() -> str:
    """A random (version 4) UUID from Python's generator, not the OS's: event and request ids need to be
    unique, not secret, and os.urandom costs a system call per id."""
    text = "%032x" % _GENERATOR.getrandbits(128)  # noqa: UP031 (the fastest way to format it)
    variant = "89ab"[int(text[16], 16) & 3]
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{variant}{text[17:20]}-{text[20:]}"
