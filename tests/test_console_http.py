"""The console without a browser: its session cookies and CSRF tokens, and its routes on a real `trailbridge serve`
(redirects, static files, the API proxy's refusals, S3 calls on a bucket named `console`)."""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3

from tests.support.server import Server
from trailbridge.console.sessions import COOKIE, SESSION_SECONDS, SessionSigner
from trailbridge.console.throttle import MAX_FAILURES, WINDOW_SECONDS, SignInThrottle


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_cookie_names_its_session_until_it_expires_or_is_revoked() -> None:
    clock = FakeClock()
    signer = SessionSigner(clock)
    session = signer.new("AKIDEXAMPLE")
    cookie = signer.cookie(session)
    assert signer.session(cookie) == session
    clock.now += SESSION_SECONDS - 1
    assert signer.session(cookie) == session
    clock.now += 1
    assert signer.session(cookie) is None
    fresh = signer.new("AKIDEXAMPLE")
    signer.revoke(fresh)
    assert signer.session(signer.cookie(fresh)) is None


def test_a_forged_or_altered_cookie_names_no_session() -> None:
    signer = SessionSigner()
    cookie = signer.cookie(signer.new(""))
    body, mac = cookie.split(".")
    fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**fields, "key": "AKIDOTHER"}).encode()).decode().rstrip("=")
    for bad in (f"{forged}.{mac}", f"{body}.{'0' * 64}", body, "", "x.y", cookie + "0"):
        assert signer.session(bad) is None, bad
    assert SessionSigner().session(cookie) is None  # another process's key


def test_a_csrf_token_is_its_session_own() -> None:
    signer = SessionSigner()
    one, two = signer.new(), signer.new()
    assert signer.csrf_ok(one, signer.csrf_token(one))
    assert not signer.csrf_ok(one, signer.csrf_token(two))
    assert not signer.csrf_ok(one, "")
    assert not signer.csrf_ok(one, None)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    process = Server()
    yield process
    process.stop()


def _get(server: Server, path: str, **kwargs: object) -> urllib3.BaseHTTPResponse:
    return server.http.request("GET", server.url + path, redirect=False, retries=False, **kwargs)  # type: ignore[arg-type]


def _session(server: Server) -> tuple[str, str]:
    """A console session's cookie header and CSRF token, from its page."""
    page = _get(server, "/console/")
    cookie = page.headers["set-cookie"].split(";")[0]
    token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.data.decode())
    assert token is not None
    return cookie, token.group(1)


def test_the_root_and_console_redirect_to_the_console_page(server: Server) -> None:
    for path in ("/", "/console"):
        answer = _get(server, path)
        assert (answer.status, answer.headers["location"]) == (302, "/console/")
    page = _get(server, "/console/")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie


def test_the_static_files_ship_in_the_package(server: Server) -> None:
    script = _get(server, "/console/static/console.js")
    assert script.status == 200 and "javascript" in script.headers["content-type"]
    assert b"/console/api/" in script.data
    assert _get(server, "/console/static/console.css").headers["content-type"].startswith("text/css")
    assert _get(server, "/console/static/index.html").status != 200  # a template, not a file served as it is


def test_a_console_call_needs_the_session_and_its_csrf_token(server: Server) -> None:
    cookie, token = _session(server)
    list_rules = {"X-Amz-Target": "AWSEvents.ListRules"}
    url = server.url + "/console/api/events"
    for headers in (list_rules, {**list_rules, "Cookie": cookie}, {**list_rules, "X-CSRF-Token": token}):
        refused = server.http.request("POST", url, body=b"{}", headers=headers, retries=False)
        assert refused.status == 403, headers
        assert json.loads(refused.data)["__type"] == "InvalidCsrfToken"
    other_cookie, _ = _session(server)
    stolen = server.http.request(
        "POST", url, body=b"{}", headers={**list_rules, "Cookie": other_cookie, "X-CSRF-Token": token}, retries=False
    )
    assert stolen.status == 403
    answer = server.http.request(
        "POST", url, body=b"{}", headers={**list_rules, "Cookie": cookie, "X-CSRF-Token": token}, retries=False
    )
    assert (answer.status, json.loads(answer.data)) == (200, {"Rules": []})


