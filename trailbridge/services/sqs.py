"""The built-in queues through Amazon SQS's operations: standard and FIFO queues (the subset targets,
dead-letter queues and their readers use). SQS's wire shapes live here: the messages as ReceiveMessage answers
them and their MD5 digests.

FIFO queues as SQS documents them: a message needs its MessageGroupId, and a MessageDeduplicationId unless the
queue has ContentBasedDeduplication (the SHA-256 of the body); a duplicate within five minutes (of the queue,
or with DeduplicationScope=messageGroup of its group) is accepted, answers the original's MessageId and
SequenceNumber, and is not enqueued again. Each group's messages are received in order, none while one of
the group is in flight. ReceiveRequestAttemptId is accepted and not acted on: a retried receive gets what an
ordinary receive would. FifoThroughputLimit is stored and returned (no throughput is limited)."""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from trailbridge.delivery.queues import content_dedup_id
from trailbridge.domain.access import Access, authorize, owner_of
from trailbridge.domain.arns import queue_arn
from trailbridge.errors import AccessDeniedError, NotFoundError, TrailbridgeError
from trailbridge.services import sqs_attributes as attrs
from trailbridge.services.base import Engine, ServiceError, operation
from trailbridge.storage.ports import Received, Scope

_QUEUE_MISSING: dict[type[TrailbridgeError], str] = {NotFoundError: "QueueDoesNotExist"}
_MISSING = "The specified queue does not exist."
_ACCOUNT = re.compile(r"\d{12}")
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")

# SQS moved from the query protocol to JSON; over the wire it still names each error by its old query code
# (the `x-amzn-query-error` header), which is what boto3 shows as the error code.
QUERY_ERROR_CODES = {
    "QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
    "QueueNameExists": "QueueAlreadyExists",
    "ReceiptHandleIsInvalid": "ReceiptHandleIsInvalid",
    "InvalidAttributeName": "InvalidAttributeName",
    "InvalidAttributeValue": "InvalidAttributeValue",
    "InvalidParameterValue": "InvalidParameterValue",
    "InvalidMessageContents": "InvalidMessageContents",
    "EmptyBatchRequest": "AWS.SimpleQueueService.EmptyBatchRequest",
    "TooManyEntriesInBatchRequest": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    "BatchEntryIdsNotDistinct": "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    "InvalidBatchEntryId": "AWS.SimpleQueueService.InvalidBatchEntryId",
    "BatchRequestTooLong": "AWS.SimpleQueueService.BatchRequestTooLong",
    "AccessDenied": "AccessDenied",
    "MissingParameter": "MissingParameter",
}


def _invalid_receipt(handle: str) -> ServiceError:
    return ServiceError("ReceiptHandleIsInvalid", f'The input receipt handle "{handle}" is not a valid receipt handle.')


