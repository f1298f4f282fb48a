"""What one batch of publishes shares (`topics.batch`) and what SNS makes of it: writes made later only by the
batch's own calls, rows gathered into one `send_many` per block, a notification written once for many
subscriptions; and through the server's batches, a batch's deliveries written by one call of the queues'
`send_many`, each queue getting what it got one publish at a time."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.support.sns import Sns
from trailbridge.delivery.queues import QueueMessages
from trailbridge.runtime import Trailbridge
from trailbridge.server.batches import Batches
from trailbridge.storage.sqlite import SqliteStore
from trailbridge.topics.batch import Batch, gathered, gathering, later, memoized
from trailbridge.topics.notifications import unsigned, written, written_each


def test_a_write_made_later_waits_for_the_end_of_the_batch_only_in_its_calls() -> None:
    done: list[str] = []
    later(lambda: done.append("outside"))  # no batch: at once
    shared = Batch()
    shared.run(lambda: later(lambda: done.append("in a call")))
    later(lambda: done.append("joined"))  # on the batch's thread, but not one of its calls: at once
    assert done == ["outside", "joined"]
    shared.complete()
    assert done == ["outside", "joined", "in a call"]


def test_a_failed_call_leaves_none_of_its_later_writes_and_the_others_keep_their_order() -> None:
    done: list[int] = []
    shared = Batch()

    def call(n: int) -> None:
        later(lambda: done.append(n))
        if n == 2:
            raise ValueError("refused")

    shared.run(lambda: call(1))
    with pytest.raises(ValueError, match="refused"):
        shared.run(lambda: call(2))
    shared.run(lambda: call(3))
    shared.complete()
    assert done == [1, 3]


def test_rows_gathered_in_a_block_are_sent_together_at_its_end_and_not_at_all_if_it_raises() -> None:
    sent: list[tuple[str, list[int]]] = []

    def send_many_a(rows: list[int]) -> None:
        sent.append(("a", rows))

    def send_many_b(rows: list[int]) -> None:
        sent.append(("b", rows))

    gathered(send_many_a, 0)  # outside a block: at once, alone
    with gathering():
        for n in (1, 2, 3):
            gathered(send_many_a if n != 2 else send_many_b, n)
            with gathering():  # joins the outer block
                gathered(send_many_a, 10 * n)
        assert sent == [("a", [0])]
    assert sent == [("a", [0]), ("a", [1, 10, 20, 3, 30]), ("b", [2])]
    with pytest.raises(RuntimeError), gathering():
        gathered(send_many_a, 4)
        raise RuntimeError("the publish failed")
    with gathering():
        pass
    assert sent == [("a", [0]), ("a", [1, 10, 20, 3, 30]), ("b", [2])]


def test_a_batch_completes_its_writes_gathered() -> None:
    sent: list[list[str]] = []
    shared = Batch()
    for name in ("x", "y"):
        shared.run(lambda name=name: later(lambda: gathered(sent.append, name)))  # type: ignore[misc]
    assert sent == []
    shared.complete()
    assert sent == [["x", "y"]]


def test_a_lookup_is_memoized_only_in_the_batchs_calls() -> None:
    made: list[str] = []

    def make() -> str:
        made.append("made")
        return "value"

    def look() -> str:
        return memoized("key", make)

    shared = Batch()
    assert [shared.run(look), shared.run(look), look()] == ["value"] * 3
    assert made == ["made", "made"]  # once in the batch's calls, once outside them


@pytest.mark.parametrize("attributes", [{}, {"kind": {"DataType": "String", "StringValue": "a"}}])
def test_a_notification_written_for_each_url_is_written_as_alone(attributes: dict[str, Any]) -> None:
    notification = unsigned(
        message_id="m-1",
        topic_arn="arn:aws:sns:us-east-1:123456789012:t",
        subject="Hi",
        message='say "hello"\n',
        sent=1_700_000_000.5,
        unsubscribe_url="first",
        attributes=attributes,
    )
    urls = ["http://localhost/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:1:t:" + k for k in "abc"]
    assert written_each(notification, "UnsubscribeURL", urls) == [
        written(notification | {"UnsubscribeURL": url}) for url in urls
    ]
    assert written_each(notification, "Type", ["Other"])[0].startswith('{\n  "Type" : "Other",\n  "MessageId"')


class _CountingQueues:
    """The engine's queues, counting the calls of `send_many` and the messages each wrote."""

    def __init__(self, queues: QueueMessages) -> None:
        self.queues = queues
        self.writes: list[int] = []

    def send_many(self, sends: list[tuple[str, str, dict[str, Any], float, str | None]]) -> None:
        self.writes.append(len(sends))
        self.queues.send_many(sends)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.queues, name)


