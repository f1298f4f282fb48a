"""The console in a real browser: Debian's Chromium (`/usr/bin/chromium`) driven by Playwright, by visible labels
and roles, against a real `trailbridge serve`; what the clicks did is checked through boto3.

Without Playwright or Chromium these tests skip (with the reason) locally and fail when `CI=true`. Screenshots go
to `test-artifacts/console/` (or `$TRAILBRIDGE_TEST_ARTIFACTS/console/`).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import boto3
import pytest
from botocore.config import Config

from tests.support.server import Server
from tests.test_console_http import deploy

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("TRAILBRIDGE_TEST_ARTIFACTS", Path(__file__).parent.parent / "test-artifacts"))
KEY, SECRET, AUTH_ACCOUNT = "AKIDCONSOLEUSER", "console-user-secret-3f9a", "111122223333"
RULE = "tutorial-rule"
PATTERN = {
    "source": ["aws.cloudtrail"],
    "detail-type": ["AWS API Call via CloudTrail"],
    "detail": {"eventSource": ["cloudtrail.amazonaws.com"], "eventName": ["StopLogging", "DeleteTrail"]},
}


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser tests need {reason} in CI")
    pytest.skip(f"no browser: {reason}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415 (optional: without it these tests skip)
    except ImportError as exc:
        _unavailable(f"playwright (pip install -e '.[test]'): {exc}")
    if not CHROMIUM.exists():
        _unavailable(f"Debian's chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    process = Server()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def authed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    credentials = tmp_path_factory.mktemp("console") / "credentials"
    credentials.write_text(
        f"[console]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\naws_account_id = {AUTH_ACCOUNT}\n"
    )
    process = Server("--auth", "--credentials", str(credentials))
    yield process
    process.stop()


def _shot(page: Any, name: str) -> None:
    folder = ARTIFACTS / "console"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _fill_target(group: Any, kind: str, age: str, attempts: str) -> None:
    group.get_by_label("Target type").select_option(label=kind)
    group.get_by_label("Maximum age of event").fill(age)
    group.get_by_label("Retry attempts").fill(attempts)


def test_the_tutorial_click_by_click(server: Server, page: Any) -> None:
    topic, other_dlq = _resources(server)
    _fill_the_wizard(server, page, topic, other_dlq)
    _create_after_refusals(server, page)
    page.get_by_role("status").filter(has_text=f"Rule {RULE} was created.").wait_for()
    row = page.get_by_role("row").filter(has_text=RULE)
    row.get_by_text(topic).wait_for()
    assert "ENABLED" in row.inner_text()
    assert "detail.eventName: StopLogging, DeleteTrail" in row.inner_text()
    _shot(page, "rules")
    _check_through_the_api(server, topic, other_dlq)
    _filter_disable_enable_delete(server, page, row)


def _resources(server: Server) -> tuple[str, str]:
    """Two queues and a topic of this account, and another account's queue this account may send to."""
    sqs, sns = server.client("sqs"), server.client("sns")
    sqs.create_queue(QueueName="tutorial-target")
    sqs.create_queue(QueueName="tutorial-dlq")
    topic = sns.create_topic(Name="tutorial-topic")["TopicArn"]
    other_dlq = "arn:aws:sqs:us-east-1:444455556666:their-dlq"  # which lets this account send to it
    allow = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sqs:SendMessage"}
    policy = json.dumps({"Version": "2012-10-17", "Statement": [allow | {"Resource": other_dlq}]})
    server.client("sqs", "444455556666").create_queue(QueueName="their-dlq", Attributes={"Policy": policy})
    return topic, other_dlq


def _fill_the_wizard(server: Server, page: Any, topic: str, other_dlq: str) -> None:
    page.goto(server.url + "/")
    assert page.url == server.url + "/console/"
    page.get_by_role("link", name="Rules").click()
    page.get_by_role("heading", name="Rules").wait_for()
    page.get_by_role("button", name="Create rule").click()
    page.get_by_role("heading", name="Create rule").wait_for()
    page.get_by_label("Name", exact=True).fill("bad name")
    page.get_by_label("Description").fill("Tell us when someone stops a trail")
    page.get_by_label("Event pattern", exact=True).check()
    page.get_by_label("Pre-defined pattern by service").check()
    page.get_by_label("Service provider").select_option(label="AWS")
    page.get_by_label("Service name").select_option(label="CloudTrail")
    page.get_by_label("Event type").select_option(label="AWS API Call via CloudTrail")
    generated = json.loads(page.get_by_label("Event pattern JSON").input_value())
    assert generated == {key: PATTERN[key] for key in ("source", "detail-type")} | {
        "detail": {"eventSource": ["cloudtrail.amazonaws.com"]}
    }
    page.get_by_label("Event pattern JSON").fill(json.dumps(PATTERN))  # "edit it if you like"
    page.get_by_label("Event bus").select_option(label="AWS default event bus")

    first = page.get_by_role("group", name="Target 1")
    _fill_target(first, "SQS queue", "24:01", "10")
    first.get_by_label("Queue", exact=True).select_option(label="tutorial-target")
    first.get_by_label("A queue of this account").check()
    first.get_by_label("Dead-letter queue of this account").select_option(label="tutorial-dlq")
    page.get_by_role("button", name="Add target").click()
    second = page.get_by_role("group", name="Target 2")
    _fill_target(second, "SNS topic", "00:01", "0")
    second.get_by_label("Target ARN").fill(topic)
    second.get_by_label("Another account's queue").check()
    second.get_by_label("Queue ARN of another account").fill(other_dlq)
    page.get_by_role("button", name="Add tag").click()
    page.get_by_role("group", name="Tag 1").get_by_label("Key").fill("team")
    page.get_by_role("group", name="Tag 1").get_by_label("Value").fill("audit")


def _create_after_refusals(server: Server, page: Any) -> None:
    first = page.get_by_role("group", name="Target 1")
    page.get_by_role("button", name="Create", exact=True).click()  # refused here: 24:01 is over a day
    age = first.get_by_label("Maximum age of event")
    assert age.get_attribute("aria-invalid") == "true"
    assert "between 00:01 and 24:00" in page.locator(f"#{age.get_attribute('id')}-error").inner_text()
    age.fill("01:30")
    page.get_by_role("button", name="Create", exact=True).click()  # refused by the API: the name's pattern
    name = page.get_by_label("Name", exact=True)
    error = page.locator(f"#{name.get_attribute('id')}-error")
    error.wait_for()
    assert "Value 'bad name' at 'name' failed to satisfy constraint" in error.inner_text()
    assert server.client("events").list_rules()["Rules"] == []
    name.fill(RULE)
    _shot(page, "create-rule")
    page.get_by_role("button", name="Create", exact=True).click()


def _check_through_the_api(server: Server, topic: str, other_dlq: str) -> None:
    events = server.client("events")
    rule = events.describe_rule(Name=RULE)
    assert json.loads(rule["EventPattern"]) == PATTERN
    assert rule["Description"] == "Tell us when someone stops a trail"
    targets = sorted(events.list_targets_by_rule(Rule=RULE)["Targets"], key=lambda t: t["Id"])
    account_queue = "arn:aws:sqs:us-east-1:123456789012:"
    assert [(t["Arn"], t["RetryPolicy"], t["DeadLetterConfig"]) for t in targets] == [
        (account_queue + "tutorial-target", {"MaximumEventAgeInSeconds": 5400, "MaximumRetryAttempts": 10},
         {"Arn": account_queue + "tutorial-dlq"}),
        (topic, {"MaximumEventAgeInSeconds": 60, "MaximumRetryAttempts": 0}, {"Arn": other_dlq}),
    ]  # fmt: skip
    assert events.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"] == [{"Key": "team", "Value": "audit"}]
    records = server.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "PutTargets"}]
    )["Events"]
    assert [json.loads(r["CloudTrailEvent"])["userAgent"].split("/")[0] for r in records] == ["trailbridge-console"]


