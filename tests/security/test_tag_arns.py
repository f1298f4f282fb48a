"""EventBridge's tag operations on ARNs that are not EventBridge buses or rules (issue 13, item 9): an SQS
queue's, a trail's, a connection's ARN, or text that is no ARN, is a ValidationException whoever owns it; a bus
or rule that does not exist is ResourceNotFoundException, another account's is decided by the authorization
point; the default bus cannot be tagged (issue 18: AWS answers that it does not exist)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import FAST
from tests.support.asgi import AsgiClient, asgi_client
from trailbridge.runtime import Trailbridge

ALICE, BOB = FAST.default_account, "222222222222"
REGION = FAST.default_region


@pytest.fixture
def wire() -> Iterator[AsgiClient]:
    """alice's and bob's queue q, over the wire as alice (the default account)."""
    with Trailbridge(None, FAST) as tb, asgi_client(tb) as client:
        for account in (ALICE, BOB):
            tb.sqs(account).create_queue(QueueName="q")
        yield client


# -- EventBridge tags on ARNs that are not buses or rules --------------------------------------------

NOT_TAGGABLE = [
    f"arn:aws:sqs:{REGION}:{ALICE}:q",  # a queue that exists
    f"arn:aws:sqs:{REGION}:{BOB}:q",  # another account's: the format is refused before any access
    f"arn:aws:cloudtrail:{REGION}:{ALICE}:trail/t",
    f"arn:aws:events:{REGION}:{ALICE}:connection/c/0e4e3dc1-2d1b-4b7d-9b4b-0d8a1e9f7a10",
    f"arn:aws:events:{REGION}:{ALICE}:archive/a",
    "arn:aws:events",
    "not-an-arn",
]
TAG_CALLS = [
    ("ListTagsForResource", {}),
    ("TagResource", {"Tags": [{"Key": "k", "Value": "v"}]}),
    ("UntagResource", {"TagKeys": ["k"]}),
]


@pytest.mark.parametrize("arn", NOT_TAGGABLE)
@pytest.mark.parametrize(("operation", "params"), TAG_CALLS, ids=[name for name, _ in TAG_CALLS])
def test_tags_on_what_eventbridge_does_not_tag(
    wire: AsgiClient, arn: str, operation: str, params: dict[str, Any]
) -> None:
    answer = wire.call("events", operation, {"ResourceARN": arn, **params})
    assert (answer.status, answer.json()["__type"]) == (400, "ValidationException"), answer.body
    assert "ResourceARN" in answer.json()["message"] or arn in answer.json()["message"]


@pytest.mark.parametrize(("operation", "params"), TAG_CALLS, ids=[name for name, _ in TAG_CALLS])
def test_tags_on_a_bus_or_rule(wire: AsgiClient, operation: str, params: dict[str, Any]) -> None:
    for arn, status, code in [
        (f"arn:aws:events:{REGION}:{ALICE}:rule/nope", 400, "ResourceNotFoundException"),
        (f"arn:aws:events:{REGION}:{ALICE}:event-bus/nope", 400, "ResourceNotFoundException"),
        (f"arn:aws:events:{REGION}:{BOB}:rule/nope", 400, "AccessDeniedException"),
    ]:
        answer = wire.call("events", operation, {"ResourceARN": arn, **params})
        assert (answer.status, answer.json()["__type"]) == (status, code), (arn, answer.body)
    default_bus = f"arn:aws:events:{REGION}:{ALICE}:event-bus/default"
    answer = wire.call("events", operation, {"ResourceARN": default_bus, **params})
    assert (answer.status, answer.json()) == (
        400,
        {"__type": "ResourceNotFoundException", "message": f"Resource {default_bus} does not exist."},
    )
