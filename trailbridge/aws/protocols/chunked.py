"""S3's `aws-chunked` upload bodies, decoded before the protocol parses the request.

Over https, botocore 1.43 sends PutObject and UploadPart bodies with `Content-Encoding: aws-chunked`,
`x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`, `x-amz-decoded-content-length: <n>` and
`x-amz-trailer: x-amz-checksum-crc32`, the body framed as `<hex size>\\r\\n<data>\\r\\n ... 0\\r\\n` followed
by the trailer lines (`x-amz-checksum-crc32:<base64>\\r\\n`) and an empty line; over http it sends the
plain body with the checksum in a header. Signed streams (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD...`) add
`;chunk-signature=<hex>` to each size line: the signatures are dropped here, not checked. Trailers become
headers, so the checksum reaches the operation as the same member either way.
"""

from __future__ import annotations

from collections.abc import Mapping

from trailbridge.errors import InvalidInputError

# what the framing adds, gone once the body is decoded
_FRAMING = frozenset({"x-amz-decoded-content-length", "x-amz-trailer", "content-length", "transfer-encoding"})
_SIGNATURES = frozenset({"x-amz-trailer-signature"})


def decode(headers: Mapping[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    """The headers (framing headers dropped, `aws-chunked` taken out of Content-Encoding, trailers added,
    Content-Length the decoded size) and the decoded body; a body sent without the framing comes back as it
    is. Raises InvalidInputError when the framing is broken or the size differs from the declared one."""
    lowered = {key.lower(): value for key, value in headers.items()}
    encodings = [part.strip() for part in lowered.get("content-encoding", "").split(",") if part.strip()]
    streaming = lowered.get("x-amz-content-sha256", "").startswith("STREAMING-")
    if "aws-chunked" not in encodings and not streaming:
        return dict(headers), body
    data, trailers = _unframe(body)
    declared = lowered.get("x-amz-decoded-content-length")
    if declared is not None and declared.strip() != str(len(data)):
        raise InvalidInputError(f"the decoded body is {len(data)} bytes, x-amz-decoded-content-length says {declared}")
    kept = {key: value for key, value in headers.items() if key.lower() not in _FRAMING | {"content-encoding"}}
    rest = [encoding for encoding in encodings if encoding != "aws-chunked"]
    if rest:
        kept["Content-Encoding"] = ", ".join(rest)
    kept["Content-Length"] = str(len(data))
    return kept | trailers, data


def _unframe(body: bytes) -> tuple[bytes, dict[str, str]]:
    """The chunks' data joined, and the trailers after the last (empty) chunk."""
    chunks: list[bytes] = []
    position = 0
    while True:
        end = body.find(b"\r\n", position)
        if end < 0:
            raise InvalidInputError("an aws-chunked body ends inside a chunk's size line")
        size = _size(body[position:end])
        position = end + 2
        if size == 0:
            return b"".join(chunks), _trailers(body[position:])
        chunk = body[position : position + size]
        if len(chunk) < size or body[position + size : position + size + 2] != b"\r\n":
            raise InvalidInputError("an aws-chunked body has a chunk shorter than its size")
        chunks.append(chunk)
        position += size + 2


def _size(line: bytes) -> int:
    """`<hex size>` or `<hex size>;chunk-signature=<signature>`."""
    text = line.split(b";", 1)[0].strip()
    try:
        return int(text, 16)
    except ValueError:
        raise InvalidInputError(f"an aws-chunked body has a bad chunk size {text[:20]!r}") from None


def _trailers(text: bytes) -> dict[str, str]:
    trailers: dict[str, str] = {}
    for line in text.split(b"\r\n"):
        if not line.strip():
            break
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon:
            raise InvalidInputError(f"an aws-chunked body has a bad trailer {line[:40]!r}")
        if name.strip().lower() not in _SIGNATURES:
            trailers[name.strip().lower()] = value.strip()
    return trailers
