"""`ScheduleExpression`: `rate(N unit)` and AWS's six-field `cron(...)`, validated as AWS does, and the
next time each fires (UTC).

cron fields: minutes, hours, day-of-month, month, day-of-week, year. One of day-of-month and day-of-week
must be `?`. Day-of-month takes `L` (last day), `LW` (last weekday) and `NW` (the weekday nearest day N,
within the month); day-of-week (1 = SUN ... 7 = SAT) takes `NL` (the last such day of the month) and
`N#K` (the K-th such day).
"""

from __future__ import annotations

import calendar
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from trailbridge.errors import InvalidInputError

INVALID = "Parameter ScheduleExpression is not valid."
_RATE = re.compile(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)")  # no space inside the parentheses, as AWS
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MAX_YEAR = 2199


class Schedule(ABC):
    @abstractmethod
    def next_after(self, moment: float) -> float | None:
        """The first firing time strictly after `moment` (epoch seconds), or None if there is none."""


@dataclass(frozen=True)
class Rate(Schedule):
    seconds: int
    start: float  # rates count from when the rule was created

    def next_after(self, moment: float) -> float:
        periods = int((moment - self.start) // self.seconds) + 1
        return self.start + max(periods, 1) * self.seconds


@dataclass(frozen=True)
class Cron(Schedule):
    minutes: frozenset[int]
    hours: frozenset[int]
    day_of_month: str
    months: frozenset[int]
    day_of_week: str
    years: frozenset[int]

    def next_after(self, moment: float) -> float | None:
        start = datetime.fromtimestamp(moment, UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        for year in sorted(y for y in self.years if y >= start.year):
            for month in sorted(self.months):
                if (year, month) < (start.year, start.month):
                    continue
                found = self._in_month(year, month, start)
                if found is not None:
                    return found.timestamp()
        return None

    def _in_month(self, year: int, month: int, start: datetime) -> datetime | None:
        for day in range(1, calendar.monthrange(year, month)[1] + 1):
            if (year, month, day) < (start.year, start.month, start.day) or not self._day_matches(year, month, day):
                continue
            for hour in sorted(self.hours):
                for minute in sorted(self.minutes):
                    candidate = datetime(year, month, day, hour, minute, tzinfo=UTC)
                    if candidate >= start:
                        return candidate
        return None

    def _day_matches(self, year: int, month: int, day: int) -> bool:
        if self.day_of_month != "?":
            return _dom_matches(self.day_of_month, year, month, day)
        return _dow_matches(self.day_of_week, year, month, day)


def parse_schedule(expression: str, created: float) -> Schedule:
    """Parse a ScheduleExpression; raise InvalidInputError with AWS's message when it is not valid."""
    rate = _RATE.fullmatch(expression)
    if rate:
        return _rate(int(rate.group(1)), rate.group(2), created)
    if expression.startswith("cron(") and expression.endswith(")"):
        return _cron(expression[5:-1].split())
    raise InvalidInputError(INVALID)


def _rate(value: int, unit: str, created: float) -> Rate:
    singular = unit.rstrip("s")
    if value < 1 or (value == 1) != (unit == singular):
        raise InvalidInputError(INVALID)
    return Rate(value * _UNIT_SECONDS[singular], created)


def _cron(fields: list[str]) -> Cron:
    if len(fields) != 6:
        raise InvalidInputError(INVALID)
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise InvalidInputError(INVALID)  # exactly one of the two day fields must be "?"
    if dom != "?":
        _check_dom(dom)
    else:
        _check_dow(dow)
    return Cron(
        minutes=_values(minute, 0, 59),
        hours=_values(hour, 0, 23),
        day_of_month=dom,
        months=_values(month, 1, 12, _MONTHS),
        day_of_week=dow,
        years=_values(year, 1970, _MAX_YEAR),
    )


def _values(field: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    """The numbers a field of `,`-separated items (`*`, `N`, `A-B`, each with an optional `/step`) names."""
    result: set[int] = set()
    for item in field.split(","):
        base, _, step_text = item.partition("/")
        step = _number(step_text, 1, high) if step_text else 1
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first_text, last_text = base.split("-", 1)
            first, last = _number(first_text, low, high, names), _number(last_text, low, high, names)
        else:
            first = _number(base, low, high, names)
            last = high if step_text else first
        if first > last:
            raise InvalidInputError(INVALID)
        result.update(range(first, last + 1, step))
    return frozenset(result)


def _number(text: str, low: int, high: int, names: dict[str, int] | None = None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit() or not low <= int(text) <= high:
        raise InvalidInputError(INVALID)
    return int(text)


def _check_dom(field: str) -> None:
    if field in ("L", "LW"):
        return
    if field.endswith("W"):
        _number(field[:-1], 1, 31)
        return
    _values(field, 1, 31)


def _check_dow(field: str) -> None:
    if field.endswith("L") and len(field) > 1:
        _number(field[:-1], 1, 7, _DAYS)
    elif "#" in field:
        day, _, nth = field.partition("#")
        _number(day, 1, 7, _DAYS)
        _number(nth, 1, 5)
    elif field != "L":
        _values(field, 1, 7, _DAYS)


def _dom_matches(field: str, year: int, month: int, day: int) -> bool:
    last = calendar.monthrange(year, month)[1]
    if field == "L":
        return day == last
    if field == "LW":
        return day == _nearest_weekday(year, month, last)
    if field.endswith("W"):
        return day == _nearest_weekday(year, month, min(int(field[:-1]), last))
    return day in _values(field, 1, 31)


def _nearest_weekday(year: int, month: int, day: int) -> int:
    """The weekday (Mon-Fri) nearest `day` without leaving the month."""
    weekday = calendar.weekday(year, month, day)  # Monday = 0
    last = calendar.monthrange(year, month)[1]
    if weekday == 5:  # Saturday: Friday before, or Monday after when day is the 1st
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: Monday after, or Friday before when day is the last
        return day + 1 if day < last else day - 2
    return day


def _aws_weekday(year: int, month: int, day: int) -> int:
    return (calendar.weekday(year, month, day) + 1) % 7 + 1  # SUN = 1 ... SAT = 7


def _dow_matches(field: str, year: int, month: int, day: int) -> bool:
    weekday = _aws_weekday(year, month, day)
    last = calendar.monthrange(year, month)[1]
    if field == "L":
        return weekday == 7
    if field.endswith("L"):
        return weekday == _number(field[:-1], 1, 7, _DAYS) and day + 7 > last
    if "#" in field:
        wanted, _, nth = field.partition("#")
        return weekday == _number(wanted, 1, 7, _DAYS) and (day - 1) // 7 + 1 == int(nth)
    return weekday in _values(field, 1, 7, _DAYS)
