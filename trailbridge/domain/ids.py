"""Identifiers."""

from __future__ import annotations

import random
from collections.abc import Callable

NewId = Callable[[], str]  # a new unique id (event, message, request, resource suffix): injected like the clock


def fast_uuid4() -> str:
    """A random (version 4) UUID from Python's generator, not the OS's: event and request ids need to be
    unique, not secret, and os.urandom costs a system call per id. (`random` reseeds itself in a forked
    process, so forked workers do not repeat each other's ids.)"""
    text = "%032x" % random.getrandbits(128)  # noqa: UP031 (the fastest way to format it)
    variant = "89ab"[int(text[16], 16) & 3]
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{variant}{text[17:20]}-{text[20:]}"