def _filter_disable_enable_delete(server: Server, page: Any, row: Any) -> None:
    events = server.client("events")
    page.get_by_label("Filter rules").fill("no-such-rule")
    assert row.is_hidden()
    page.get_by_label("Filter rules").fill("stoplogging")
    assert row.is_visible()
    page.get_by_label(f"Select rule {RULE}").check()
    page.get_by_role("button", name="Disable").click()
    page.get_by_role("status").filter(has_text=f"Rule {RULE} was disabled.").wait_for()
    assert events.describe_rule(Name=RULE)["State"] == "DISABLED"
    page.get_by_label(f"Select rule {RULE}").check()
    page.get_by_role("button", name="Enable").click()
    page.get_by_role("status").filter(has_text=f"Rule {RULE} was enabled.").wait_for()
    assert events.describe_rule(Name=RULE)["State"] == "ENABLED"

    page.get_by_label(f"Select rule {RULE}").check()
    page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name=f"Delete rule {RULE}?")
    _shot(page, "delete-rule")
    dialog.get_by_role("button", name="Delete").click()
    page.get_by_role("status").filter(has_text=f"Rule {RULE} was deleted.").wait_for()
    assert events.list_rules()["Rules"] == []


def test_a_phone_wide_screen_needs_no_sideways_scrolling(server: Server, browser: Any) -> None:
    pattern = {"source": ["aws.cloudtrail"], "detail": {"eventName": ["StopLogging", "DeleteTrail", "UpdateTrail"]}}
    server.client("events").put_rule(
        Name="a-rule-with-a-rather-long-name-for-a-phone", EventPattern=json.dumps(pattern)
    )
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    phone = context.new_page()
    try:
        for view in ("#/rules", "#/rules/create"):
            phone.goto(f"{server.url}/console/{view}")
            phone.get_by_role("heading", level=1).wait_for()
            phone.get_by_role("button", name="Create" if "create" in view else "Create rule").wait_for()
            if view == "#/rules":
                phone.get_by_role("row").filter(has_text="UpdateTrail").get_by_text("none").wait_for()  # its targets
            assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), view
            _shot(phone, "phone-" + view.strip("#/").replace("/", "-"))
    finally:
        context.close()
        server.client("events").delete_rule(Name="a-rule-with-a-rather-long-name-for-a-phone")