def _fan_out(sns: Sns) -> tuple[str, list[str]]:
    """A topic with four queues: two filtered by kind=a, two raw."""
    topic, urls = sns.topic(), []
    for i in range(4):
        url, arn = sns.queue(f"q{i}")
        attributes = {"RawMessageDelivery": "true" if i % 2 else "false"}
        if i < 2:
            attributes["FilterPolicy"] = json.dumps({"kind": ["a"]})
        sns.subscribe(topic, arn, **attributes)
        urls.append(url)
    return topic, urls


def _publish(sns: Sns, topic: str, n: int) -> dict[str, Any]:
    kind = {"kind": {"DataType": "String", "StringValue": "ab"[n % 2]}}
    return dict(sns.publisher.publish(TopicArn=topic, Message=f"message {n}", MessageAttributes=kind))


def _bodies(sns: Sns, url: str) -> list[str]:
    bodies = []
    while received := sns.received(url):
        for message in received:
            body = message["Body"]
            bodies.append(json.loads(body)["Message"] if body.startswith("{") else body)
            sns.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def test_a_publish_writes_its_messages_at_once_and_a_batch_all_of_its_own(tmp_path: Path) -> None:
    with Trailbridge(tmp_path) as tb:
        assert isinstance(tb.store, SqliteStore)
        counting = _CountingQueues(tb.engine.queues)
        sns = Sns(replace(tb.engine, queues=counting), "123456789012")  # type: ignore[arg-type]
        topic, urls = _fan_out(sns)
        _publish(sns, topic, 0)  # kind=a: every queue
        assert counting.writes == [4]
        batches = Batches(tb.store.combined_many)

        async def main() -> list[object]:
            held = threading.Event()  # the thread is held in a batch of its own until the calls wait together
            holding = asyncio.create_task(batches.run(held.wait))
            started = [asyncio.create_task(batches.run(partial(_publish, sns, topic, n))) for n in range(1, 9)]
            await asyncio.sleep(0)
            held.set()
            await holding
            return list(await asyncio.gather(*started))

        answers = asyncio.run(main())
        batches.close()
        assert len({answer["MessageId"] for answer in answers}) == 8  # type: ignore[index]
        assert counting.writes == [4, 4 * 2 + 4 * 4]  # 4 kind=b (2 queues each), 4 kind=a (4 each): one write
        expected_a = [f"message {n}" for n in range(0, 9, 2)]
        expected_all = [f"message {n}" for n in range(9)]
        assert [_bodies(sns, url) for url in urls] == [expected_a, expected_a, expected_all, expected_all]


def test_what_another_work_changes_between_a_batchs_calls_holds_for_the_calls_after_it(tmp_path: Path) -> None:
    """The group commit may run another thread's work (a management call) between a batch's calls: the calls
    after it see its change (a subscription, a filter policy, a deleted queue), and the writes kept for the calls
    before it are checked again at the batch's end (a queue deleted in between gets nothing)."""
    with Trailbridge(tmp_path) as tb:
        sns = Sns(tb.engine, "123456789012")
        topic, (url_a, a), (url_b, b) = sns.topic(), sns.queue("a"), sns.queue("b")
        first = sns.subscribe(topic, a, RawMessageDelivery="true")
        shared = Batch()

        def publish(text: str) -> None:
            shared.run(lambda: sns.publisher.publish(TopicArn=topic, Message=text))

        with tb.store.transaction():  # as combined_many runs a batch: one transaction
            publish("1")
            sns.subscribe(topic, b, RawMessageDelivery="true")  # between two calls, as the group commit runs it
            publish("2")
            policy = json.dumps({"kind": ["a"]})
            sns.subscriptions.set_subscription_attributes(
                SubscriptionArn=first, AttributeName="FilterPolicy", AttributeValue=policy
            )
            publish("3")
            sns.sqs.delete_queue(QueueUrl=url_b)
            publish("4")
            shared.complete()
        assert _bodies(sns, url_a) == ["1", "2"]
        url_b, _ = sns.queue("b")  # the same queue again: what was kept for the deleted one is not there
        assert _bodies(sns, url_b) == []