@pytest.mark.parametrize(
    ("service", "message"),
    [("s3", "not a JSON-protocol service: call it by operation name"), ("no-such-service", "is not a service")],
)
def test_the_target_route_calls_json_protocol_services_only(server: Server, service: str, message: str) -> None:
    cookie, token = _session(server)
    answer = server.http.request(
        "POST",
        f"{server.url}/console/api/{service}",
        body=b"{}",
        headers={"Cookie": cookie, "X-CSRF-Token": token, "X-Amz-Target": "X.Y"},
        retries=False,
    )
    assert answer.status == 400
    assert message in json.loads(answer.data)["message"]


def test_a_bucket_named_console_is_still_s3s(server: Server) -> None:
    s3 = server.client("s3", s3={"addressing_style": "path"})
    s3.create_bucket(Bucket="console")
    s3.put_object(Bucket="console", Key="static/console.js", Body=b"the bucket's own")
    assert s3.get_object(Bucket="console", Key="static/console.js")["Body"].read() == b"the bucket's own"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="console")["Contents"]] == ["static/console.js"]
    for key in ("login", "logout", "api/events", "sandbox/test"):  # POST routes of the console: multipart uploads
        upload = s3.create_multipart_upload(Bucket="console", Key=key)["UploadId"]
        etag = s3.upload_part(Bucket="console", Key=key, UploadId=upload, PartNumber=1, Body=b"part")["ETag"]
        parts = {"Parts": [{"ETag": etag, "PartNumber": 1}]}
        s3.complete_multipart_upload(Bucket="console", Key=key, UploadId=upload, MultipartUpload=parts)
        assert s3.get_object(Bucket="console", Key=key)["Body"].read() == b"part"


def test_under_auth_the_pages_need_a_signed_in_session(tmp_path_factory: pytest.TempPathFactory) -> None:
    credentials = tmp_path_factory.mktemp("console") / "credentials"
    credentials.write_text("[a]\naws_access_key_id = AKIDA\naws_secret_access_key = a-secret\n")
    server = Server("--auth", "--credentials", str(credentials))
    try:
        assert _get(server, "/console/").headers["location"] == "/console/login"
        login = _get(server, "/console/login")
        cookie = login.headers["set-cookie"].split(";")[0]
        form = "access_key_id=AKIDA&secret_access_key=a-secret"
        headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
        refused = server.http.request("POST", server.url + "/console/login", body=form, headers=headers, retries=False)
        assert refused.status == 403  # no CSRF token: a page elsewhere cannot sign the browser in
        anonymous = server.http.request(
            "POST",
            server.url + "/console/api/events",
            body=b"{}",
            headers={"Cookie": cookie, "X-Amz-Target": "AWSEvents.ListRules", "X-CSRF-Token": _token(login)},
            retries=False,
        )
        assert anonymous.status == 401  # a session that has not signed in acts as nobody
    finally:
        server.stop()
    assert "a-secret" not in server.output


def _token(page: urllib3.BaseHTTPResponse) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.data.decode())
    assert found is not None
    return found.group(1)


def test_the_login_page_redirects_without_auth(server: Server) -> None:
    assert _get(server, "/console/login").headers["location"] == "/console/"
    assert COOKIE in _get(server, "/console/").headers["set-cookie"]


def _sandbox(server: Server, route: str, body: bytes, token: bool = True) -> urllib3.BaseHTTPResponse:
    cookie, csrf = _session(server)
    headers = {"Cookie": cookie, **({"X-CSRF-Token": csrf} if token else {})}
    return server.http.request(
        "POST", f"{server.url}/console/sandbox/{route}", body=body, headers=headers, retries=False
    )


