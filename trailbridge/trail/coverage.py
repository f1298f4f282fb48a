"""Which log files in a trail's bucket the digests must list, and when the trail last wrote a digest.

CloudTrail's digests form a chain of time windows, one after the other from when validation began: every
log file delivered inside a window is listed by that window's digest. So a log file in a folder the digests
cover (`[PREFIX/]AWSLogs/[ORG/]ACCOUNT/CloudTrail/REGION/`), whose name says it was delivered inside the
windows of that folder's valid digests, and which no valid digest lists, was not written by the trail: it
is forged, renamed or copied there. A log file's name gives its delivery time to the minute (`..._YYYYMMDD
THHmmZ_...`), so a file is inside only when its whole minute is: files of the first window's and the newest
window's edge minutes, and files delivered before validation began or after the newest digest, are not
judged (the newest digest may not be written yet; tail truncation is `validate`'s check against the
server's `LatestDigestDeliveryTime`).
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_ROOT = r"^(?:(?P<prefix>.+)/)?AWSLogs/(?:(?P<org>o-[a-z0-9]+)/)?(?P<account>\d{12})/"
_LOG = re.compile(_ROOT + r"CloudTrail/(?P<region>[^/]+)/(?P<rest>.+\.json\.gz)$")
_LOG_NAME = re.compile(
    r"^\d{4}/\d{2}/\d{2}/(?P<account>\d{12})_CloudTrail_(?P<region>[^_/]+)_(?P<stamp>\d{8}T\d{4}Z)_[A-Za-z0-9]+\.json\.gz$"
)
_DIGEST = re.compile(
    _ROOT + r"CloudTrail-Digest/(?P<region>[^/]+)/\d{4}/\d{2}/\d{2}/(?P=account)_CloudTrail-Digest_(?P=region)_"
    r"(?P<trail>[^/]+)_(?P<home>[a-z0-9-]+)_(?P<stamp>\d{8}T\d{6}Z)\.json\.gz$"
)
_MINUTE = 60.0


@dataclass(frozen=True)
class DigestName:
    """What a digest's key says: where its trail writes, which trail, and when the digest's window ends."""

    prefix: str
    org: str
    account: str
    region: str
    trail: str
    home_region: str
    end: float


@dataclass(frozen=True)
class LogName:
    prefix: str
    org: str
    account: str
    region: str
    delivered: float | None  # the minute of delivery its name gives; None for a name not in CloudTrail's form


@dataclass(frozen=True)
class Window:
    """A valid digest's time window over the log files of one folder."""

    prefix: str
    org: str
    account: str
    region: str
    start: float
    end: float


def parse_time(text: str) -> float | None:
    """`2026-01-01T00:00:00Z` as seconds since the epoch; None when it is not that form."""
    try:
        return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return None


def _stamp(text: str, form: str) -> float | None:
    try:
        return float(calendar.timegm(time.strptime(text, form)))
    except ValueError:
        return None


def parse_digest_name(key: str) -> DigestName | None:
    found = _DIGEST.match(key)
    if found is None:
        return None
    end = _stamp(found["stamp"], "%Y%m%dT%H%M%SZ")
    if end is None:
        return None
    parts = (found["prefix"] or "", found["org"] or "", found["account"], found["region"])
    return DigestName(*parts, found["trail"], found["home"], end)


def log_file_name(key: str) -> LogName | None:
    """The folder and delivery minute of a key in a trail's log-file folder; None for any other key."""
    found = _LOG.match(key)
    if found is None:
        return None
    parts = (found["prefix"] or "", found["org"] or "", found["account"], found["region"])
    name = _LOG_NAME.match(found["rest"])
    delivered = None
    if name is not None and name["account"] == found["account"] and name["region"] == found["region"]:
        delivered = _stamp(name["stamp"], "%Y%m%dT%H%MZ")
    return LogName(*parts, delivered)


def _merged(windows: Iterable[Window]) -> dict[tuple[str, str, str, str], list[tuple[float, float]]]:
    """Each folder's windows, joined where one ends as (or after) the next begins (to the second)."""
    spans: dict[tuple[str, str, str, str], list[tuple[float, float]]] = {}
    for window in sorted(windows, key=lambda w: w.start):
        folder = spans.setdefault((window.prefix, window.org, window.account, window.region), [])
        if folder and window.start <= folder[-1][1] + 1.0:
            folder[-1] = (folder[-1][0], max(folder[-1][1], window.end))
        else:
            folder.append((window.start, window.end))
    return spans


def uncovered(keys: Iterable[str], windows: Iterable[Window]) -> Iterator[tuple[str, bool]]:
    """(key, inside) for each log file among `keys` (the keys no valid digest lists) in a folder the
    `windows` cover: inside when the digests should have listed it, False when it is beyond their edges."""
    spans = _merged(windows)
    for key in sorted(keys):
        name = log_file_name(key)
        if name is None:
            continue
        folder = spans.get((name.prefix, name.org, name.account, name.region))
        if folder is None:
            yield key, False
            continue
        if name.delivered is None:  # not a name CloudTrail writes, in a folder the digests cover
            yield key, True
            continue
        minute = name.delivered
        yield key, any(start <= minute and minute + _MINUTE <= end for start, end in folder)