def test_sign_in_act_as_the_key_and_sign_out(authed: Server, page: Any) -> None:
    page.goto(authed.url + "/console/")
    assert page.url == authed.url + "/console/login"
    page.get_by_label("Access key ID").fill(KEY)
    page.get_by_label("Secret access key").fill("not-the-secret")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").filter(has_text="not valid").wait_for()
    page.get_by_label("Access key ID").fill(KEY)
    page.get_by_label("Secret access key").fill(SECRET)
    _shot(page, "sign-in")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Rules").wait_for()
    assert f"Account {AUTH_ACCOUNT}" in page.locator("header").inner_text()

    page.get_by_role("button", name="Create rule").click()
    page.get_by_label("Name", exact=True).fill("signed-in-rule")
    page.get_by_role("group", name="Target 1").get_by_label("Target type").select_option(label="SNS topic")
    topic = f"arn:aws:sns:us-east-1:{AUTH_ACCOUNT}:alerts"
    page.get_by_role("group", name="Target 1").get_by_label("Target ARN").fill(topic)
    page.get_by_role("button", name="Create", exact=True).click()
    page.get_by_role("status").filter(has_text="Rule signed-in-rule was created.").wait_for()
    events = _signed_client(authed, "events")
    assert [r["Name"] for r in events.list_rules()["Rules"]] == ["signed-in-rule"]  # the key's own account
    record = json.loads(
        _signed_client(authed, "cloudtrail").lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "PutRule"}]
        )["Events"][0]["CloudTrailEvent"]
    )
    assert record["userIdentity"]["accessKeyId"] == KEY
    assert record["recipientAccountId"] == AUTH_ACCOUNT
    assert record["userAgent"].startswith("trailbridge-console/")

    cookie = next(c for c in page.context.cookies() if c["name"] == "trailbridge_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    payload = base64.urlsafe_b64decode(cookie["value"].split(".")[0] + "==")
    assert SECRET.encode() not in payload and SECRET not in page.content()

    put_rule = {"X-Amz-Target": "AWSEvents.PutRule", "Content-Type": "application/json"}
    body = json.dumps({"Name": "forged", "EventPattern": json.dumps({"source": ["x"]})})
    for headers in (put_rule, {**put_rule, "X-CSRF-Token": "0" * 64}):
        refused = page.request.post(authed.url + "/console/api/events", headers=headers, data=body)
        assert refused.status == 403, refused.text()
    assert page.request.post(authed.url + "/console/logout", form={"csrf_token": ""}).status == 403
    assert [r["Name"] for r in events.list_rules()["Rules"]] == ["signed-in-rule"]

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    page.context.add_cookies([cookie])  # the signed-out session's cookie no longer opens the console
    page.goto(authed.url + "/console/")
    assert page.url == authed.url + "/console/login"
    authed_log = authed.log.read_text(errors="replace")
    assert SECRET not in authed_log


def _signed_client(server: Server, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        config=Config(retries={"max_attempts": 1}),
    )


def _recorded_call(page: Any, label: str, name: str) -> None:
    """Pick the recorded call whose option names `name` in the select labelled `label`."""
    choice = page.get_by_label(label, exact=True)
    choice.locator("option", has_text=name).first.wait_for(state="attached")
    choice.select_option(choice.locator("option", has_text=name).first.get_attribute("value"))


def test_the_sandbox_explains_a_match_a_miss_and_an_invalid_pattern(server: Server, page: Any) -> None:
    server.client("sqs").create_queue(QueueName="sandbox-queue")
    page.goto(server.url + "/console/")
    page.get_by_role("link", name="Sandbox").click()
    page.get_by_role("heading", name="Sandbox").wait_for()
    _recorded_call(page, "Recorded call", "CreateQueue")
    from playwright.sync_api import expect  # noqa: PLC0415 (the browser fixture skipped without it)

    event = page.get_by_label("Event", exact=True)
    expect(event).to_have_value(re.compile("sandbox-queue"))
    envelope = json.loads(event.input_value())
    assert (envelope["source"], envelope["detail-type"]) == ("aws.sqs", "AWS API Call via CloudTrail")
    assert envelope["detail"]["requestParameters"]["queueName"] == "sandbox-queue"
    pattern = page.get_by_label("Event pattern", exact=True)
    test = page.get_by_role("button", name="Test pattern")
    verdict = page.get_by_role("status")

    pattern.fill(json.dumps({"source": ["aws.sqs"], "detail": {"eventName": ["CreateQueue"]}}))
    test.click()
    verdict.filter(has_text="The pattern matches the event.").wait_for()

    pattern.fill(json.dumps({"source": ["aws.sqs"], "detail": {"eventName": ["DeleteQueue"]}}))
    test.click()
    verdict.filter(has_text="The pattern does not match the event.").wait_for()
    explanation = page.get_by_label("Explanation").inner_text()
    assert 'detail.eventName: ["DeleteQueue"], but the event has "CreateQueue"' in explanation
    _shot(page, "sandbox-no-match")

    pattern.fill(json.dumps({"source": ["aws.sqs"], "detail-type": "AWS API Call via CloudTrail"}))
    test.click()
    verdict.filter(has_text="The pattern is not valid.").wait_for()
    error = page.locator(f"#{pattern.get_attribute('id')}-error")
    assert error.inner_text() == 'Event pattern is not valid. Reason: "detail-type" must be an object or an array'
    hints = page.get_by_role("list", name="Hints")
    assert "match values are listed in an array" in hints.inner_text()
    _shot(page, "sandbox-hint")
    hints.get_by_role("button", name="Use this pattern").click()
    assert json.loads(pattern.input_value())["detail-type"] == ["AWS API Call via CloudTrail"]
    test.click()
    verdict.filter(has_text="The pattern matches the event.").wait_for()


def test_event_history_finds_a_call_shows_its_record_and_makes_a_rule_of_it(server: Server, page: Any) -> None:
    server.client("sqs").create_queue(QueueName="history-queue")
    server.client("sns").create_topic(Name="history-topic")
    page.goto(server.url + "/console/")
    page.get_by_role("link", name="Event history").click()
    page.get_by_role("heading", name="Event history").wait_for()
    page.get_by_label("Lookup attribute").select_option(label="Event name")
    page.get_by_label("Attribute value").fill("CreateTopic")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("status").filter(has_text="recorded calls.").wait_for()
    names = page.locator("tbody tr:not(.record) td:nth-child(2)").all_inner_texts()
    assert names and set(names) == {"CreateTopic"}
    page.get_by_role("button", name="View record CreateTopic").first.click()
    shown = page.get_by_label("Record of CreateTopic", exact=False).first
    assert json.loads(shown.inner_text())["requestParameters"] == {"name": "history-topic"}
    _shot(page, "event-history")

    page.get_by_role("button", name="Create rule from this event CreateTopic").first.click()
    page.get_by_role("heading", name="Create rule").wait_for()
    assert page.get_by_label("Custom pattern").is_checked()
    assert json.loads(page.get_by_label("Event pattern JSON").input_value()) == {
        "source": ["aws.sns"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventSource": ["sns.amazonaws.com"], "eventName": ["CreateTopic"]},
    }
    page.get_by_label("Name", exact=True).fill("from-history")
    first = page.get_by_role("group", name="Target 1")
    first.get_by_label("Queue", exact=True).select_option(label="history-queue")
    page.get_by_role("button", name="Create", exact=True).click()
    page.get_by_role("status").filter(has_text="Rule from-history was created.").wait_for()
    events = server.client("events")
    assert json.loads(events.describe_rule(Name="from-history")["EventPattern"])["detail"]["eventName"] == [
        "CreateTopic"
    ]
    events.remove_targets(Rule="from-history", Ids=["Target1"])
    events.delete_rule(Name="from-history")


LOCAL_TIME = """(ms) => {
  const d = new Date(ms), p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}"""


def test_event_history_searches_within_a_time_range(server: Server, page: Any) -> None:
    server.client("sqs").create_queue(QueueName="range-queue")
    by_name = [{"AttributeKey": "EventName", "AttributeValue": "CreateQueue"}]
    at = server.client("cloudtrail").lookup_events(LookupAttributes=by_name, MaxResults=1)["Events"][0]["EventTime"]
    page.goto(server.url + "/console/#/history")
    page.get_by_role("heading", name="Event history").wait_for()
    page.get_by_label("Lookup attribute").select_option(label="Event name")
    page.get_by_label("Attribute value").fill("CreateQueue")

    def search(start: float, end: float, shown: str) -> None:
        page.get_by_label("Start time").fill(page.evaluate(LOCAL_TIME, start * 1000))
        page.get_by_label("End time").fill(page.evaluate(LOCAL_TIME, end * 1000))
        page.get_by_role("button", name="Search").click()
        page.get_by_role("status").filter(has_text=shown).wait_for()

    moment = at.timestamp()
    within = server.client("cloudtrail").lookup_events(
        LookupAttributes=by_name, StartTime=int(moment) - 60, EndTime=int(moment) + 60, MaxResults=50
    )["Events"]
    search(moment - 60, moment + 60, f"{len(within)} recorded calls.")
    assert set(page.locator("tbody tr:not(.record) td:nth-child(2)").all_inner_texts()) == {"CreateQueue"}
    search(moment + 3600, moment + 7200, "No recorded calls match.")
    assert _violations(page) == []


def _violations(page: Any) -> list[str]:
    """axe-core's violations on the page (axe.min.js as axe-playwright-python ships it), as `rule: nodes`."""
    try:
        from importlib.resources import files  # noqa: PLC0415

        script = (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
    except ModuleNotFoundError as exc:
        _unavailable(f"axe-core's axe.min.js (pip install -e '.[test]'): {exc}")
    page.evaluate(script)
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']}: {[n['target'] for n in v['nodes']]}" for v in results["violations"]]


@pytest.mark.parametrize(
    "view",
    [
        "#/rules",
        "#/rules/create",
        "#/rules/edit?name=axe-rule",
        "#/sandbox",
        "#/history",
        "#/queues",
        "#/topics",
        "#/functions",
        "#/machines",
    ],
)
def test_every_page_passes_axe_core(server: Server, page: Any, view: str) -> None:
    events = server.client("events")  # a rule with a target in the list, recorded calls in the history
    events.put_rule(Name="axe-rule", EventPattern=json.dumps({"source": ["aws.sqs"]}))
    queue = server.client("sqs").create_queue(QueueName="axe-queue")["QueueUrl"].rsplit("/", 1)[1]
    events.put_targets(Rule="axe-rule", Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:us-east-1:123456789012:{queue}"}])
    page.goto(f"{server.url}/console/{view}")
    page.get_by_role("heading", level=1).wait_for()
    page.wait_for_load_state("networkidle")
    if view == "#/sandbox":  # with a result and its hints shown
        page.get_by_label("Event", exact=True).fill(json.dumps({"source": "aws.sqs"}))
        page.get_by_role("button", name="Test pattern").click()
        page.get_by_role("heading", name="Result").wait_for()
    _shot(page, "page-" + re.sub(r"[^a-z]+", "-", view).strip("-"))
    assert _violations(page) == []


def test_the_sign_in_page_passes_axe_core(authed: Server, page: Any) -> None:
    page.goto(authed.url + "/console/login")
    page.get_by_role("heading", name="Sign in").wait_for()
    assert _violations(page) == []


def test_the_rules_list_shows_fifty_rules_a_page_and_filters_them_all(server: Server, page: Any) -> None:
    events = server.client("events")
    events.create_event_bus(Name="many")
    for i in range(60):
        events.put_rule(Name=f"many-{i:02d}", EventBusName="many", EventPattern=json.dumps({"source": [f"s{i}"]}))
    page.goto(server.url + "/console/#/rules")
    page.get_by_label("Event bus").select_option("many")
    counted = page.get_by_text("Rules 1 to 50 of 60")
    counted.wait_for()
    assert page.get_by_role("radio").count() == 50
    page.get_by_role("button", name="Next page").click()
    page.get_by_text("Rules 51 to 60 of 60").wait_for()
    assert page.get_by_role("button", name="Next page").is_disabled()
    assert page.get_by_role("radio").count() == 10
    page.get_by_label("Filter rules").fill("source: s7")  # the pattern summary of many-07 only
    page.get_by_text("Rules 1 to 1 of 1").wait_for()
    assert page.get_by_role("row").filter(has_text="many-07").count() == 1
    page.get_by_label("Filter rules").fill("no-such-rule")
    page.get_by_text("No rule matches the filter.").wait_for()


def test_aws_messages_for_a_pattern_and_a_target_are_shown_where_they_belong(server: Server, page: Any) -> None:
    page.goto(server.url + "/console/#/rules/create")
    page.get_by_label("Name", exact=True).fill("refused-rule")
    page.get_by_label("Custom pattern").check()
    pattern = page.get_by_label("Event pattern JSON")
    pattern.fill(json.dumps({"source": "aws.sqs"}))
    target = page.get_by_role("group", name="Target 1")
    target.get_by_label("Target type").select_option(label="SNS topic")
    target.get_by_label("Target ARN").fill("arn:aws:sns:us-east-1:123456789012:topic")
    page.get_by_role("button", name="Create", exact=True).click()
    error = page.locator(f"#{pattern.get_attribute('id')}-error")
    error.wait_for()
    assert error.inner_text() == 'Event pattern is not valid. Reason: "source" must be an object or an array'
    assert pattern.get_attribute("aria-invalid") == "true"

    pattern.fill(json.dumps({"source": ["aws.sqs"]}))
    target.get_by_label("Target type").select_option(label="SQS queue")  # this account has no such queue
    target.get_by_label("Queue", exact=True).evaluate(
        "node => node.append(new Option('ghost', 'arn:aws:sqs:us-east-1:123456789012:ghost'))"
    )
    target.get_by_label("Queue", exact=True).select_option(label="ghost")
    target.get_by_label("A queue of this account").check()
    dlq = target.get_by_label("Dead-letter queue of this account")
    dlq.evaluate("node => node.append(new Option('bad', 'arn:aws:sns:us-east-1:123456789012:not-a-queue'))")
    dlq.select_option(label="bad")
    page.get_by_role("button", name="Create", exact=True).click()
    dlq_error = page.locator(f"#{dlq.get_attribute('id')}-error")
    dlq_error.wait_for()
    assert "not-a-queue" in dlq_error.inner_text()
    page.get_by_role("alert").filter(has_text="was created, but not all of its targets").wait_for()
    events = server.client("events")
    assert events.list_targets_by_rule(Rule="refused-rule")["Targets"] == []
    events.delete_rule(Name="refused-rule")


def test_up_to_five_targets_and_a_schedule(server: Server, page: Any) -> None:
    page.goto(server.url + "/console/#/rules/create")
    page.get_by_label("Name", exact=True).fill("scheduled-rule")
    page.get_by_label("Schedule", exact=True).check()
    assert page.get_by_label("Event pattern JSON").is_hidden()
    page.get_by_label("Schedule expression").fill("rate(5 minutes)")
    add = page.get_by_role("button", name="Add target")
    for _ in range(4):
        add.click()
    assert add.is_disabled() and page.get_by_role("group", name=re.compile(r"^Target \d$")).count() == 5
    page.get_by_role("button", name="Remove target 2").click()  # the others are numbered again
    assert not add.is_disabled()
    assert [page.get_by_role("group", name=f"Target {n}").count() for n in range(1, 6)] == [1, 1, 1, 1, 0]
    for n in range(1, 5):
        group = page.get_by_role("group", name=f"Target {n}")
        group.get_by_label("Target type").select_option(label="SNS topic")
        group.get_by_label("Target ARN").fill(f"arn:aws:sns:us-east-1:123456789012:topic-{n}")
    page.get_by_role("button", name="Create", exact=True).click()
    page.get_by_role("status").filter(has_text="Rule scheduled-rule was created.").wait_for()
    events = server.client("events")
    assert events.describe_rule(Name="scheduled-rule")["ScheduleExpression"] == "rate(5 minutes)"
    targets = events.list_targets_by_rule(Rule="scheduled-rule")["Targets"]
    assert sorted(t["Arn"].rsplit("-", 1)[1] for t in targets) == ["1", "2", "3", "4"]
    assert page.get_by_role("row").filter(has_text="scheduled-rule").get_by_text("rate(5 minutes)").is_visible()
    events.remove_targets(Rule="scheduled-rule", Ids=[t["Id"] for t in targets])
    events.delete_rule(Name="scheduled-rule")


def test_editing_a_rule_keeps_what_is_not_changed(server: Server, page: Any) -> None:
    sqs, events = server.client("sqs"), server.client("events")
    for name in ("edit-queue", "edit-dlq"):
        sqs.create_queue(QueueName=name)
    queue, dlq = (f"arn:aws:sqs:us-east-1:123456789012:{name}" for name in ("edit-queue", "edit-dlq"))
    topic, other_topic = (f"arn:aws:sns:us-east-1:123456789012:{name}" for name in ("old-topic", "new-topic"))
    pattern = json.dumps({"source": ["aws.s3"], "detail": {"eventName": ["DeleteBucket"]}})
    arn = events.put_rule(
        Name="edit-me",
        EventPattern=pattern,
        Description="before",
        Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
    )["RuleArn"]
    retry = {"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 3}
    events.put_targets(
        Rule="edit-me",
        Targets=[
            {"Id": "Target2", "Arn": queue, "RetryPolicy": retry, "DeadLetterConfig": {"Arn": dlq}},
            {"Id": "topic", "Arn": topic},
        ],
    )
    events.disable_rule(Name="edit-me")

    page.goto(server.url + "/console/#/rules")
    page.get_by_label("Select rule edit-me").check()
    page.get_by_role("button", name="Edit").click()
    page.get_by_role("heading", name="Edit rule edit-me").wait_for()
    name = page.get_by_label("Name", exact=True)
    assert name.input_value() == "edit-me" and not name.is_editable()
    assert page.get_by_label("Description").input_value() == "before"
    assert page.get_by_label("Custom pattern").is_checked()
    assert json.loads(page.get_by_label("Event pattern JSON").input_value()) == json.loads(pattern)
    first, second = (page.get_by_role("group", name=f"Target {n}") for n in (1, 2))
    assert first.get_by_label("Queue", exact=True).input_value() == queue
    assert first.get_by_label("Maximum age of event").input_value() == "02:00"
    assert first.get_by_label("Retry attempts").input_value() == "3"
    assert first.get_by_label("A queue of this account").is_checked()
    assert first.get_by_label("Dead-letter queue of this account").input_value() == dlq
    assert second.get_by_label("Target ARN").input_value() == topic

    _change_the_rule(page, other_topic)
    rule = events.describe_rule(Name="edit-me")
    assert (rule["Description"], rule["State"], json.loads(rule["EventPattern"])) == (
        "after",
        "DISABLED",
        json.loads(pattern),
    )
    targets = {t["Id"]: t for t in events.list_targets_by_rule(Rule="edit-me")["Targets"]}
    assert sorted(targets) == ["Target1", "Target2"]  # the kept one keeps Target2; the new one, shown 2nd, takes 1
    assert targets["Target2"]["RetryPolicy"] == {"MaximumEventAgeInSeconds": 1800, "MaximumRetryAttempts": 3}
    assert targets["Target2"]["DeadLetterConfig"] == {"Arn": dlq}
    assert targets["Target1"]["Arn"] == other_topic
    tags = events.list_tags_for_resource(ResourceARN=arn)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("b", "3"), ("c", "4")]
    events.remove_targets(Rule="edit-me", Ids=list(targets))
    events.delete_rule(Name="edit-me")


def _change_the_rule(page: Any, other_topic: str) -> None:
    """Description, the first target's maximum age, the second target replaced, a tag dropped, one changed, one
    added; then Save."""
    first = page.get_by_role("group", name="Target 1")
    page.get_by_label("Description").fill("after")
    first.get_by_label("Maximum age of event").fill("00:30")
    page.get_by_role("button", name="Remove target 2").click()
    page.get_by_role("button", name="Add target").click()
    new = page.get_by_role("group", name="Target 2")
    new.get_by_label("Target type").select_option(label="SNS topic")
    new.get_by_label("Target ARN").fill(other_topic)
    page.get_by_role("button", name="Remove tag 1").click()  # "a": "b" is Tag 1 now
    page.get_by_role("group", name="Tag 1").get_by_label("Value").fill("3")
    page.get_by_role("button", name="Add tag").click()
    page.get_by_role("group", name="Tag 2").get_by_label("Key").fill("c")
    page.get_by_role("group", name="Tag 2").get_by_label("Value").fill("4")
    assert page.get_by_role("group", name="Tag 3").count() == 0
    _shot(page, "edit-rule")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("status").filter(has_text="Rule edit-me was saved.").wait_for()


def test_a_dead_lettered_event_is_shown_with_its_error_and_tested_in_the_sandbox(server: Server, page: Any) -> None:
    sqs, events = server.client("sqs"), server.client("events")
    dlq = sqs.create_queue(QueueName="console-dlq")["QueueUrl"]
    events.put_rule(Name="undeliverable", EventPattern=json.dumps({"source": ["console.test"]}))
    target = {
        "Id": "gone",
        "Arn": "arn:aws:sqs:us-east-1:123456789012:no-such-queue",
        "RetryPolicy": {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60},
        "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:123456789012:console-dlq"},
    }
    events.put_targets(Rule="undeliverable", Targets=[target])
    events.put_events(Entries=[{"Source": "console.test", "DetailType": "order", "Detail": '{"order": 7}'}])
    deadline = time.monotonic() + 20
    while (
        sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
        == "0"
    ):
        assert time.monotonic() < deadline, "the event was not dead-lettered"
        time.sleep(0.1)

    page.goto(server.url + "/console/")
    page.get_by_role("link", name="Queues").click()
    page.get_by_role("heading", name="Queues").wait_for()
    page.get_by_role("row").filter(has_text="console-dlq").get_by_role("cell", name="1", exact=True).wait_for()
    page.get_by_role("link", name="console-dlq").click()
    page.get_by_role("heading", name="Queue console-dlq").wait_for()
    page.get_by_role("button", name="Poll for messages").click()
    page.get_by_role("status").filter(has_text="1 messages.").wait_for()
    message = page.get_by_role("region", name=re.compile("^Message "))
    shown = message.inner_text()
    assert "RESOURCE_NOT_FOUND" in shown and "no-such-queue does not exist" in shown
    assert "arn:aws:events:us-east-1:123456789012:rule/undeliverable" in shown
    body = json.loads(message.get_by_label(re.compile("^Body of message")).inner_text())
    assert (body["source"], body["detail"]) == ("console.test", {"order": 7})
    _shot(page, "dead-letter-queue")
    assert _violations(page) == []

    message.get_by_role("button", name="Test in Sandbox").click()
    page.get_by_role("heading", name="Sandbox").wait_for()
    assert json.loads(page.get_by_label("Event", exact=True).input_value()) == body
    page.get_by_label("Event pattern", exact=True).fill(json.dumps({"detail": {"order": [{"numeric": [">", 5]}]}}))
    page.get_by_role("button", name="Test pattern").click()
    page.get_by_role("status").filter(has_text="The pattern matches the event.").wait_for()

    page.go_back()
    page.get_by_role("heading", name="Queue console-dlq").wait_for()
    page.get_by_role("button", name="Poll for messages").click()
    page.get_by_role("button", name="Delete message").click()
    page.get_by_role("status").filter(has_text="was deleted.").wait_for()
    assert sqs.receive_message(QueueUrl=dlq).get("Messages", []) == []
    events.remove_targets(Rule="undeliverable", Ids=["gone"])
    events.delete_rule(Name="undeliverable")


def test_trails_show_their_status_and_start_and_stop_logging(server: Server, page: Any) -> None:
    server.client("s3").create_bucket(Bucket="console-trail-bucket")
    trail = server.client("cloudtrail")
    trail.create_trail(Name="console-trail", S3BucketName="console-trail-bucket", EnableLogFileValidation=True)
    page.goto(server.url + "/console/")
    page.get_by_role("link", name="Trails").click()
    page.get_by_role("heading", name="Trails").wait_for()
    row = page.get_by_role("row").filter(has_text="console-trail")
    row.get_by_role("button", name="Start logging console-trail").click()
    page.get_by_role("status").filter(has_text="Trail console-trail started logging.").wait_for()
    assert trail.get_trail_status(Name="console-trail")["IsLogging"] is True
    assert "Enabled" in row.inner_text() and "console-trail-bucket/" in row.inner_text()
    _shot(page, "trails")
    assert _violations(page) == []
    row.get_by_role("button", name="Stop logging console-trail").click()
    page.get_by_role("status").filter(has_text="Trail console-trail stopped logging.").wait_for()
    assert trail.get_trail_status(Name="console-trail")["IsLogging"] is False
    by_name = [{"AttributeKey": "EventName", "AttributeValue": "StopLogging"}]
    record = json.loads(trail.lookup_events(LookupAttributes=by_name)["Events"][0]["CloudTrailEvent"])
    assert record["userAgent"].startswith("trailbridge-console/")
    trail.delete_trail(Name="console-trail")


HELD = {
    "Comment": "Prepare, then hold in a Wait; Done is not reached while the test looks",
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Next": "Ready?"},
        "Ready?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.go", "BooleanEquals": True, "Next": "Hold"}],
            "Default": "Skipped",
        },
        "Hold": {"Type": "Wait", "Seconds": 600, "Next": "Done"},
        "Skipped": {"Type": "Fail", "Error": "NotReady"},
        "Done": {"Type": "Succeed"},
    },
}