def test_the_sandbox_tests_a_pattern_and_explains_it(server: Server) -> None:
    event = json.dumps({"source": "aws.sqs", "detail": {"eventName": "CreateQueue"}})
    body = json.dumps({"pattern": '{"detail": {"eventName": ["DeleteQueue"]}}', "event": event}).encode()
    assert _sandbox(server, "test", body, token=False).status == 403
    answer = json.loads(_sandbox(server, "test", body).data)
    assert answer["matched"] is False
    assert answer["text"].endswith('detail.eventName: ["DeleteQueue"], but the event has "CreateQueue"')
    assert answer["explanation"]["branches"][0]["matched"] is False
    matching = json.dumps({"pattern": '{"source": ["aws.sqs"]}', "event": event}).encode()
    assert json.loads(_sandbox(server, "test", matching).data)["matched"] is True


@pytest.mark.parametrize(
    ("document", "field", "message"),
    [
        ({"pattern": '{"source": "x"}', "event": "{}"}, "pattern", 'Reason: "source" must be an object or an array'),
        ({"pattern": '{"source": ["x"]}', "event": "[1]"}, "event", "Event is not a JSON object."),
        ({"pattern": '{"source": ["x"]}', "event": "{bad"}, "event", "Event is not valid JSON"),
        ({"pattern": "", "event": "{}"}, "pattern", "Enter an event pattern."),
        ({"pattern": '{"source": ["x"]}'}, "event", "Enter an event, or pick a recorded call."),
        ({"pattern": '{"source": ["x"]}', "event": "{}", "records": [1]}, "records", "must be a list"),
    ],
)
def test_the_sandbox_says_which_input_it_cannot_use(
    server: Server, document: dict[str, object], field: str, message: str
) -> None:
    answer = _sandbox(server, "test", json.dumps(document).encode())
    refused = json.loads(answer.data)
    assert (answer.status, refused["__type"], refused["field"]) == (400, "ValidationException", field)
    assert message in refused["message"]


def test_an_invalid_pattern_comes_with_its_hints(server: Server) -> None:
    body = json.dumps({"pattern": '{"source": "aws.sqs"}', "event": "{}"}).encode()
    hints = json.loads(_sandbox(server, "test", body).data)["hints"]
    assert [hint["corrected"] for hint in hints] == ['{"source": ["aws.sqs"]}']


def test_the_sandbox_makes_a_recorded_calls_event(server: Server) -> None:
    record = {
        "eventSource": "monitoring.amazonaws.com",
        "eventName": "PutMetricAlarm",
        "eventType": "AwsApiCall",
        "recipientAccountId": "123456789012",
        "eventTime": "2026-01-02T03:04:05Z",
        "awsRegion": "eu-west-1",
    }
    event = json.loads(json.loads(_sandbox(server, "event", json.dumps({"record": record}).encode()).data)["event"])
    assert (event["source"], event["detail-type"], event["region"]) == (
        "aws.cloudwatch",
        "AWS API Call via CloudTrail",
        "eu-west-1",
    )
    assert event["detail"] == record
    for bad in (b"[]", b"{bad", json.dumps({"record": {"eventSource": "x"}}).encode()):
        assert _sandbox(server, "event", bad).status == 400, bad


def test_over_tls_the_cookie_is_secure(tmp_path: Path) -> None:
    from tests.test_server_protocol import _self_signed  # noqa: PLC0415 (one self-signed certificate maker)

    cert_file, key_file = _self_signed(tmp_path)
    server = Server("--tls-certfile", str(cert_file), "--tls-keyfile", str(key_file), ca_file=cert_file)
    try:
        assert "Secure" in _get(server, "/console/").headers["set-cookie"]
    finally:
        server.stop()
    plain = Server()
    try:
        assert "Secure" not in _get(plain, "/console/").headers["set-cookie"]
    finally:
        plain.stop()


