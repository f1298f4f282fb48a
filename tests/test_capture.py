"""trailbridge.capture: the ASGI middleware on real Starlette and FastAPI apps and the WSGI middleware on a real
Flask app, each served over HTTP (uvicorn, werkzeug); the server and local sinks, the spool when the server
is away; the botocore hook against moto's server."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
import uvicorn
from fastapi import FastAPI, HTTPException
from flask import Flask, jsonify, request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from werkzeug.serving import make_server

from tests.conftest import wait_for
from tests.support.server import Server, free_port
from trailbridge.capture import (
    AuditMiddleware,
    CapturedRequest,
    LocalSink,
    ServerSink,
    WSGIAuditMiddleware,
    default_identity,
    record_botocore,
)
from trailbridge.runtime import Trailbridge

SOURCE = "orders.example.com"


def basic(user: str, password: str = "s3cret!") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def call(url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    sent = {"Content-Type": "application/json"} if data else {}
    req = urllib.request.Request(url, data=data, method=method, headers={**sent, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def serve_wsgi(app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def lookup(server: Server, account: str, count: int) -> dict[str, dict[str, Any]]:
    """The account's records from SOURCE by eventName (waits for `count` of them)."""
    trail = server.client("cloudtrail", account)
    found: dict[str, dict[str, Any]] = {}

    def enough() -> bool:
        found.clear()
        attribute = [{"AttributeKey": "EventSource", "AttributeValue": SOURCE}]
        for event in trail.lookup_events(LookupAttributes=attribute)["Events"]:
            record = json.loads(event["CloudTrailEvent"])
            found[record["eventName"]] = record
        return len(found) >= count

    try:
        wait_for(enough, timeout=10)
    except AssertionError:
        raise AssertionError(f"only {sorted(found)} of {count} records arrived") from None
    return found


class Boom(RuntimeError):
    pass


def starlette_app() -> Starlette:
    async def delete_order(req: Request) -> JSONResponse:
        return JSONResponse({"deleted": req.path_params["order_id"]})

    async def create_order(req: Request) -> JSONResponse:
        body = await req.json()
        return JSONResponse({"orderId": "o-1", "item": body["item"], "token": "abc"}, status_code=201)

    async def get_order(req: Request) -> JSONResponse:
        return JSONResponse({"id": req.path_params["order_id"]})

    async def explode(req: Request) -> JSONResponse:
        raise Boom("the oven caught fire")

    async def missing(req: Request) -> JSONResponse:
        return JSONResponse({"message": "no such order"}, status_code=404)

    return Starlette(
        routes=[
            Route("/orders/{order_id}", delete_order, methods=["DELETE"]),
            Route("/orders/{order_id}", get_order, methods=["GET"]),
            Route("/orders", create_order, methods=["POST"]),
            Route("/explode", explode, methods=["POST"]),
            Route("/missing/{order_id}", missing, methods=["GET"]),
        ]
    )


def test_starlette_requests_become_records(server: Server, account: str) -> None:
    sink = ServerSink(server.url, access_key=account, flush_seconds=0.05)
    app = AuditMiddleware(
        starlette_app(),
        sink,
        event_source=SOURCE,
        event_names={"GET /missing/{order_id}": "LookForOrder"},
        proxy_header="X-Forwarded-For",
    )
    with serve_asgi(app) as url:
        assert call(f"{url}/orders/17?reason=dup&tag=a&tag=b", "DELETE", headers={"Authorization": basic("bob")}) == 200
        body = {"item": "tea", "password": "hunter2", "card": {"cvv": "123"}}
        assert call(f"{url}/orders", "POST", body, {"X-Forwarded-For": "198.51.100.7, 203.0.113.5"}) == 201
        assert call(f"{url}/orders/17", headers={"User-Agent": "curl/8"}) == 200
        assert call(f"{url}/explode", "POST", {}) == 500
        assert call(f"{url}/missing/9") == 404
    records = lookup(server, account, 5)  # the sink delivers on its own, within flush_seconds
    sink.close()
    delete = records["DeleteOrder"]
    assert delete["userIdentity"] == {
        "type": "BasicAuth",
        "principalId": "bob",
        "userName": "bob",
        "accountId": account,
    }
    assert "s3cret" not in json.dumps(delete)
    assert delete["requestParameters"] == {"order_id": "17", "reason": "dup", "tag": ["a", "b"]}
    assert delete["responseElements"] == {"deleted": "17"}
    assert (delete["readOnly"], delete["eventSource"], delete["recipientAccountId"]) == (False, SOURCE, account)
    assert delete["sourceIPAddress"] == "127.0.0.1"
    create = records["CreateOrder"]
    assert create["requestParameters"] == {
        "item": "tea",
        "password": "HIDDEN_DUE_TO_SECURITY_REASONS",
        "card": {"cvv": "HIDDEN_DUE_TO_SECURITY_REASONS"},
    }
    assert create["responseElements"] == {"orderId": "o-1", "item": "tea", "token": "HIDDEN_DUE_TO_SECURITY_REASONS"}
    assert create["sourceIPAddress"] == "203.0.113.5"  # the address the trusted proxy appended
    assert create["userIdentity"]["type"] == "Anonymous"
    get = records["GetOrder"]
    assert (get["readOnly"], get["responseElements"], get["userAgent"]) == (True, None, "curl/8")
    failed = records["Explode"]
    assert (failed["errorCode"], failed["errorMessage"]) == ("Boom", "the oven caught fire")
    assert failed["additionalEventData"]["status"] == 500
    missing = records["LookForOrder"]
    assert (missing["errorCode"], missing["errorMessage"]) == ("NotFound", "no such order")
    assert missing["responseElements"] is None
    assert len({r["eventID"] for r in records.values()}) == 5


