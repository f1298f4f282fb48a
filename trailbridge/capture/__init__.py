"""Capture API calls made anywhere as CloudTrail records: your own web services (ASGI and WSGI middleware)
and the AWS SDK (botocore). Records go to a trailbridge server (`ServerSink`) or straight into a local
engine (`LocalSink`), and from there into the same pipeline as calls to trailbridge's own API.

    from trailbridge.capture import AuditMiddleware, ServerSink

    app = AuditMiddleware(app, ServerSink("http://127.0.0.1:4566"), event_source="orders.example.com")
"""

from trailbridge.capture.asgi import AuditMiddleware
from trailbridge.capture.records import DEFAULT_REDACT, CapturedRequest, default_identity
from trailbridge.capture.sdk import record_botocore
from trailbridge.capture.sinks import LocalSink, ServerSink, Sink
from trailbridge.capture.wsgi import WSGIAuditMiddleware

__all__ = [
    "DEFAULT_REDACT",
    "AuditMiddleware",
    "CapturedRequest",
    "LocalSink",
    "ServerSink",
    "Sink",
    "WSGIAuditMiddleware",
    "default_identity",
    "record_botocore",
]
