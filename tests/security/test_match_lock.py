"""Issue 13, item 8: no request holds the store's lock while it matches. A match that takes long (here: one
held until the test lets it go) must not stall other requests, which need the store."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import pytest

from trailbridge.bus.routing import Rule
from trailbridge.runtime import Trailbridge


def test_a_slow_match_does_not_hold_the_store(tb: Trailbridge, monkeypatch: pytest.MonkeyPatch) -> None:
    events = tb.events()
    events.put_rule(Name="r", EventPattern='{"source": ["s"]}')
    matching, release = threading.Event(), threading.Event()
    table = tb.engine.router.table
    route = table.route

    def slow_route(bus_arn: str, event: Mapping[str, Any]) -> list[Rule]:
        matching.set()
        assert release.wait(10), "the test never released the match"
        return route(bus_arn, event)

    monkeypatch.setattr(table, "route", slow_route)
    put = threading.Thread(
        target=events.put_events, kwargs={"Entries": [{"Source": "s", "DetailType": "t", "Detail": "{}"}]}
    )
    put.start()
    try:
        assert matching.wait(5)
        listed: list[Any] = []
        reader = threading.Thread(target=lambda: listed.append(events.list_rules()))
        reader.start()
        reader.join(5)  # with the store's lock held by the match, this would wait for the release
        assert listed and [rule["Name"] for rule in listed[0]["Rules"]] == ["r"]
    finally:
        release.set()
        put.join(10)