def test_a_topic_its_subscriptions_and_attributes(server: Server, page: Any) -> None:
    sns, sqs = server.client("sns"), server.client("sqs")
    topic = sns.create_topic(Name="console-topic", Attributes={"DisplayName": "Console alerts"})["TopicArn"]
    sqs.create_queue(QueueName="topic-subscriber")
    subscriber = "arn:aws:sqs:us-east-1:123456789012:topic-subscriber"
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=subscriber)
    page.goto(server.url + "/console/")
    page.get_by_role("link", name="Topics").click()
    page.get_by_role("heading", name="Topics").wait_for()
    page.get_by_role("link", name="console-topic").click()
    page.get_by_role("heading", name="Topic console-topic").wait_for()
    row = page.get_by_role("row").filter(has_text=subscriber)
    assert "sqs" in row.inner_text()
    assert "Console alerts" in page.locator("dl").inner_text()
    _shot(page, "topic")
    assert _violations(page) == []
    records = server.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ListSubscriptionsByTopic"}]
    )["Events"]
    assert [json.loads(r["CloudTrailEvent"])["userAgent"].split("/")[0] for r in records] == ["trailbridge-console"]


def test_a_function_its_configuration_and_recent_invocations(server: Server, page: Any) -> None:
    aws = server.client("lambda")
    deploy(server, "console-function")
    aws.invoke(FunctionName="console-function", Payload=b'{"n": 1}')
    aws.invoke(FunctionName="console-function", Payload=b'{"n": 2}')
    page.goto(server.url + "/console/")
    page.get_by_role("link", name="Functions").click()
    page.get_by_role("heading", name="Functions").wait_for()
    page.get_by_role("link", name="console-function").click()
    page.get_by_role("heading", name="Function console-function").wait_for()
    assert "app.handler" in page.locator("dl").first.inner_text()
    invocations = page.get_by_role("table").filter(has_text="Request ID")
    invocations.get_by_role("row").nth(2).wait_for()  # a heading row and two invocations
    assert invocations.get_by_role("row").count() == 3
    assert " MB of 128 MB" in invocations.inner_text()
    _shot(page, "function")
    assert _violations(page) == []


