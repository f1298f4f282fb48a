"""The Sandbox's shipped samples (`trailbridge/console/static/samples.json`): generated from the corpora,
reproducibly, one real record per served service, each one the Sandbox turns into an EventBridge event."""

from __future__ import annotations

import json

import pytest

from trailbridge.console import samples
from trailbridge.console.sandbox import event_of


def test_the_shipped_file_is_what_the_corpora_generate() -> None:
    if not samples.CORPORA.is_dir():
        pytest.skip(f"no corpora at {samples.CORPORA}")
    assert samples.OUTPUT.read_bytes() == samples.written(samples.CORPORA)


def test_each_sample_is_a_served_services_record_the_sandbox_can_use() -> None:
    shipped = json.loads(samples.OUTPUT.read_text(encoding="utf-8"))
    assert shipped["_generated"] == samples.MARK
    found = shipped["samples"]
    assert set(found) <= set(samples.served_sources())
    assert {"cloudtrail.amazonaws.com", "events.amazonaws.com", "s3.amazonaws.com"} <= set(found)
    for source, record in found.items():
        event = json.loads(event_of({"record": record})["event"])
        assert event["detail"]["eventSource"] == source
        assert event["detail-type"] == "AWS API Call via CloudTrail"
        assert event["source"] == "aws." + source.removesuffix(".amazonaws.com")