def test_fastapi_handler_names_and_identity_callable(server: Server, account: str) -> None:
    api = FastAPI()

    @api.put("/orders/{order_id}/items/{item}")
    async def add_item(order_id: int, item: str, qty: int = 1) -> dict[str, Any]:
        return {"orderId": order_id, "item": item, "qty": qty}

    @api.delete("/orders/{order_id}")
    async def cancel_order(order_id: int) -> dict[str, Any]:
        raise HTTPException(status_code=403, detail="orders are final")

    def who(req: CapturedRequest) -> dict[str, Any]:
        return {"type": "Employee", "principalId": req.headers.get("x-employee", "?"), "userName": "carol"}

    sink = ServerSink(server.url, access_key=account, flush_seconds=0.05)
    app = AuditMiddleware(api, sink, event_source=SOURCE, identity=who)
    with serve_asgi(app) as url:
        assert call(f"{url}/orders/5/items/tea?qty=3", "PUT", headers={"X-Employee": "e-42"}) == 200
        assert call(f"{url}/orders/5", "DELETE") == 403
    records = lookup(server, account, 2)  # the sink delivers on its own, within flush_seconds
    sink.close()
    added = records["AddItem"]
    assert added["requestParameters"] == {"order_id": "5", "item": "tea", "qty": "3"}  # as they came, in text
    assert added["responseElements"] == {"orderId": 5, "item": "tea", "qty": 3}
    assert added["userIdentity"] == {
        "type": "Employee",
        "principalId": "e-42",
        "userName": "carol",
        "accountId": account,
    }
    cancelled = records["CancelOrder"]
    assert (cancelled["errorCode"], cancelled["errorMessage"]) == ("Forbidden", "orders are final")


def test_flask_requests_become_records(server: Server, account: str) -> None:
    flask_app = Flask("orders")

    @flask_app.post("/orders/<int:order_id>/refund")
    def refund_order(order_id: int) -> Any:
        return jsonify({"refunded": order_id, "amount": request.get_json()["amount"]})

    @flask_app.get("/orders")
    def list_orders() -> Any:
        return jsonify([])

    @flask_app.post("/crash")
    def crash() -> Any:
        raise Boom("flask boom")

    sink = ServerSink(server.url, access_key=account, flush_seconds=0.05)
    flask_app.wsgi_app = WSGIAuditMiddleware(flask_app.wsgi_app, sink, event_source=SOURCE)  # type: ignore[method-assign]
    token = (
        "e30."
        + base64.urlsafe_b64encode(json.dumps({"sub": "u-7", "email": "dan@example.com"}).encode()).decode().rstrip("=")
        + ".sig"
    )
    with serve_wsgi(flask_app) as url:
        assert (
            call(f"{url}/orders/12/refund", "POST", {"amount": 5, "apiKey": "k"}, {"Authorization": f"Bearer {token}"})
            == 200
        )
        assert call(f"{url}/orders?page=2") == 200
        assert call(f"{url}/crash", "POST", {}) == 500
    records = lookup(server, account, 3)  # the sink delivers on its own, within flush_seconds
    sink.close()
    refund = records["RefundOrder"]
    assert refund["requestParameters"] == {"order_id": 12, "amount": 5, "apiKey": "HIDDEN_DUE_TO_SECURITY_REASONS"}
    assert refund["responseElements"] == {"refunded": 12, "amount": 5}
    assert refund["userIdentity"] == {
        "type": "JWT",
        "principalId": "u-7",
        "userName": "dan@example.com",
        "accountId": account,
    }
    assert token not in json.dumps(refund)
    listed = records["ListOrders"]
    assert (listed["readOnly"], listed["requestParameters"]) == (True, {"page": "2"})
    crashed = records["Crash"]
    assert crashed["errorCode"] == "InternalServerError" and crashed["additionalEventData"]["status"] == 500