def test_an_execution_is_a_graph_of_states_with_the_current_one_marked(server: Server, page: Any) -> None:
    sfn = server.client("stepfunctions")
    arn = sfn.create_state_machine(
        name="console-machine", definition=json.dumps(HELD), roleArn="arn:aws:iam::123456789012:role/runner"
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="held-run", input=json.dumps({"go": True}))
    deadline = time.monotonic() + 20
    while "WaitStateEntered" not in [
        e["type"] for e in sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
    ]:
        assert time.monotonic() < deadline, "the execution did not reach its Wait"
        time.sleep(0.1)
    page.goto(server.url + "/console/")
    page.get_by_role("link", name="State machines").click()
    page.get_by_role("heading", name="State machines").wait_for()
    page.get_by_role("link", name="console-machine").click()
    page.get_by_role("heading", name="State machine console-machine").wait_for()
    page.get_by_role("row").filter(has_text="held-run").get_by_text("RUNNING").wait_for()
    assert _violations(page) == []
    page.get_by_role("link", name="held-run").click()
    page.get_by_role("heading", name="Execution held-run").wait_for()
    graph = page.get_by_role("img", name="Graph of the states of held-run; the current state is Hold")
    assert sorted(graph.locator("g.state").evaluate_all("nodes => nodes.map((n) => n.dataset.state)")) == sorted(
        HELD["States"]
    )
    assert graph.locator("g.current").evaluate_all("nodes => nodes.map((n) => n.dataset.state)") == ["Hold"]
    visited = graph.locator("g.visited").evaluate_all("nodes => nodes.map((n) => n.dataset.state)")
    assert sorted(visited) == ["Prepare", "Ready?"]
    assert graph.locator("line.edge").count() == 4  # Prepare>Ready?, Ready?>Hold, Ready?>Skipped, Hold>Done
    page.get_by_text("Current state: Hold").wait_for()
    assert page.evaluate("[...document.getElementById('main').childNodes].every((n) => n.nodeType === 1)")
    history = page.get_by_role("table").inner_text()
    assert "ExecutionStarted" in history and "WaitStateEntered" in history
    _shot(page, "execution")
    assert _violations(page) == []
    sfn.stop_execution(executionArn=execution["executionArn"])


