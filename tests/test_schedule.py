"""ScheduleExpression: AWS's validation, next firing times, and firing (a missed tick fires once)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from trailbridge.bus.schedule import parse_schedule
from trailbridge.clock import ManualClock
from trailbridge.errors import InvalidInputError
from trailbridge.runtime import Trailbridge

START = datetime(2026, 11, 21, 10, 7, 30, tzinfo=UTC).timestamp()  # a Saturday


def next_fire(expression: str, after: float = START) -> datetime:
    moment = parse_schedule(expression, START).next_after(after)
    assert moment is not None
    return datetime.fromtimestamp(moment, UTC)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("rate(5 minutes)", datetime(2026, 11, 21, 10, 12, 30, tzinfo=UTC)),
        ("rate(1 hour)", datetime(2026, 11, 21, 11, 7, 30, tzinfo=UTC)),
        ("cron(0 12 * * ? *)", datetime(2026, 11, 21, 12, 0, tzinfo=UTC)),
        ("cron(0/15 * * * ? *)", datetime(2026, 11, 21, 10, 15, tzinfo=UTC)),
        ("cron(0 18 ? * MON-FRI *)", datetime(2026, 11, 23, 18, 0, tzinfo=UTC)),
        ("cron(15 10 ? * 6L 2026-2030)", datetime(2026, 11, 27, 10, 15, tzinfo=UTC)),  # last Friday
        ("cron(0 8 ? * 2#1 *)", datetime(2026, 12, 7, 8, 0, tzinfo=UTC)),  # first Monday
        ("cron(0 0 L * ? *)", datetime(2026, 11, 30, 0, 0, tzinfo=UTC)),
        ("cron(0 9 1W * ? *)", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),  # Dec 1st is a Tuesday
        ("cron(0 9 LW * ? *)", datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),  # Monday the 30th
        ("cron(0 9 15W * ? *)", datetime(2026, 12, 15, 9, 0, tzinfo=UTC)),
        ("cron(0 10 ? JAN,JUL MON *)", datetime(2027, 1, 4, 10, 0, tzinfo=UTC)),
        ("cron(30 7 29 2 ? *)", datetime(2028, 2, 29, 7, 30, tzinfo=UTC)),  # leap day
    ],
)
def test_next_firing(expression: str, expected: datetime) -> None:
    assert next_fire(expression) == expected


def test_nearest_weekday_stays_in_month() -> None:
    # Aug 1st 2026 is a Saturday: 1W is Monday the 3rd, not Friday July 31st.
    after = datetime(2026, 7, 31, tzinfo=UTC).timestamp()
    assert next_fire("cron(0 9 1W * ? *)", after) == datetime(2026, 8, 3, 9, 0, tzinfo=UTC)


def test_a_year_that_has_passed_never_fires() -> None:
    assert parse_schedule("cron(0 0 1 1 ? 2020)", START).next_after(START) is None


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minutes)",
        "rate(2 minute)",
        "rate(0 hours)",
        "rate(5 weeks)",
        "rate( 10 minutes )",  # spaces inside the parentheses: AWS refuses them
        "rate( 10 minutes)",
        "rate(10 minutes )",
        "cron(0 12 * * * *)",  # neither day field is ?
        "cron(0 12 ? * ? *)",  # both are
        "cron(0 12 * *)",
        "cron(60 * * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 0 32 * ? *)",
        "cron(0 0 ? * 8 *)",
        "cron(0 0 ? * 2#6 *)",
        "cron(0 0 5-1 * ? *)",
        "every 5 minutes",
    ],
)
def test_invalid_expressions(expression: str) -> None:
    with pytest.raises(InvalidInputError, match=r"^Parameter ScheduleExpression is not valid\.$"):
        parse_schedule(expression, START)


def test_scheduled_rule_fires_with_aws_envelope_and_a_missed_tick_fires_once() -> None:
    clock = ManualClock(START)
    tb = Trailbridge(None, clock=clock)
    events = tb.events()
    arn = events.put_rule(Name="tick", ScheduleExpression="rate(1 minute)")["RuleArn"]
    events.put_targets(Rule="tick", Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}])
    router = tb.engine.router
    router.fire_schedules()
    assert tb.pending_deliveries() == 0
    clock.advance(61)
    router.fire_schedules()
    assert tb.pending_deliveries() == 1
    clock.advance(3600)  # an hour of downtime: 60 missed ticks
    router.fire_schedules()
    assert tb.pending_deliveries() == 2
    claimed = tb.deliveries.claim("test", clock.now(), 10, 60, ())
    stored = sorted((found for c in claimed if (found := tb.deliveries.event(c.event_id))), key=lambda e: e.ingested)
    event = json.loads(stored[0].body)
    assert event["source"] == "aws.events"
    assert event["detail-type"] == "Scheduled Event"
    assert event["resources"] == [arn]
    assert event["detail"] == {}
    assert event["time"] == "2026-11-21T10:08:30Z"


def test_disabled_scheduled_rule_does_not_fire() -> None:
    clock = ManualClock(START)
    tb = Trailbridge(None, clock=clock)
    events = tb.events()
    events.put_rule(Name="tick", ScheduleExpression="rate(1 minute)", State="DISABLED")
    events.put_targets(Rule="tick", Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}])
    clock.advance(120)
    tb.engine.router.fire_schedules()
    assert tb.pending_deliveries() == 0
