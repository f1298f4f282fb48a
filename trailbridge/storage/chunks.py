"""What the SQL backends' `Objects` adapters share: how an object's bytes are cut into chunks and put back
together, and the range of keys a prefix spans.

An object's (or a part's) bytes are a *blob*: rows of at most `CHUNK_SIZE` bytes, each an *extent* (where it
starts in the blob, its size, the chunk row that holds it). A range read fetches only the chunks it overlaps,
and no row is big enough to strain either database. Chunks are never changed once written, so a copy or a
multipart completion makes new extents over the chunks it reuses instead of copying their bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

CHUNK_SIZE = 1 << 20  # 1 MiB: at most this many bytes in one chunk row
_MAX_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)  # no UTF-8 string holds one


def split(data: bytes, size: int = CHUNK_SIZE) -> Iterator[tuple[int, bytes]]:
    """The chunks of `data` with where each starts: none for no bytes."""
    view = memoryview(data)
    for start in range(0, len(data), size):
        yield start, bytes(view[start : start + size])


def clip(start: int, end: int | None, size: int) -> tuple[int, int]:
    """The range [start, end) of a read within an object of `size` bytes (empty when start >= end)."""
    end = size if end is None else min(end, size)
    start = max(0, start)
    return start, max(start, end)


def assemble(chunks: Iterable[tuple[int, bytes]], start: int, end: int) -> bytes:
    """The bytes [start, end) from the chunks (where each starts, its bytes) that overlap them, in order."""
    return b"".join(data[max(0, start - at) : end - at] for at, data in chunks)


def prefix_end(prefix: str) -> str | None:
    """The first string after every string that starts with `prefix`, in UTF-8 byte order (which is code point
    order), so that a prefix is an index range `prefix <= key < end`; None when there is no such string (no
    prefix, or one of only U+10FFFF)."""
    kept = prefix
    while kept:
        last = ord(kept[-1]) + 1
        if last in _SURROGATES:
            last = _SURROGATES.stop
        if last <= _MAX_CODE_POINT:
            return kept[:-1] + chr(last)
        kept = kept[:-1]
    return None