def _until(check: Any, what: str) -> None:
    deadline = time.monotonic() + 20
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_deliveries_are_charts_over_time_and_the_rules_list_has_each_targets_last_status(
    server: Server, page: Any
) -> None:
    sqs, events = server.client("sqs"), server.client("events")
    good = sqs.create_queue(QueueName="charted")["QueueUrl"]
    dlq = sqs.create_queue(QueueName="charted-dlq")["QueueUrl"]
    events.put_rule(Name="charted-rule", EventPattern=json.dumps({"source": ["charts.test"]}))
    account_queue = "arn:aws:sqs:us-east-1:123456789012:"
    events.put_targets(
        Rule="charted-rule",
        Targets=[
            {"Id": "good", "Arn": account_queue + "charted"},
            {
                "Id": "gone",
                "Arn": account_queue + "no-such-charted-queue",
                "RetryPolicy": {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60},
                "DeadLetterConfig": {"Arn": account_queue + "charted-dlq"},
            },
        ],
    )
    for n in range(3):
        events.put_events(Entries=[{"Source": "charts.test", "DetailType": "t", "Detail": json.dumps({"n": n})}])

    def count(url: str) -> int:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    _until(lambda: count(good) == 3 and count(dlq) == 3, "the events were not delivered and dead-lettered")
    page.goto(server.url + "/console/#/rules")
    row = page.get_by_role("row").filter(has_text="charted-rule")
    row.get_by_text(re.compile(r"^Delivered \d{4}-")).wait_for()
    row.get_by_text(re.compile(r"^Dead-lettered \d{4}-")).wait_for()
    page.get_by_label("Select rule charted-rule").check()
    page.get_by_role("button", name="Deliveries").click()
    page.get_by_role("heading", name="Deliveries").wait_for()
    good_charts = page.get_by_role("region", name="Target good")
    good_charts.get_by_role("img", name="Invocations of target good: 3 in the last 60 minutes").wait_for()
    gone = page.get_by_role("region", name="Target gone")
    for title, total in (("Invocations", 0), ("Failed invocations", 3), ("Retries", 0), ("Dead-lettered events", 3)):
        plot = gone.get_by_role("img", name=f"{title} of target gone: {total} in the last 60 minutes")
        bars = plot.locator("rect.bar").evaluate_all("nodes => nodes.map((n) => Number(n.dataset.count))")
        assert sum(bars) == total, title
    assert "Dead-lettered" in gone.inner_text()
    _shot(page, "deliveries")
    assert _violations(page) == []
    page.get_by_label("Time range").select_option(label="Last 3 hours")
    good_charts.get_by_role("img", name="Invocations of target good: 3 in the last 180 minutes").wait_for()
    events.remove_targets(Rule="charted-rule", Ids=["good", "gone"])
    events.delete_rule(Name="charted-rule")