def test_records_spool_while_the_server_is_away_and_none_are_lost(account: str, tmp_path: Path) -> None:
    port = free_port()
    spool = tmp_path / "spool.jsonl"
    sink = ServerSink(f"http://127.0.0.1:{port}", access_key=account, spool=spool, retry_seconds=0, buffer_size=2)
    app = AuditMiddleware(starlette_app(), sink, event_source=SOURCE)
    with serve_asgi(app) as url:
        for order in range(6):  # the buffer holds 2: the rest spill to the spool; no request fails or waits
            assert call(f"{url}/orders/{order}", "DELETE") == 200
    sink.flush()
    sending = Path(f"{spool}.sending")  # the part the sink tried to send
    lines = [line for path in (sending, spool) if path.exists() for line in path.read_text().splitlines()]
    kinds = [line.split("\t", 1)[0] for line in lines]
    summaries = [json.loads(line.split("\t", 1)[1]) for line in lines]
    assert kinds == ["request"] * 6 and {(s["name"], s["method"]) for s in summaries} == {("DeleteOrder", "DELETE")}
    process = Server(port=port)
    try:
        sink.close()  # the server is back: the spool is sent first
        assert not sending.exists() and (not spool.exists() or spool.read_text() == "")
        trail = process.client("cloudtrail", account)
        names = [{"AttributeKey": "EventName", "AttributeValue": "DeleteOrder"}]
        wait_for(lambda: len(trail.lookup_events(LookupAttributes=names)["Events"]) == 6)
    finally:
        process.stop()


def test_local_sink_records_into_an_engine() -> None:
    with Trailbridge(None) as tb:
        sink = LocalSink(tb, flush_seconds=0.05)
        app = AuditMiddleware(starlette_app(), sink, event_source=SOURCE)
        with serve_asgi(app) as url:
            assert call(f"{url}/orders/3", "DELETE", headers={"Authorization": basic("erin")}) == 200
        sink.close()
        wait_for(lambda: tb.cloudtrail().lookup_events()["Events"])
        record = json.loads(tb.cloudtrail().lookup_events()["Events"][0]["CloudTrailEvent"])
        assert (record["eventName"], record["userIdentity"]["userName"]) == ("DeleteOrder", "erin")


def test_middleware_options_are_checked() -> None:
    with Trailbridge(None) as tb, LocalSink(tb) as sink:
        with pytest.raises(ValueError, match="event_source"):
            AuditMiddleware(starlette_app(), sink, event_source="")
        with pytest.raises(TypeError):
            AuditMiddleware(starlette_app(), sink, event_source=SOURCE, unknown=True)
    with pytest.raises(ValueError, match="endpoint_url"):
        ServerSink("localhost:4566")


