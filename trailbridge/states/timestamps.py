"""ISO-8601 extended offset date-times as AWS accepts them (`2016-03-14T01:59:00Z`, `...+01:00`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def parse_timestamp(text: str) -> datetime | None:
    """The instant a timestamp names, or None when it is not one AWS accepts (no zone, bad month)."""
    if _STAMP.fullmatch(text) is None:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC)


def format_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