def test_a_dead_lettered_event_redriven_is_delivered_once_its_target_exists(server: Server, page: Any) -> None:
    sqs, events = server.client("sqs"), server.client("events")
    account_queue = "arn:aws:sqs:us-east-1:123456789012:"
    dlq = sqs.create_queue(QueueName="redrive-dlq")["QueueUrl"]
    other = sqs.create_queue(QueueName="redrive-other")["QueueUrl"]
    events.put_rule(Name="redrive-rule", EventPattern=json.dumps({"source": ["redrive.test"]}))
    missing = {
        "Id": "later",
        "Arn": account_queue + "redrive-later",
        "RetryPolicy": {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60},
        "DeadLetterConfig": {"Arn": account_queue + "redrive-dlq"},
    }
    events.put_targets(Rule="redrive-rule", Targets=[missing, {"Id": "other", "Arn": account_queue + "redrive-other"}])
    events.put_events(Entries=[{"Source": "redrive.test", "DetailType": "order", "Detail": '{"order": 9}'}])

    def messages(url: str) -> int:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    _until(lambda: messages(dlq) == 1 and messages(other) == 1, "the event was not dead-lettered")
    later = sqs.create_queue(QueueName="redrive-later")["QueueUrl"]  # the target exists now
    page.goto(server.url + "/console/#/queues")
    page.get_by_role("link", name="redrive-dlq").click()
    page.get_by_role("heading", name="Queue redrive-dlq").wait_for()
    page.get_by_role("button", name="Poll for messages").click()
    page.get_by_role("status").filter(has_text="1 messages.").wait_for()
    _shot(page, "redrive")
    page.get_by_role("button", name="Redrive to source").click()
    page.get_by_role("status").filter(has_text="was redriven to").wait_for()
    assert page.get_by_role("region", name=re.compile("^Message ")).count() == 0

    _until(lambda: messages(later) == 1, "the redriven event was not delivered")
    body = json.loads(sqs.receive_message(QueueUrl=later)["Messages"][0]["Body"])
    assert (body["source"], body["detail"]) == ("redrive.test", {"order": 9})
    assert messages(dlq) == 0
    time.sleep(0.5)  # the rule's other target had it: it is not delivered there again
    assert messages(other) == 1
    events.remove_targets(Rule="redrive-rule", Ids=["later", "other"])
    events.delete_rule(Name="redrive-rule")


def test_validate_now_shows_the_validators_report_valid_then_tampered(browser: Any) -> None:
    process = Server(env={"TRAILBRIDGE_TRAIL_DELIVERY_SECONDS": "1", "TRAILBRIDGE_DIGEST_SECONDS": "2"})
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        s3, trail = process.client("s3"), process.client("cloudtrail")
        s3.create_bucket(Bucket="validated-bucket")
        trail.create_trail(Name="validated", S3BucketName="validated-bucket", EnableLogFileValidation=True)
        trail.start_logging(Name="validated")
        for i in range(2):
            process.client("events").put_rule(Name=f"v{i}", EventPattern='{"source": ["a"]}')
            time.sleep(1.2)

        def keys() -> list[str]:
            return [o["Key"] for o in s3.list_objects_v2(Bucket="validated-bucket").get("Contents", [])]

        _until(lambda: sum("CloudTrail-Digest" in k for k in keys()) >= 2, "no digests were delivered")
        trail.stop_logging(Name="validated")
        time.sleep(2.5)  # the final digest
        page.goto(process.url + "/console/#/trails")
        row = page.get_by_role("row").filter(has_text="validated-bucket")
        row.get_by_role("button", name="Validate now validated").click()
        page.get_by_role("status").filter(has_text="every digest and log file is valid").wait_for()
        report = page.get_by_role("region", name="Validation of validated in validated-bucket")
        summary = report.get_by_role("list", name="Summary").inner_text()
        assert re.search(r"(\d+)/\1 digest files valid", summary) and re.search(r"(\d+)/\1 log files valid", summary)
        assert "INVALID" not in report.inner_text()
        _shot(page, "trail-validated")
        assert _violations(page) == []

        _check_the_trails_files(page, row, s3)
        _shot(page, "trail-files")
        assert _violations(page) == []

        log = next(k for k in keys() if "_CloudTrail_" in k)
        original = s3.get_object(Bucket="validated-bucket", Key=log)["Body"].read()
        s3.put_object(Bucket="validated-bucket", Key=log, Body=gzip.compress(gzip.decompress(original) + b" "))
        row.get_by_role("button", name="Validate now validated").click()
        page.get_by_role("status").filter(has_text="INVALID files found").wait_for()
        tampered = report.get_by_role("row").filter(has_text=log.rsplit("/", 1)[1])
        assert "INVALID: hash value doesn't match" in tampered.inner_text()
        by_name = [{"AttributeKey": "EventName", "AttributeValue": "ListPublicKeys"}]
        records = trail.lookup_events(LookupAttributes=by_name)["Events"]
        assert records and all(
            json.loads(r["CloudTrailEvent"])["userAgent"].startswith("trailbridge-console/") for r in records
        )
    finally:
        context.close()
        process.stop()


def _check_the_trails_files(page: Any, row: Any, s3: Any) -> None:
    """The trail's page lists each of its log files and digests with its size and date, as the bucket has them."""
    row.get_by_role("button", name="Log files of validated").click()
    files = page.get_by_role("region", name="Log files of validated in validated-bucket")
    listed = s3.list_objects_v2(Bucket="validated-bucket", Prefix="AWSLogs/")["Contents"]
    for stored in listed:
        shown = files.get_by_role("row").filter(has_text=stored["Key"])
        cells = shown.get_by_role("cell").all_inner_texts()
        kind = "Digest" if "/CloudTrail-Digest/" in stored["Key"] else "Log file"
        assert cells[0] == kind and cells[2] == str(stored["Size"])
        assert datetime.fromisoformat(cells[3]) == stored["LastModified"]
    digests = sum("/CloudTrail-Digest/" in o["Key"] for o in listed)
    assert f"{len(listed) - digests} log files, {digests} digests under AWSLogs/." in files.inner_text()


def test_a_topics_recent_activity_is_charted_per_subscription(server: Server, page: Any) -> None:
    sns, aws = server.client("sns"), server.client("lambda")
    topic = sns.create_topic(Name="active-topic")["TopicArn"]
    deploy(server, "topic-reader")
    reader = aws.get_function(FunctionName="topic-reader")["Configuration"]["FunctionArn"]
    aws.add_permission(
        FunctionName="topic-reader",
        StatementId="sns",
        Action="lambda:InvokeFunction",
        Principal="sns.amazonaws.com",
        SourceArn=topic,
    )
    good = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=reader)["SubscriptionArn"]
    gone = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=reader + "-gone")["SubscriptionArn"]
    for n in range(2):
        sns.publish(TopicArn=topic, Message=f"message {n}")
    page.goto(server.url + "/console/")
    token = page.evaluate("document.querySelector('meta[name=\"csrf-token\"]').content")

    def counted() -> int:
        answer = page.request.post(
            server.url + "/console/deliveries", headers={"X-CSRF-Token": token}, data=json.dumps({"Topic": topic})
        ).json()
        return sum(count for series in answer["Series"] for _, count in series["Points"])

    _until(lambda: counted() == 4, "the notifications were not delivered and failed")
    page.goto(f"{server.url}/console/#/topics/view?arn={topic}")
    page.get_by_role("heading", name="Topic active-topic").wait_for()
    ok, failing = (page.get_by_role("region", name=f"Subscription {arn.split(':')[-1]}") for arn in (good, gone))
    ok.get_by_role("img", name=re.compile(r"^Notifications delivered of subscription .*: 2 in the last 60")).wait_for()
    failing.get_by_role(
        "img", name=re.compile(r"^Notifications failed of subscription .*: 2 in the last 60")
    ).wait_for()
    assert failing.get_by_role("img", name=re.compile(r"^Notifications delivered .*: 0 in")).count() == 1
    _shot(page, "topic-activity")
    assert _violations(page) == []