def _by_name(server: Server, service: str, operation: str, params: dict[str, object]) -> tuple[int, dict[str, Any]]:
    cookie, token = _session(server)
    answer = server.http.request(
        "POST",
        f"{server.url}/console/api/{service}/{operation}",
        body=json.dumps(params).encode(),
        headers={"Cookie": cookie, "X-CSRF-Token": token},
        retries=False,
    )
    return answer.status, json.loads(answer.data)


def test_sns_query_calls_go_through_the_api_and_are_recorded(server: Server) -> None:
    status, made = _by_name(
        server, "sns", "CreateTopic", {"Name": "console-made", "Tags": [{"Key": "k", "Value": "v"}]}
    )
    assert status == 200
    arn = made["TopicArn"]
    assert arn == "arn:aws:sns:us-east-1:123456789012:console-made"
    assert arn in [t["TopicArn"] for t in server.client("sns").list_topics()["Topics"]]
    status, attributes = _by_name(server, "sns", "GetTopicAttributes", {"TopicArn": arn})
    assert (status, attributes["Attributes"]["TopicArn"]) == (200, arn)
    status, missing = _by_name(server, "sns", "GetTopicAttributes", {"TopicArn": arn + "-gone"})
    assert (status, missing["__type"]) == (404, "NotFound")
    assert "does not exist" in missing["message"]
    by_name = [{"AttributeKey": "EventName", "AttributeValue": "CreateTopic"}]
    records = server.client("cloudtrail").lookup_events(LookupAttributes=by_name)["Events"]
    made_here = [json.loads(r["CloudTrailEvent"]) for r in records]
    made_here = [r for r in made_here if r["requestParameters"]["name"] == "console-made"]
    assert [r["userAgent"].split("/")[0] for r in made_here] == ["trailbridge-console"]


def deploy(server: Server, name: str) -> None:
    """A Python function that answers its event."""
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    server.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role="arn:aws:iam::123456789012:role/runner",
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
    )


def test_lambda_rest_json_calls_go_through_the_api(server: Server) -> None:
    deploy(server, "console-fn")
    status, config = _by_name(server, "lambda", "GetFunctionConfiguration", {"FunctionName": "console-fn"})
    assert (status, config["FunctionName"], config["Runtime"]) == (200, "console-fn", "python3.12")
    assert isinstance(config["LastModified"], str)
    status, listed = _by_name(server, "lambda", "ListFunctions", {"MaxItems": 50})
    assert "console-fn" in [f["FunctionName"] for f in listed["Functions"]]
    status, missing = _by_name(server, "lambda", "GetFunction", {"FunctionName": "no-such-fn"})
    assert (status, missing["__type"]) == (404, "ResourceNotFoundException")
    status, refused = _by_name(server, "lambda", "GetFunction", {"FunctionName": {"not": "a string"}})
    assert (status, refused["__type"]) == (400, "ValidationException")  # the API's own validation


@pytest.mark.parametrize(
    ("service", "operation", "params", "message"),
    [
        ("sns", "NoSuchOperation", {}, "sns has no operation NoSuchOperation"),
        ("no-such-service", "ListTopics", {}, "no-such-service is not a service"),
        ("sns", "CreateTopic", {"Name": "t", "Tags": 5}, "The parameters of CreateTopic cannot be written"),
    ],
)
def test_a_call_by_name_the_console_cannot_make_is_a_400(
    server: Server, service: str, operation: str, params: dict[str, object], message: str
) -> None:
    status, answer = _by_name(server, service, operation, params)
    assert status == 400 and message in answer["message"], answer


def test_a_call_by_name_needs_the_csrf_token(server: Server) -> None:
    cookie, _ = _session(server)
    refused = server.http.request(
        "POST", server.url + "/console/api/sns/CreateTopic", body=b'{"Name": "forged"}', headers={"Cookie": cookie}
    )
    assert refused.status == 403
    assert "forged" not in str(server.client("sns").list_topics()["Topics"])


