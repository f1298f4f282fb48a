"""IP addresses and CIDR blocks as EventBridge reads them.

EventBridge only treats a string as an IP address when it looks like one (IPv4: four dot-separated
digit runs; IPv6: hex digits and colons with at least one colon), then parses it as Java's
`InetAddress` does: an IPv4-mapped IPv6 address is an IPv4 address. A CIDR block `a/n` covers the
addresses from `a` itself (not `a` masked) up to `a` with its low bits set, and the mask must be
below 32 (IPv4) or 128 (IPv6), as in aws/event-ruler.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

from trailbridge.patterns.errors import PatternError

_IPV4 = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_IPV6 = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")
_MASK = re.compile(r"[+-]?[0-9]+")
_JAVA_INT_MAX = 2**31 - 1

IP = tuple[int, int]  # (4 or 6, the address as an integer)


def looks_like_ip(text: str) -> bool:
    return bool(_IPV4.fullmatch(text) or _IPV6.fullmatch(text))


def _parse(text: str) -> IP | None:
    """The address of an IP literal, or None when `text` looks like one but is not valid."""
    if _IPV4.fullmatch(text):
        parts = [int(p) for p in text.split(".")]
        if any(p > 255 for p in parts):
            return None
        return 4, parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3]
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        return None
    mapped = address.ipv4_mapped
    if mapped is not None:
        return 4, int(mapped)
    return 6, int(address)


@lru_cache(maxsize=65536)
def parse_ip(text: str) -> IP | None:
    """The address of a string that is an IP literal, else None (never raises)."""
    if not looks_like_ip(text):
        return None
    return _parse(text)


def cidr_range(text: str) -> tuple[int, int, int]:
    """(version, first, last) of a `cidr` operand; raises PatternError with AWS's reason."""
    parts = text.split("/")
    while parts and parts[-1] == "":
        parts.pop()  # Java's String.split drops trailing empty strings
    if len(parts) != 2:
        raise PatternError("Malformed CIDR, one '/' required")
    if not _MASK.fullmatch(parts[1]) or abs(int(parts[1])) > _JAVA_INT_MAX:
        raise PatternError("Malformed CIDR, mask bits must be an integer")
    mask = int(parts[1])
    if mask < 0:
        raise PatternError("Malformed CIDR, mask bits must not be negative")
    if not looks_like_ip(parts[0]):
        raise PatternError(f"Nonstandard IP address: {parts[0]}")
    ip = _parse(parts[0])
    if ip is None:
        raise PatternError(f"Invalid IP address: {parts[0]}")
    version, address = ip
    bits = 32 if version == 4 else 128
    if mask > bits - 1:
        raise PatternError(f"IPv{version} mask bits must be < {bits}")
    return version, address, address | ((1 << (bits - mask)) - 1)