def test_botocore_calls_become_records(s3_endpoint: str) -> None:
    session = boto3.Session(
        aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="never-recorded", region_name="eu-west-1"
    )
    with Trailbridge(None) as tb:
        sink = LocalSink(tb, region="eu-west-1", flush_seconds=0.05)
        recorder = record_botocore(session, sink)
        s3, iam = session.client("s3", endpoint_url=s3_endpoint), session.client("iam", endpoint_url=s3_endpoint)
        s3.create_bucket(Bucket="captured", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.list_buckets()
        with pytest.raises(s3.exceptions.NoSuchKey):
            s3.get_object(Bucket="captured", Key="nothing")
        iam.create_user(UserName="frank")
        iam.create_login_profile(UserName="frank", Password="Correct-Horse-9")
        recorder.unregister()
        s3.list_buckets()  # not recorded any more
        sink.close()
        found: dict[str, dict[str, Any]] = {}

        def recorded() -> bool:  # IAM's calls are recorded in us-east-1, as CloudTrail records a global service's
            for region in ("eu-west-1", "us-east-1"):
                for event in tb.cloudtrail(region=region).lookup_events()["Events"]:
                    found.setdefault(event["EventName"], json.loads(event["CloudTrailEvent"]))
            return len(found) >= 4

        wait_for(recorded)
        # GetObject is a data event: recorded for trails that select it, never kept for LookupEvents
        assert set(found) == {"CreateBucket", "ListBuckets", "CreateUser", "CreateLoginProfile"}
        created = found["CreateBucket"]
        assert (created["eventSource"], created["awsRegion"], created["readOnly"]) == (
            "s3.amazonaws.com",
            "eu-west-1",
            False,
        )
        assert created["requestParameters"]["bucketName"] == "captured"  # S3's own names, as the server writes
        assert created["userIdentity"]["accessKeyId"] == "AKIAEXAMPLE"
        assert found["CreateUser"]["awsRegion"] == "us-east-1"
        profile = found["CreateLoginProfile"]
        assert profile["requestParameters"]["userName"] == "frank" and "password" not in profile["requestParameters"]
        assert found["CreateUser"]["responseElements"]["user"]["userName"] == "frank"
        assert "never-recorded" not in json.dumps(found) and "Correct-Horse-9" not in json.dumps(found)
        assert found["ListBuckets"]["responseElements"] is None


def test_wsgi_records_a_response_whose_server_never_calls_close() -> None:
    """Some servers skip close() when the client has gone: the record is made when the body is sent."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"ok": true}']

    with Trailbridge(None) as tb:
        sink = LocalSink(tb, flush_seconds=0.05)
        audited = WSGIAuditMiddleware(app, sink, event_source=SOURCE)
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/health", "QUERY_STRING": "", "REMOTE_ADDR": "10.0.0.9"}
        assert b"".join(audited(environ, lambda status, headers: None)) == b'{"ok": true}'  # no close()
        sink.close()
        wait_for(lambda: tb.cloudtrail().lookup_events()["Events"])
        record = json.loads(tb.cloudtrail().lookup_events()["Events"][0]["CloudTrailEvent"])
        assert (record["eventName"], record["sourceIPAddress"]) == ("GET /health", "10.0.0.9")


def test_default_identity_never_keeps_the_secret() -> None:
    def of(header: str) -> dict[str, Any]:
        return default_identity(CapturedRequest("GET", "/", "", [(b"authorization", header.encode())], None))

    assert of(basic("gina", "pa:ss")) == {"type": "BasicAuth", "principalId": "gina", "userName": "gina"}
    claims = base64.urlsafe_b64encode(json.dumps({"sub": "u-1", "iss": "https://idp"}).encode()).decode().rstrip("=")
    assert of(f"Bearer e30.{claims}.sig") == {"type": "JWT", "principalId": "u-1", "issuer": "https://idp"}
    opaque = of("Bearer s3cr3t-token")
    assert opaque["type"] == "BearerToken" and "s3cr3t" not in json.dumps(opaque)
    sigv4 = of("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/s3/aws4_request, Signature=abc")
    assert sigv4 == {"type": "IAMUser", "principalId": "AKIDEXAMPLE", "accessKeyId": "AKIDEXAMPLE"}
    assert default_identity(CapturedRequest("GET", "/", "", [], None)) == {
        "type": "Anonymous",
        "principalId": "anonymous",
    }


def test_the_records_endpoint_refuses_bad_input_clearly(server: Server, account: str) -> None:
    scope = f"{account}/20260101/us-east-1/cloudtrail/aws4_request"
    auth = {"Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=unsigned"}

    def post(body: bytes) -> tuple[int, dict[str, Any]]:
        answer = server.http.request("POST", server.url + "/_trailbridge/records", body=body, headers=auth)
        return answer.status, json.loads(answer.data)

    for bad in (b"not json", b"[]", b'{"Records": {}}'):
        status, answer = post(bad)
        assert (status, answer["__type"]) == (400, "SerializationException") and "Records" in answer["message"]
    status, answer = post(json.dumps({"Requests": [{"time": "x"}, 7], "Records": [{"eventName": "X"}]}).encode())
    assert status == 200 and answer["accepted"] == 0
    assert [r["index"] for r in answer["rejected"]] == [0, 1, 2]


def test_importing_the_capture_package_loads_no_engine() -> None:
    """The middleware users embed pulls in what it needs: no store, no bus, no botocore models, no SQLite."""
    script = (
        "import sys, trailbridge.capture; "
        "print(sorted(m for m in sys.modules if m.startswith(('trailbridge.storage', 'trailbridge.bus', "
        "'trailbridge.delivery', 'trailbridge.runtime', 'trailbridge.services', 'botocore.model', 'sqlite3'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
