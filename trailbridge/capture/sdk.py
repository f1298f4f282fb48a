"""`record_botocore`: every AWS API call a Python program makes through botocore (boto3) becomes a CloudTrail
record, built from the operation's model as trailbridge builds its own (sensitive members hidden).

    session = boto3.Session()
    record_botocore(session, ServerSink("http://127.0.0.1:4566"))
    session.client("s3").list_buckets()      # -> a ListBuckets record from s3.amazonaws.com

Hooks botocore's event system: `provide-client-params` keeps the call's parameters and start time,
`after-call` and `after-call-error` build the record. A call made to trailbridge itself is recorded by the
server already; hook only clients that talk to other endpoints (AWS, moto, LocalStack).
"""

from __future__ import annotations

import logging
import platform
import time
import uuid
from collections.abc import Mapping
from typing import Any

import botocore

from trailbridge.capture.records import DEFAULT_REDACT, redact
from trailbridge.capture.sinks import Sink
from trailbridge.trail.record import ApiCall, Caller, cloudtrail_record

log = logging.getLogger("trailbridge.capture")
_KEY = "trailbridge_capture"
_USER_AGENT = f"Botocore/{botocore.__version__} Python/{platform.python_version()}"


class BotocoreRecorder:
    """The handlers `record_botocore` registers (kept so `unregister()` can take them away)."""

    def __init__(self, events: Any, sink: Sink, redact_keys: frozenset[str], source_ip: str) -> None:
        self.events, self.sink, self.redact_keys, self.source_ip = events, sink, redact_keys, source_ip
        events.register("provide-client-params", self.started, unique_id="trailbridge-capture-start")
        events.register("before-call", self.signing, unique_id="trailbridge-capture-signer")
        events.register("after-call", self.finished, unique_id="trailbridge-capture-end")
        events.register("after-call-error", self.failed, unique_id="trailbridge-capture-error")

    def unregister(self) -> None:
        self.events.unregister("provide-client-params", unique_id="trailbridge-capture-start")
        self.events.unregister("before-call", unique_id="trailbridge-capture-signer")
        self.events.unregister("after-call", unique_id="trailbridge-capture-end")
        self.events.unregister("after-call-error", unique_id="trailbridge-capture-error")

    def started(self, params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[_KEY] = {"params": dict(params), "started": time.time()}

    def signing(self, request_signer: Any = None, context: dict[str, Any] | None = None, **_: Any) -> None:
        credentials = getattr(request_signer, "_credentials", None)
        if context is not None and _KEY in context and credentials is not None:
            context[_KEY]["access_key"] = credentials.access_key  # never the secret

    def finished(
        self, http_response: Any, parsed: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        error = parsed.get("Error") if http_response.status_code >= 300 else None
        code = (error or {}).get("Code") or (f"HTTP{http_response.status_code}" if error is not None else None)
        self._record(model, context, parsed, (code, (error or {}).get("Message", "")) if code else None)

    def failed(self, exception: BaseException, model: Any, context: dict[str, Any], **_: Any) -> None:
        self._record(model, context, None, (type(exception).__name__, str(exception)))

    def _record(
        self, model: Any, context: dict[str, Any], parsed: Mapping[str, Any] | None, error: tuple[str, str] | None
    ) -> None:
        try:
            self.sink.put(self._build(model, context, parsed, error))
        except Exception:  # the program's call must not fail because of its audit record
            log.exception("could not record a botocore call")

    def _build(
        self, model: Any, context: dict[str, Any], parsed: Mapping[str, Any] | None, error: tuple[str, str] | None
    ) -> dict[str, Any]:
        """The call's record, built as trailbridge's server builds those of the calls it answers (per-service
        sources, names, regions, data events, resources), then redacted by `redact_keys`."""
        facts = context.get(_KEY) or {"params": {}, "started": time.time()}
        access_key = facts.get("access_key")
        sink = self.sink
        identity: dict[str, Any] = {"type": "IAMUser", "principalId": access_key or "", "accountId": sink.account}
        if access_key:
            identity["accessKeyId"] = access_key
        answer = {k: v for k, v in parsed.items() if k != "ResponseMetadata"} if parsed is not None else None
        call = ApiCall(
            service=model.service_model.service_name,
            operation=model,
            params=facts["params"],
            response=answer if error is None else None,
            error_code=error[0] if error else None,
            error_message=error[1] if error else None,
            caller=Caller(sink.account, access_key or "", None, identity),
            region=context.get("client_region") or sink.region,
            source_ip=self.source_ip,
            user_agent=_USER_AGENT,
            request_id=((parsed or {}).get("ResponseMetadata") or {}).get("RequestId") or str(uuid.uuid4()),
            event_id=str(uuid.uuid4()),
            time=facts["started"],
            host="",
            tls=None,
        )
        record = cloudtrail_record(call)
        for member in ("requestParameters", "responseElements"):
            if record.get(member):
                record[member] = redact(record[member], self.redact_keys)
        return record


def record_botocore(
    session_or_client: Any,
    sink: Sink,
    *,
    redact_keys: frozenset[str] = DEFAULT_REDACT,
    source_ip: str = "127.0.0.1",
) -> BotocoreRecorder:
    """Record every call made through a botocore/boto3 session (its clients created afterwards) or one client.

    `redact_keys` hides parameter values by key in addition to the members botocore's model marks sensitive;
    `source_ip` is the address records give as the caller's. Returns the recorder (`.unregister()` stops it)."""
    events = getattr(getattr(session_or_client, "meta", None), "events", None)  # a client
    if events is None:
        core = getattr(session_or_client, "_session", session_or_client)  # a boto3 Session wraps a botocore one
        events = core.get_component("event_emitter")
    keys = frozenset(key.lower().replace("-", "").replace("_", "") for key in redact_keys)
    return BotocoreRecorder(events, sink, keys, source_ip)