def test_under_auth_a_call_by_name_is_signed_as_the_signed_in_key(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[a]\naws_access_key_id = AKIDBYNAME\naws_secret_access_key = by-name-secret\naws_account_id = 222233334444\n"
    )
    server = Server("--auth", "--credentials", str(credentials))
    try:
        login = _get(server, "/console/login")
        cookie = login.headers["set-cookie"].split(";")[0]
        form = f"csrf_token={_token(login)}&access_key_id=AKIDBYNAME&secret_access_key=by-name-secret"
        headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
        signed_in = server.http.request(
            "POST", server.url + "/console/login", body=form, headers=headers, redirect=False, retries=False
        )
        assert signed_in.status == 303
        cookie = signed_in.headers["set-cookie"].split(";")[0]
        page = _get(server, "/console/", headers={"Cookie": cookie})
        token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.data.decode())
        assert token is not None
        answer = server.http.request(
            "POST",
            server.url + "/console/api/sns/CreateTopic",
            body=b'{"Name": "signed"}',
            headers={"Cookie": cookie, "X-CSRF-Token": token.group(1)},
            retries=False,
        )
        assert json.loads(answer.data)["TopicArn"] == "arn:aws:sns:us-east-1:222233334444:signed"
    finally:
        server.stop()
    assert "by-name-secret" not in server.output


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"Trail": "arn:aws:cloudtrail:us-east-1:123456789012:trail/no-such-trail"}', 400, "TrailNotFoundException"),
        (b'{"Trail": ""}', 400, "ValidationException"),
        (b"[1]", 400, "ValidationException"),
        (b"not json", 400, "ValidationException"),
    ],
)
def test_validate_now_refuses_what_it_cannot_validate(server: Server, body: bytes, status: int, code: str) -> None:
    cookie, token = _session(server)
    answer = server.http.request(
        "POST", server.url + "/console/trails/validate", body=body, headers={"Cookie": cookie, "X-CSRF-Token": token}
    )
    assert (answer.status, json.loads(answer.data)["__type"]) == (status, code), answer.data


def test_five_failed_sign_ins_within_a_minute_and_the_key_waits() -> None:
    clock = FakeClock()
    throttle = SignInThrottle(clock)
    for _ in range(MAX_FAILURES - 1):
        throttle.failed("AKIDA")
        clock.now += 1
    assert throttle.wait("AKIDA") == 0
    throttle.failed("AKIDA")
    assert throttle.wait("AKIDA") == pytest.approx(WINDOW_SECONDS - (MAX_FAILURES - 1))
    assert throttle.wait("AKIDB") == 0  # per access key
    clock.now += WINDOW_SECONDS - (MAX_FAILURES - 1)
    assert throttle.wait("AKIDA") == 0  # the first failure is a minute old
    throttle.failed("AKIDA")
    assert throttle.wait("AKIDA") > 0
    throttle.succeeded("AKIDA")
    assert throttle.wait("AKIDA") == 0


def test_under_auth_a_throttled_key_cannot_sign_in_even_with_its_secret(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text("[a]\naws_access_key_id = AKIDSLOW\naws_secret_access_key = slow-secret\n")
    server = Server("--auth", "--credentials", str(credentials))
    try:

        def sign_in(secret: str) -> urllib3.BaseHTTPResponse:
            login = _get(server, "/console/login")
            cookie = login.headers["set-cookie"].split(";")[0]
            form = f"csrf_token={_token(login)}&access_key_id=AKIDSLOW&secret_access_key={secret}"
            headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
            return server.http.request(
                "POST", server.url + "/console/login", body=form, headers=headers, redirect=False, retries=False
            )

        assert [sign_in("wrong").status for _ in range(MAX_FAILURES)] == [401] * MAX_FAILURES
        throttled = sign_in("slow-secret")
        assert throttled.status == 429
        assert re.search(
            r"Too many failed sign-ins for this access key: try again in \d+ seconds", throttled.data.decode()
        )
    finally:
        server.stop()
