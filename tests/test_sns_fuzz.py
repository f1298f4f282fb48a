"""Every SNS operation trailbridge serves, fuzzed over the wire as botocore's query serializer writes it:
whatever the values, the answer is below 500. Values come from botocore's input shapes, mixed with the
names, ARNs and documents an SNS call is most often given (a topic and a queue that exist, protocols,
attribute names, filter policies), so the operations get past their first checks. Hypothesis runs
derandomized and without an example database, so every run sees the same inputs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FAST
from tests.support.asgi import AsgiClient, asgi_client
from tests.support.sns import signed
from trailbridge.aws.validate import operation
from trailbridge.runtime import Trailbridge
from trailbridge.services.operations import handlers

ACCOUNT, REGION = FAST.default_account, FAST.default_region
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:fuzz"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:fuzz"
_LIKELY = st.sampled_from(
    [
        TOPIC,
        TOPIC + ":00000000-0000-4000-8000-000000000000",
        QUEUE,
        "fuzz.fifo",
        "sqs",
        "http",
        "email",
        "sms",
        "json",
        "true",
        "RawMessageDelivery",
        "FilterPolicy",
        "FilterPolicyScope",
        "MessageBody",
        "DisplayName",
        "Policy",
        "String",
        "Number",
        "Binary",
        "String.Array",
        '{"default": "x"}',
        '{"kind": [{"prefix": "a"}]}',
        '{"Statement": []}',
        "",
    ]
)
_OPERATIONS = sorted(handlers("sns"))


def _value(shape: Shape, depth: int = 0) -> st.SearchStrategy[Any]:
    if isinstance(shape, StructureShape):
        required = set(shape.required_members)
        members = {n: _value(m, depth + 1) for n, m in shape.members.items() if depth < 4 or n in required}
        return st.fixed_dictionaries(
            {n: s for n, s in members.items() if n in required},
            optional={n: s for n, s in members.items() if n not in required},
        )
    if isinstance(shape, ListShape):
        return st.lists(_value(shape.member, depth + 1), max_size=3)
    if isinstance(shape, MapShape):
        return st.dictionaries(_value(shape.key, depth + 1), _value(shape.value, depth + 1), max_size=3)
    kind = shape.type_name
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "long"):
        return st.integers(-5, 5)
    if kind == "blob":
        return st.binary(max_size=8)
    return _LIKELY | st.text(max_size=12)


@pytest.fixture(scope="module")
def client() -> Iterator[AsgiClient]:
    with Trailbridge(None, FAST) as tb:
        tb.engine = signed(tb)
        with asgi_client(tb) as client:
            yield client


@pytest.mark.parametrize("name", _OPERATIONS)
def test_every_sns_operation_answers_below_500(client: AsgiClient, name: str) -> None:
    model = operation("sns", name)
    serializer = create_serializer("query", include_validation=False)  # invalid values reach the server too
    client.post("/", "", {"content-type": "application/x-www-form-urlencoded"}, b"Action=CreateTopic&Name=fuzz")
    client.call("sqs", "CreateQueue", {"QueueName": "fuzz"})

    @settings(max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(params=_value(model.input_shape) if model.input_shape is not None else st.just({}))
    def run(params: dict[str, Any]) -> None:
        request = serializer.serialize_to_request(params, model)
        body = urlencode(request["body"]).encode()
        answer = client.post("/", "", {"content-type": "application/x-www-form-urlencoded"}, body)
        assert answer.status < 500 or b"NotImplemented" in answer.body, f"{name}: {answer.body[:400]!r}"

    run()