class QueuesService:
    def __init__(self, engine: Engine, account: str, region: str) -> None:
        self.engine, self.account, self.region = engine, account, region
        self.resources, self.messages = engine.resources, engine.queues

    @property
    def _scope(self) -> Scope:
        return Scope("queue", self.account, self.region)

    def url(self, name: str, account: str | None = None) -> str:
        return f"{self.engine.settings.endpoint_url}/{account or self.account}/{name}"

    def _queue(self, url: str, action: str) -> dict[str, Any]:
        """The queue a URL (`.../ACCOUNT/NAME`, or a bare name of the caller's) names, once the caller may do
        `action` (`sqs:ReceiveMessage`) on it: the owner may, another account where the queue's policy allows.
        Another account's queue that does not exist is refused the same way (its absence is not told)."""
        *_, owner, name = ["", *url.rstrip("/").rsplit("/", 2)]
        owner = owner if _ACCOUNT.fullmatch(owner) else self.account
        doc = self.resources.by_name(Scope("queue", owner, self.region), name)
        policy = doc["Attributes"].get("Policy") if doc is not None else None
        try:
            authorize(Access(self.account, action, queue_arn(owner, self.region, name)), policy)
        except AccessDeniedError as exc:
            raise ServiceError("AccessDenied", exc.message, 403) from None
        if doc is None:
            raise NotFoundError(_MISSING)
        return doc

    def _known_queues(self) -> set[str]:
        return {doc["Arn"] for doc in self.resources.scan(self._scope)}

    # -- queues -------------------------------------------------------------------------------

    @operation("sqs", "CreateQueue", _QUEUE_MISSING)
    def create_queue(self, **params: Any) -> dict[str, Any]:
        name, given = params["QueueName"], dict(params.get("Attributes") or {})
        fifo = attrs.creation_fifo(name, given)
        given.pop("FifoQueue", None)
        attributes = attrs.check_queue_attributes(given, self._known_queues(), fifo)
        if fifo:
            attributes["FifoQueue"] = "true"
        existing = self.resources.by_name(self._scope, name)
        if existing is not None:
            if any(existing["Attributes"].get(k) != v for k, v in attributes.items()):
                raise ServiceError(
                    "QueueNameExists",
                    "A queue already exists with the same name and a different value for attribute(s).",
                )
            return {"QueueUrl": self.url(name)}
        arn = queue_arn(self.account, self.region, name)
        now = self.engine.clock.now()
        doc = {"Name": name, "Arn": arn, "Attributes": attributes, "Tags": dict(params.get("tags") or {})}
        doc.update(CreatedTimestamp=now, LastModifiedTimestamp=now)
        self.resources.put(self._scope, name, arn, doc)
        return {"QueueUrl": self.url(name)}

    @operation("sqs", "GetQueueUrl", _QUEUE_MISSING)
    def get_queue_url(self, **params: Any) -> dict[str, Any]:
        owner = params.get("QueueOwnerAWSAccountId") or self.account
        if not _ACCOUNT.fullmatch(owner):
            raise NotFoundError(_MISSING)  # no account has that id, so no queue
        doc = self._queue(f"{owner}/{params['QueueName']}", "sqs:GetQueueUrl")
        return {"QueueUrl": self.url(doc["Name"], owner)}

    @operation("sqs", "ListQueues", _QUEUE_MISSING)
    def list_queues(self, **params: Any) -> dict[str, Any]:
        names = [doc["Name"] for doc in self.resources.scan(self._scope, params.get("QueueNamePrefix") or "")]
        return {"QueueUrls": [self.url(n) for n in names]} if names else {}

    @operation("sqs", "DeleteQueue", _QUEUE_MISSING)
    def delete_queue(self, **params: Any) -> dict[str, Any]:
        doc = self._queue(params["QueueUrl"], "sqs:DeleteQueue")
        self.messages.purge(doc["Arn"])
        self.resources.delete(doc["Arn"])
        return {}

    @operation("sqs", "PurgeQueue", _QUEUE_MISSING)
    def purge_queue(self, **params: Any) -> dict[str, Any]:
        self.messages.purge(self._queue(params["QueueUrl"], "sqs:PurgeQueue")["Arn"])
        return {}

    @operation("sqs", "GetQueueAttributes", _QUEUE_MISSING)
    def get_queue_attributes(self, **params: Any) -> dict[str, Any]:
        doc = self._queue(params["QueueUrl"], "sqs:GetQueueAttributes")
        visible, in_flight, delayed = self.messages.counts(doc["Arn"])
        defaults = {name: str(default) for name, (_, _, default) in attrs.RANGES.items()}
        attributes = defaults | {
            "QueueArn": doc["Arn"],
            "ApproximateNumberOfMessages": str(visible),
            "ApproximateNumberOfMessagesNotVisible": str(in_flight),
            "ApproximateNumberOfMessagesDelayed": str(delayed),
            "CreatedTimestamp": str(int(doc["CreatedTimestamp"])),
            "LastModifiedTimestamp": str(int(doc.get("LastModifiedTimestamp", doc["CreatedTimestamp"]))),
        }
        if attrs.is_fifo(doc["Attributes"]):
            attributes |= attrs.FIFO_DEFAULTS
        attributes |= {k: v for k, v in doc["Attributes"].items() if v != ""}
        wanted = params.get("AttributeNames") or []
        known = attrs.STORED_ONLY | attrs.FIFO_ONLY | {"FifoQueue"}  # asked of a queue that has none: left out
        unknown = [n for n in wanted if n != "All" and n not in attributes and n not in known]
        if unknown and unknown[0] != "RedrivePolicy":
            raise ServiceError("InvalidAttributeName", f"Unknown Attribute {unknown[0]}.")
        chosen = attributes if "All" in wanted else {k: v for k, v in attributes.items() if k in wanted}
        return {"Attributes": chosen} if chosen else {}

    @operation("sqs", "SetQueueAttributes", _QUEUE_MISSING)
    def set_queue_attributes(self, **params: Any) -> dict[str, Any]:
        doc = self._queue(params["QueueUrl"], "sqs:SetQueueAttributes")
        given = params["Attributes"]
        read_only = [name for name in given if name in attrs.READ_ONLY]
        if read_only:
            raise ServiceError("InvalidAttributeName", f"Unknown Attribute {read_only[0]}.")
        fifo = attrs.is_fifo(doc["Attributes"])
        doc["Attributes"] |= attrs.check_queue_attributes(given, self._known_queues(), fifo)
        doc["LastModifiedTimestamp"] = self.engine.clock.now()
        self.resources.put(Scope("queue", owner_of(doc["Arn"]), self.region), doc["Name"], doc["Arn"], doc)
        return {}

    # -- messages -----------------------------------------------------------------------------

    def _send(self, doc: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
        body, attributes = entry["MessageBody"], dict(entry.get("MessageAttributes") or {})
        attrs.check_body(body)
        attrs.check_message_attributes(attributes)
        limit = attrs.number(doc["Attributes"], "MaximumMessageSize")
        if attrs.message_size(body, attributes) > limit:
            raise attrs.invalid_parameter(
                f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes."
            )
        delay = entry.get("DelaySeconds")
        if delay is not None and not 0 <= delay <= 900:
            raise attrs.invalid_parameter(
                f"Value {delay} for parameter DelaySeconds is invalid. Reason: Must be >= 0 and <= 900."
            )
        group, dedup_id = self._ordering(doc["Attributes"], entry)
        delay = attrs.number(doc["Attributes"], "DelaySeconds") if delay is None else delay
        sent = self.messages.send(
            doc["Arn"],
            body,
            attrs.to_store(attributes),
            delay,
            group_id=group,
            dedup_id=dedup_id,
            dedup_by_group=doc["Attributes"].get("DeduplicationScope") == "messageGroup",
        )
        answer = {"MessageId": sent.message_id, "MD5OfMessageBody": md5_hex(body)}
        if attributes:
            answer["MD5OfMessageAttributes"] = md5_of_attributes(attributes)
        if sent.sequence is not None:
            answer["SequenceNumber"] = sequence_number(sent.sequence)
        return answer

    @staticmethod
    def _ordering(queue: Mapping[str, str], entry: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """A message's group and deduplication id, checked as SQS checks them for the queue's type: a FIFO
        queue needs a group, and a deduplication id unless it deduplicates by content, and takes no delay of
        the message's own; a standard queue takes a group (a fair queue's tenant) and no deduplication id."""
        group, dedup_id, delay = (
            entry.get("MessageGroupId"),
            entry.get("MessageDeduplicationId"),
            entry.get("DelaySeconds"),
        )
        for name, value in (("MessageGroupId", group), ("MessageDeduplicationId", dedup_id)):
            if value is not None:
                attrs.check_fifo_id(name, value)
        if not attrs.is_fifo(queue):
            if dedup_id is not None:
                raise attrs.not_for_queue_type("MessageDeduplicationId", dedup_id)
            return group, None
        if group is None:
            raise ServiceError("MissingParameter", "The request must contain the parameter MessageGroupId.")
        if delay:
            raise attrs.not_for_queue_type("DelaySeconds", delay)
        if dedup_id is None:
            if queue.get("ContentBasedDeduplication") != "true":
                raise attrs.invalid_parameter(
                    "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId "
                    "provided explicitly"
                )
            dedup_id = content_dedup_id(entry["MessageBody"])
        return group, dedup_id

    @operation("sqs", "SendMessage", _QUEUE_MISSING)
    def send_message(self, **params: Any) -> dict[str, Any]:
        return self._send(self._queue(params["QueueUrl"], "sqs:SendMessage"), params)

    @operation("sqs", "SendMessageBatch", _QUEUE_MISSING)
    def send_message_batch(self, **params: Any) -> dict[str, Any]:
        doc = self._queue(params["QueueUrl"], "sqs:SendMessage")
        entries = params["Entries"]
        _check_batch(entries)
        total = sum(attrs.message_size(e["MessageBody"], e.get("MessageAttributes") or {}) for e in entries)
        limit = attrs.number(doc["Attributes"], "MaximumMessageSize")
        if total > limit:
            raise ServiceError(
                "BatchRequestTooLong",
                f"Batch requests cannot be longer than {limit} bytes. You have sent {total} bytes.",
            )
        return _batch(entries, lambda entry: self._send(doc, entry))

    @operation("sqs", "ReceiveMessage", _QUEUE_MISSING)
    def receive_message(self, **params: Any) -> dict[str, Any]:
        doc = self._queue(params["QueueUrl"], "sqs:ReceiveMessage")
        limit = _bounded(params, "MaxNumberOfMessages", 1, 10, 1)
        wait = _bounded(
            params, "WaitTimeSeconds", 0, 20, attrs.number(doc["Attributes"], "ReceiveMessageWaitTimeSeconds")
        )
        timeout = params.get("VisibilityTimeout")
        if timeout is not None:
            _bounded(params, "VisibilityTimeout", 0, 43_200, 0)
        policy = attrs.receive_policy(doc["Attributes"], timeout)
        system = [*(params.get("AttributeNames") or []), *(params.get("MessageSystemAttributeNames") or [])]
        names = params.get("MessageAttributeNames") or []
        received = [_message(one, system, names) for one in self.messages.receive(doc["Arn"], limit, policy, wait)]
        if received:
            self.engine.metrics.add("NumberOfMessagesReceived", doc["Arn"], count=len(received))
        return {"Messages": received} if received else {}

    @operation("sqs", "DeleteMessage", _QUEUE_MISSING)
    def delete_message(self, **params: Any) -> dict[str, Any]:
        doc = self._queue(params["QueueUrl"], "sqs:DeleteMessage")
        if not self.messages.delete(doc["Arn"], params["ReceiptHandle"]):
            raise _invalid_receipt(params["ReceiptHandle"])
        self.engine.metrics.add("NumberOfMessagesDeleted", doc["Arn"])
        return {}

    @operation("sqs", "DeleteMessageBatch", _QUEUE_MISSING)
    def delete_message_batch(self, **params: Any) -> dict[str, Any]:
        doc = self._queue(params["QueueUrl"], "sqs:DeleteMessage")
        entries = params["Entries"]
        _check_batch(entries)

        def delete(entry: Mapping[str, Any]) -> dict[str, Any]:
            if not self.messages.delete(doc["Arn"], entry["ReceiptHandle"]):
                raise _invalid_receipt(entry["ReceiptHandle"])
            self.engine.metrics.add("NumberOfMessagesDeleted", doc["Arn"])
            return {}

        return _batch(entries, delete)

    @operation("sqs", "ChangeMessageVisibility", _QUEUE_MISSING)
    def change_message_visibility(self, **params: Any) -> dict[str, Any]:
        doc = self._queue(params["QueueUrl"], "sqs:ChangeMessageVisibility")
        timeout = _bounded(params, "VisibilityTimeout", 0, 43_200, 0)
        if not self.messages.change_visibility(doc["Arn"], params["ReceiptHandle"], timeout):
            raise _invalid_receipt(params["ReceiptHandle"])
        return {}


def _bounded(params: Mapping[str, Any], name: str, low: int, high: int, default: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    if not low <= value <= high:
        raise attrs.invalid_parameter(
            f"Value {value} for parameter {name} is invalid. Reason: Must be between {low} and {high}, if provided."
        )
    return int(value)


def _check_batch(entries: list[Mapping[str, Any]]) -> None:
    if not entries:
        raise ServiceError(
            "EmptyBatchRequest", "There should be at least one SendMessageBatchRequestEntry in the request."
        )
    if len(entries) > 10:
        raise ServiceError(
            "TooManyEntriesInBatchRequest",
            f"Maximum number of entries per request are 10. You have sent {len(entries)}.",
        )
    ids = [entry["Id"] for entry in entries]
    bad = next((i for i in ids if not _BATCH_ID.fullmatch(i)), None)
    if bad is not None:
        raise ServiceError(
            "InvalidBatchEntryId",
            "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
            "It can be at most 80 letters long.",
        )
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise ServiceError("BatchEntryIdsNotDistinct", f"Id {duplicate} repeated.")


def _batch(entries: list[Mapping[str, Any]], act: Callable[[Mapping[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """Apply `act` to each entry; AWS's Successful/Failed lists."""
    successful, failed = [], []
    for entry in entries:
        try:
            successful.append({"Id": entry["Id"], **act(entry)})
        except ServiceError as exc:
            failed.append({"Id": entry["Id"], "SenderFault": True, "Code": exc.code, "Message": exc.message})
    return {"Successful": successful, "Failed": failed}


def _message(one: Received, system: list[str], names: list[str]) -> dict[str, Any]:
    """A received message as ReceiveMessage answers it: the system attributes and message attributes asked for."""
    message: dict[str, Any] = {"MessageId": one.message_id, "ReceiptHandle": one.receipt}
    message["MD5OfBody"], message["Body"] = md5_hex(one.body), one.body
    every = {
        "SentTimestamp": str(int(one.sent * 1000)),
        "ApproximateReceiveCount": str(one.receive_count),
        "ApproximateFirstReceiveTimestamp": str(int(one.first_received * 1000)),
    }
    if one.group_id is not None:
        every["MessageGroupId"] = one.group_id
    if one.dedup_id is not None:
        every["MessageDeduplicationId"] = one.dedup_id
    if one.sequence is not None:
        every["SequenceNumber"] = sequence_number(one.sequence)
    chosen_system = {k: v for k, v in every.items() if "All" in system or k in system}
    if chosen_system:
        message["Attributes"] = chosen_system
    chosen = attrs.from_store(orjson.loads(one.attributes), names)
    if chosen:
        message["MessageAttributes"] = chosen
        message["MD5OfMessageAttributes"] = md5_of_attributes(chosen)
    return message


def sequence_number(sequence: int) -> str:
    """A FIFO message's SequenceNumber as SQS writes it: a decimal of 20 digits (zero-padded)."""
    return f"{sequence:020d}"


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def md5_of_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """SQS's MD5OfMessageAttributes: per attribute, sorted by name, length-prefixed name, data type,
    a transport byte (1 text, 2 binary) and length-prefixed value."""
    digest = hashlib.md5(usedforsecurity=False)

    def field(data: bytes) -> None:
        digest.update(struct.pack(">I", len(data)) + data)

    for name in sorted(attributes):
        attribute = attributes[name]
        field(name.encode())
        field(attribute["DataType"].encode())
        if "BinaryValue" in attribute and attribute["BinaryValue"] is not None:
            digest.update(b"\x02")
            value = attribute["BinaryValue"]
            field(value if isinstance(value, bytes) else str(value).encode())
        else:
            digest.update(b"\x01")
            field(str(attribute.get("StringValue", "")).encode())
    return digest.hexdigest()
