"""The built-in queues through Amazon SQS's operations (the subset queues need as targets and DLQs)."""

from __future__ import annotations

from typing import Any

from trailbridge.delivery.queues import DEFAULT_VISIBILITY_TIMEOUT, md5_hex
from trailbridge.domain.arns import queue_arn
from trailbridge.errors import NotFoundError, TrailbridgeError
from trailbridge.services.base import Engine, ServiceError, operation
from trailbridge.storage.resources import Scope

_QUEUE_MISSING: dict[type[TrailbridgeError], str] = {NotFoundError: "QueueDoesNotExist"}
_MISSING = "The specified queue does not exist."


class ReceiptHandleError(TrailbridgeError):
    """A receipt handle that names no received message."""


class QueuesService:
    def __init__(self, engine: Engine, account: str, region: str) -> None:
        self.engine, self.account, self.region = engine, account, region
        self.resources, self.messages = engine.resources, engine.queues

    @property
    def _scope(self) -> Scope:
        return Scope("queue", self.account, self.region)

    def url(self, name: str) -> str:
        return f"{self.engine.settings.public_url.rstrip('/')}/{self.account}/{name}"

    def _queue(self, url: str) -> dict[str, Any]:
        name = url.rstrip("/").rsplit("/", 1)[-1]
        doc = self.resources.by_name(self._scope, name)
        if doc is None:
            raise NotFoundError(_MISSING)
        return doc

    @operation("sqs", "CreateQueue", _QUEUE_MISSING)
    def create_queue(self, **params: Any) -> dict[str, Any]:
        name = params["QueueName"]
        attributes = dict(params.get("Attributes") or {})
        existing = self.resources.by_name(self._scope, name)
        if existing is not None:
            if attributes and attributes != existing["Attributes"]:
                raise ServiceError(
                    "QueueNameExists",
                    "A queue already exists with the same name and a different value for attribute(s).",
                )
            return {"QueueUrl": self.url(name)}
        arn = queue_arn(self.account, self.region, name)
        doc = {"Name": name, "Arn": arn, "Attributes": attributes, "Tags": dict(params.get("tags") or {})}
        doc["CreatedTimestamp"] = self.engine.clock.now()
        self.resources.put(self._scope, name, arn, doc)
        return {"QueueUrl": self.url(name)}

    @operation("sqs", "GetQueueUrl", _QUEUE_MISSING)
    def get_queue_url(self, **params: Any) -> dict[str, Any]:
        return {"QueueUrl": self.url(self._queue(params["QueueName"])["Name"])}

    @operation("sqs", "ListQueues", _QUEUE_MISSING)
    def list_queues(self, **params: Any) -> dict[str, Any]:
        names = [doc["Name"] for doc in self.resources.scan(self._scope, params.get("QueueNamePrefix") or "")]
        return {"QueueUrls": [self.url(n) for n in names]} if names else {}

    @operation("sqs", "DeleteQueue", _QUEUE_MISSING)
    def delete_queue(self, **params: Any) -> dict[str, Any]:
        doc = self._queue(params["QueueUrl"])
        self.messages.purge(doc["Arn"])
        self.resources.delete(doc["Arn"])
        return {}

    @operation("sqs", "PurgeQueue", _QUEUE_MISSING)
    def purge_queue(self, **params: Any) -> dict[str, Any]:
        self.messages.purge(self._queue(params["QueueUrl"])["Arn"])
        return {}

    @operation("sqs", "GetQueueAttributes", _QUEUE_MISSING)
    def get_queue_attributes(self, **params: Any) -> dict[str, Any]:
        doc = self._queue(params["QueueUrl"])
        total, invisible = self.messages.counts(doc["Arn"])
        attributes = {
            "QueueArn": doc["Arn"],
            "VisibilityTimeout": str(DEFAULT_VISIBILITY_TIMEOUT),
            "ApproximateNumberOfMessages": str(total - invisible),
            "ApproximateNumberOfMessagesNotVisible": str(invisible),
            "CreatedTimestamp": str(int(doc["CreatedTimestamp"])),
        } | doc["Attributes"]
        wanted = params.get("AttributeNames") or ["All"]
        return {"Attributes": attributes if "All" in wanted else {k: v for k, v in attributes.items() if k in wanted}}

    @operation("sqs", "SendMessage", _QUEUE_MISSING)
    def send_message(self, **params: Any) -> dict[str, Any]:
        doc = self._queue(params["QueueUrl"])
        body = params["MessageBody"]
        message_id = self.messages.send(doc["Arn"], body, params.get("MessageAttributes"))
        return {"MessageId": message_id, "MD5OfMessageBody": md5_hex(body)}

    @operation("sqs", "ReceiveMessage", _QUEUE_MISSING)
    def receive_message(self, **params: Any) -> dict[str, Any]:
        doc = self._queue(params["QueueUrl"])
        default = float(doc["Attributes"].get("VisibilityTimeout", DEFAULT_VISIBILITY_TIMEOUT))
        timeout = params.get("VisibilityTimeout")
        limit = params.get("MaxNumberOfMessages") or 1
        if not 1 <= limit <= 10:
            raise ServiceError(
                "InvalidParameterValue",
                f"Value {limit} for parameter MaxNumberOfMessages is invalid. "
                "Reason: Must be between 1 and 10, if provided.",
            )
        received = self.messages.receive(doc["Arn"], limit, default if timeout is None else float(timeout))
        return {"Messages": received} if received else {}

    @operation("sqs", "DeleteMessage", _QUEUE_MISSING)
    def delete_message(self, **params: Any) -> dict[str, Any]:
        doc = self._queue(params["QueueUrl"])
        if not self.messages.delete(doc["Arn"], params["ReceiptHandle"]):
            raise ServiceError(
                "ReceiptHandleIsInvalid",
                f'The input receipt handle "{params["ReceiptHandle"]}" is not a valid receipt handle.',
            )
        return {}

    @operation("sqs", "ChangeMessageVisibility", _QUEUE_MISSING)
    def change_message_visibility(self, **params: Any) -> dict[str, Any]:
        doc = self._queue(params["QueueUrl"])
        if not self.messages.change_visibility(doc["Arn"], params["ReceiptHandle"], params["VisibilityTimeout"]):
            raise ServiceError(
                "ReceiptHandleIsInvalid",
                f'The input receipt handle "{params["ReceiptHandle"]}" is not a valid receipt handle.',
            )
        return {}