def test_a_queues_recent_activity_is_charts_of_its_messages_sent_received_and_deleted(
    server: Server, page: Any
) -> None:
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName="active-queue")["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"message {n}")
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=30)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])
    page.goto(f"{server.url}/console/#/queues")
    page.get_by_role("link", name="active-queue").click()
    page.get_by_role("heading", name="Queue active-queue").wait_for()
    for title, total in (("Messages sent", 3), ("Messages received", len(received)), ("Messages deleted", 1)):
        plot = page.get_by_role("img", name=f"{title} of queue active-queue: {total} in the last 60 minutes")
        plot.wait_for()
        bars = plot.locator("rect.bar").evaluate_all("nodes => nodes.map((n) => Number(n.dataset.count))")
        assert sum(bars) == total, title
    _shot(page, "queue-activity")
    assert _violations(page) == []


@pytest.mark.parametrize(
    "view", ["#/deliveries", "#/topics", "#/functions", "#/machines", "#/trails", "#/queues", "#/sandbox", "#/history"]
)
def test_the_second_slices_pages_fit_a_phone_wide_screen(server: Server, browser: Any, view: str) -> None:
    server.client("events").put_rule(Name="phone-rule", EventPattern=json.dumps({"source": ["phone"]}))
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    phone = context.new_page()
    try:
        phone.goto(f"{server.url}/console/{view}")
        phone.get_by_role("heading", level=1).wait_for()
        phone.wait_for_load_state("networkidle")
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), view
        _shot(phone, "phone-" + view.strip("#/"))
    finally:
        context.close()


def test_the_wizard_offers_the_operations_recorded_for_the_chosen_service(server: Server, page: Any) -> None:
    server.client("s3").create_bucket(Bucket="operations-bucket")
    trail = server.client("cloudtrail")
    trail.create_trail(Name="operations-trail", S3BucketName="operations-bucket")
    trail.stop_logging(Name="operations-trail")
    server.client("sqs").create_queue(QueueName="operations-queue")
    page.goto(server.url + "/console/#/rules/create")
    page.get_by_role("heading", name="Create rule").wait_for()
    labels = page.get_by_label("Service name").locator("option").all_inner_texts()
    assert {"CloudTrail", "SQS", "Step Functions"} <= set(labels) and not any("amazonaws" in n for n in labels)
    derived = page.evaluate("['ssm-incidents.amazonaws.com', 'servicecatalog.amazonaws.com'].map(serviceName)")
    assert derived == ["SSM Incidents", "Servicecatalog"]  # an eventSource without a known name: from its own
    page.get_by_label("Service name").select_option(label="CloudTrail")
    operations = page.get_by_label("Specific operation(s)")
    operations.locator("option", has_text="StopLogging").wait_for(state="attached")
    names = operations.locator("option").all_inner_texts()
    assert {"CreateTrail", "StopLogging"} <= set(names) and "CreateQueue" not in names
    assert names == sorted(names)
    operations.select_option(["StopLogging", "CreateTrail"])
    generated = json.loads(page.get_by_label("Event pattern JSON").input_value())
    assert generated["detail"] == {
        "eventSource": ["cloudtrail.amazonaws.com"],
        "eventName": ["CreateTrail", "StopLogging"],
    }
    assert _violations(page) == []
    _shot(page, "create-operations")
    page.get_by_label("Service name").select_option(label="SQS")
    operations.locator("option", has_text="CreateQueue").wait_for(state="attached")
    assert "StopLogging" not in operations.locator("option").all_inner_texts()
    assert json.loads(page.get_by_label("Event pattern JSON").input_value())["detail"] == {
        "eventSource": ["sqs.amazonaws.com"]
    }
    page.get_by_label("Event type").select_option(label="All Events")
    assert operations.is_hidden()
    assert json.loads(page.get_by_label("Event pattern JSON").input_value()) == {"source": ["aws.sqs"]}
    trail.delete_trail(Name="operations-trail")


def test_the_sandbox_offers_a_sample_event_per_service(server: Server, page: Any) -> None:
    server.client("sqs").create_queue(QueueName="sample-queue")
    by_source = [{"AttributeKey": "EventSource", "AttributeValue": "sqs.amazonaws.com"}]
    latest = server.client("cloudtrail").lookup_events(LookupAttributes=by_source, MaxResults=1)["Events"][0]
    page.goto(server.url + "/console/#/sandbox")
    page.get_by_role("heading", name="Sandbox").wait_for()
    page.get_by_label("Sample event of a service").select_option(label="sqs.amazonaws.com")
    event = page.get_by_label("Event", exact=True)
    _until(lambda: "sqs.amazonaws.com" in event.input_value(), "no sample event was shown")
    sample = json.loads(event.input_value())
    assert sample["source"] == "aws.sqs" and sample["detail-type"] == "AWS API Call via CloudTrail"
    assert sample["detail"]["eventName"] == latest["EventName"]
    assert sample["detail"]["eventID"] == latest["EventId"]
    page.get_by_label("Event pattern").fill(json.dumps({"source": ["aws.sqs"]}))
    page.get_by_role("button", name="Test pattern").click()
    page.get_by_role("status").filter(has_text="The pattern matches the event.").wait_for()
    _shot(page, "sandbox-sample")
    assert _violations(page) == []


def test_a_services_sample_without_recorded_calls_is_a_real_record_shipped(browser: Any) -> None:
    process = Server()  # nothing recorded yet
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        shipped = json.loads((Path(__file__).parent.parent / "trailbridge/console/static/samples.json").read_text())
        record = shipped["samples"]["events.amazonaws.com"]
        page.goto(process.url + "/console/#/sandbox")
        page.get_by_label("Sample event of a service").select_option(label="events.amazonaws.com")
        event = page.get_by_label("Event", exact=True)
        _until(lambda: "events.amazonaws.com" in event.input_value(), "no shipped sample was shown")
        sample = json.loads(event.input_value())
        assert (
            sample["detail"]["eventName"] == record["eventName"] and sample["account"] == record["recipientAccountId"]
        )
        page.get_by_label("Sample event of a service").select_option(label="sqs.amazonaws.com")  # none ships
        page.get_by_role("alert").filter(has_text="No call of sqs.amazonaws.com is recorded yet").wait_for()
        assert _violations(page) == []
    finally:
        context.close()
        process.stop()


def test_a_trails_log_files_fit_a_phone_wide_screen(server: Server, browser: Any) -> None:
    s3 = server.client("s3")
    s3.create_bucket(Bucket="phone-trail-bucket")
    server.client("cloudtrail").create_trail(Name="phone-trail", S3BucketName="phone-trail-bucket")
    key = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/12/08/123456789012_CloudTrail_us-east-1_20261208T0050Z_Ab12Cd34Ef56Gh78.json.gz"
    s3.put_object(Bucket="phone-trail-bucket", Key=key, Body=gzip.compress(b'{"Records": []}'))
    s3.put_object(Bucket="phone-trail-bucket", Key="elsewhere/not-a-log.txt", Body=b"x")  # not under AWSLogs/
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    phone = context.new_page()
    try:
        phone.goto(f"{server.url}/console/#/trails")
        phone.get_by_role("button", name="Log files of phone-trail").click()
        files = phone.get_by_role("region", name="Log files of phone-trail in phone-trail-bucket")
        files.get_by_text("1 log files, 0 digests under AWSLogs/.").wait_for()
        assert files.get_by_role("row").filter(has_text=key).count() == 1
        assert "not-a-log" not in files.inner_text()
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        _shot(phone, "phone-trail-files")
    finally:
        context.close()
        server.client("cloudtrail").delete_trail(Name="phone-trail")
