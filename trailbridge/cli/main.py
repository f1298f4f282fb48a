"""`trailbridge ...` commands."""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import json
import signal
import socket
import sqlite3
import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from trailbridge.bus.envelope import valid_test_event
from trailbridge.errors import TrailbridgeError
from trailbridge.patterns import PatternError, compile_pattern
from trailbridge.settings import Settings

if TYPE_CHECKING:
    import uvicorn

    from trailbridge.runtime import Trailbridge
    from trailbridge.trail.validate import Store

INVALID_EVENT = "Parameter Event is not valid."


def _argument(value: str) -> str:
    """A JSON argument given inline, or as @file."""
    if value.startswith("@"):
        try:
            return Path(value[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise click.BadParameter(f"cannot read {value[1:]}: {exc.strerror}") from None
    return value


@click.group()
@click.version_option(package_name="trailbridge")
def cli() -> None:
    """trailbridge: a self-hostable CloudTrail + EventBridge."""


@cli.command("test-pattern")
@click.option("--pattern", required=True, help="Event pattern: JSON text or @file.")
@click.option(
    "--event",
    required=True,
    help="Event: JSON text or @file. A bare CloudTrail record is tested in the envelope CloudTrail delivers it to "
    "EventBridge in (detail-type, source aws.<service>, account, time, region; detail the record).",
)
@click.option(
    "--explain",
    "explaining",
    is_flag=True,
    help="Say why: for each $or branch, the condition that failed and what the event held there, then the "
    "pattern's lint hints. (Errors always get their hints or reason, on the lines after AWS's own.)",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="A trailbridge data directory whose recorded calls (of the event's account and region, "
    "of the pattern's eventName) the hints look at for where the pattern's fields occur.",
)
def test_pattern(pattern: str, event: str, explaining: bool, data_dir: Path | None) -> None:
    """Print true or false (exit 0 or 1) as EventBridge's TestEventPattern would; exit 2 on errors."""
    from trailbridge.bus.envelope import invalid_test_event_reason, is_cloudtrail_record  # noqa: PLC0415
    from trailbridge.patterns import explain, hints  # noqa: PLC0415
    from trailbridge.trail.forward import cloudtrail_event  # noqa: PLC0415

    pattern_text, event_text = _argument(pattern), _argument(event)
    try:
        record = json.loads(event_text)
    except ValueError:
        record = None
    wrapped = is_cloudtrail_record(record)
    if wrapped:
        event_text = json.dumps(cloudtrail_event(record, str(record["eventID"])))
    try:
        compiled = compile_pattern(pattern_text)
    except PatternError as exc:
        click.echo(f"InvalidEventPatternException: {exc}", err=True)  # AWS's line, unchanged; then ours
        for hint in hints(pattern_text, _recorded_calls(data_dir, pattern_text, event_text)):
            click.echo(hint.text(), err=True)
        sys.exit(2)
    if not valid_test_event(event_text):
        click.echo(f"ValidationException: {INVALID_EVENT}", err=True)
        click.echo(f"reason: {invalid_test_event_reason(event_text)}", err=True)
        sys.exit(2)
    result = compiled.matches(event_text)
    click.echo("true" if result else "false")
    if explaining:
        if wrapped:
            click.echo("Note: the event is a bare CloudTrail record; it was tested in its EventBridge envelope.")
        click.echo(explain(pattern_text, event_text).text())
        for hint in hints(pattern_text, _recorded_calls(data_dir, pattern_text, event_text)):
            click.echo(hint.text())
    sys.exit(0 if result else 1)


RECORDED_CALLS = 200  # recorded calls read per eventName for `test-pattern --explain --data`


def _recorded_calls(data_dir: Path | None, pattern_text: str, event_text: str) -> list[dict[str, Any]] | None:
    """`test-pattern --data`: the newest recorded calls of the event's account and region, of each eventName the
    pattern names (of any name when it names none), as LookupEvents finds them; None without --data."""
    from trailbridge.patterns.hints import event_names  # noqa: PLC0415
    from trailbridge.storage.backends import open_ports  # noqa: PLC0415

    if data_dir is None:
        return None
    if not (data_dir / "trailbridge.sqlite3").is_file():
        raise click.BadParameter(f"{data_dir} is not a trailbridge data directory", param_hint="--data")
    try:
        doc, event = json.loads(pattern_text), json.loads(event_text)
    except ValueError:
        return None
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("account"), str)
        or not isinstance(event.get("region"), str)
    ):
        return None
    names = event_names(doc) if isinstance(doc, dict) else []
    lookups: list[tuple[str, str] | None] = [("EventName", name) for name in names]
    try:
        ports = open_ports(Settings(), data_dir)
    except (TrailbridgeError, OSError, sqlite3.Error) as exc:
        raise click.ClickException(f"cannot open the store: {exc}") from None
    try:
        rows = [
            row
            for by in lookups or [None]
            for row in ports.records.page(
                event["account"],
                event["region"],
                0.0,
                datetime.now(UTC).timestamp(),
                (float("inf"), 0),
                RECORDED_CALLS,
                by,
            )
        ]
    finally:
        ports.store.close()
    return [json.loads(row.record) for row in rows]


class ServeError(Exception):
    """Why `trailbridge serve` cannot start: one line on stderr, exit status 1."""


def _reason(error: OSError | sqlite3.Error) -> str:
    """An error's reason, as the rest of a sentence ("address already in use")."""
    text = (error.strerror if isinstance(error, OSError) else None) or str(error)
    return text[:1].lower() + text[1:]


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _bind(host: str, port: int) -> socket.socket:
    """A socket bound to host:port as uvicorn binds one (IPv6 when the host has a colon, SO_REUSEADDR), or a
    `ServeError` saying why not."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen()
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {_address(host, port)}: {_reason(exc)}") from None
    return sock


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@cli.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1). [TRAILBRIDGE_HOST]")
@click.option("--port", type=int, help="Port (default 4566). [TRAILBRIDGE_PORT]")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), help="Data directory. [TRAILBRIDGE_DATA_DIR]")
@click.option(
    "--database",
    help="postgresql://USER@HOST:PORT/DB: the state is there, shared with any other node on it (default: the "
    "SQLite file in the data directory). [TRAILBRIDGE_DATABASE]",
)
@click.option(
    "--secret-key-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The key that seals stored secrets, made if absent; every node on one database needs the same "
    "(default: secret.key in the data directory). [TRAILBRIDGE_SECRET_KEY_FILE]",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, exists=True),
    envvar="TRAILBRIDGE_CONFIG",
    help="TOML settings file. [TRAILBRIDGE_CONFIG]",
)
@click.option(
    "--credentials",
    "credentials_file",
    type=click.Path(path_type=Path, exists=True),
    help="AWS-format credentials file: access keys, secrets, aws_account_id. [TRAILBRIDGE_CREDENTIALS_FILE]",
)
@click.option("--auth/--no-auth", default=None, help="Verify every request's SigV4 signature. [TRAILBRIDGE_AUTH]")
@click.option("--insecure", is_flag=True, default=None, help="Allow a non-loopback --host without --auth.")
@click.option("--tls-certfile", type=click.Path(path_type=Path, exists=True), help="Serve HTTPS: certificate (PEM).")
@click.option("--tls-keyfile", type=click.Path(path_type=Path, exists=True), help="Serve HTTPS: private key (PEM).")
@click.option("--log-level", help="DEBUG, INFO, WARNING or ERROR (default INFO). [TRAILBRIDGE_LOG_LEVEL]")
@click.option(
    "--function",
    "functions",
    multiple=True,
    metavar="NAME=module:callable",
    help="Serve a Python callable as function NAME, without a zip (repeatable; the module is imported from the "
    "current directory or the Python path). [TRAILBRIDGE_FUNCTIONS, comma separated]",
)
def serve(config_file: Path | None, functions: tuple[str, ...], **flags: Any) -> None:
    """Serve the AWS EventBridge, SQS and CloudWatch Logs JSON APIs, and deliver events.

    Prints "trailbridge listening on URL" once the port is bound and the engine has started. Exits 2 on bad
    settings; 1, with one line on stderr, when it cannot start (the port cannot be bound, the data directory
    or the TLS files cannot be read); 0 after SIGTERM or Ctrl-C, once the trails' pending records are in
    their log files.
    """
    import uvicorn  # noqa: PLC0415 (the server's imports are not needed by the other commands)

    from trailbridge.aws.sigv4 import Authenticator, load_credentials  # noqa: PLC0415
    from trailbridge.server.app import create_app  # noqa: PLC0415
    from trailbridge.server.logs import configure  # noqa: PLC0415
    from trailbridge.server.timeouts import timed_protocol  # noqa: PLC0415

    try:
        settings = Settings.load(config_file, **flags, functions=",".join(functions) or None)
    except TrailbridgeError as exc:
        raise click.UsageError(exc.message) from None
    if settings.auth and settings.credentials_file is None:
        raise click.UsageError("--auth needs --credentials FILE (the access keys and secrets to verify against)")
    if not _is_loopback(settings.host) and not settings.auth and not settings.insecure:
        raise click.UsageError(
            f"refusing to listen on {settings.host} without --auth: anyone who can reach it could change rules "
            "and read queues. Add --auth --credentials FILE, or --insecure if you mean it."
        )
    try:
        credentials = (
            load_credentials(settings.credentials_file, settings.default_account) if settings.credentials_file else {}
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    configure(settings.log_level)
    authenticator = Authenticator(credentials, settings.default_account, settings.default_region, verify=settings.auth)
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again: end with status 0 then.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        sock = _bind(settings.host, settings.port)
        settings = dataclasses.replace(settings, port=sock.getsockname()[1])  # port 0: the one the system chose
        tb = _open(settings)
        _register_functions(tb, settings.functions)
        scheme = "https" if settings.tls_certfile else "http"
        listening = f"trailbridge listening on {scheme}://{_address(settings.host, settings.port)}"
        where = f"data in {settings.data_dir}" + (f", state in {settings.database_shown}" if settings.database else "")
        app = create_app(tb, authenticator, lambda: click.echo(f"{listening} ({where})"))
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
            ssl_certfile=settings.tls_certfile,
            ssl_keyfile=settings.tls_keyfile,
            http=timed_protocol(settings.header_read_timeout_seconds, settings.body_read_timeout_seconds),
        )
        _load(config)
    except ServeError as exc:
        click.echo(f"trailbridge serve: {exc}", err=True)
        sys.exit(1)
    uvicorn.Server(config).run(sockets=[sock])


def _open(settings: Settings) -> Trailbridge:
    from trailbridge.runtime import Trailbridge  # noqa: PLC0415

    try:
        return Trailbridge(settings.data_dir, settings)
    except TrailbridgeError as exc:
        raise ServeError(exc.message) from None
    except (OSError, sqlite3.Error) as exc:
        problem = f"cannot open the data directory {settings.data_dir}: {_reason(exc)}"
        if isinstance(exc, OSError) and exc.filename and Path(exc.filename) != settings.data_dir:
            problem += f" ({exc.filename})"
        raise ServeError(problem) from None


def _register_functions(tb: Trailbridge, spec: str) -> None:
    """`--function NAME=module:callable`: the module imported as a project's would be, from the current directory
    first (as `python -m` does; the `trailbridge` script alone would not look there)."""
    if not spec:
        return
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        tb.functions.register_spec(spec)
    except TrailbridgeError as exc:
        tb.close()
        raise ServeError(exc.message) from None


def _load(config: uvicorn.Config) -> None:
    """Load what uvicorn would load as it starts (the TLS certificate and key), to say plainly what fails."""
    try:
        config.load()
    except OSError as exc:  # ssl.SSLError among them
        raise ServeError(f"cannot load the TLS certificate and key: {_reason(exc)}") from None


@cli.group()
def trail() -> None:
    """CloudTrail trails: validate log files and digests."""


def _keys_from_file(path: Path) -> dict[str, bytes]:
    try:
        answer = json.loads(path.read_text(encoding="utf-8"))
        return {k["Fingerprint"]: base64.b64decode(k["Value"]) for k in answer["PublicKeyList"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise click.BadParameter(f"{path} is not a ListPublicKeys answer: {exc}") from None


def _keys_from_server(endpoint: str, names: list[str]) -> dict[str, bytes]:
    import boto3  # noqa: PLC0415 (only this command needs boto3)

    regions = {name.split("/CloudTrail-Digest/")[1].split("/")[0] for name in names if "/CloudTrail-Digest/" in name}
    keys: dict[str, bytes] = {}
    for region in sorted(regions):
        client = boto3.client("cloudtrail", endpoint_url=endpoint, region_name=region)
        answer = client.list_public_keys(StartTime=datetime(2000, 1, 1, tzinfo=UTC), EndTime=datetime.now(UTC))
        keys.update({k["Fingerprint"]: k["Value"] for k in answer["PublicKeyList"]})
    return keys


def _seconds(value: object) -> float | None:
    """A GetTrailStatus time: a datetime (boto3), epoch seconds or ISO 8601 text (the AWS CLI's output)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    return None


def _trail_of_arn(arn: str) -> tuple[str | None, str, str | None]:
    """(account, name, home region) of a trail ARN, or (None, name, None) of a bare name."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[5].startswith("trail/"):
        return parts[4], parts[5].removeprefix("trail/"), parts[3]
    return None, arn, None


def _status_from_file(path: Path, trail: str | None, names: list[str]) -> list[Any]:
    """A GetTrailStatus answer (`aws cloudtrail get-trail-status --name TRAIL`) for the trail `--trail`
    names, or for the only trail whose digests are in the bucket."""
    from trailbridge.trail.coverage import parse_digest_name  # noqa: PLC0415
    from trailbridge.trail.validate import TrailStatus  # noqa: PLC0415

    try:
        answer = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"{path} is not a GetTrailStatus answer: {exc}") from None
    latest = _seconds(answer.get("LatestDigestDeliveryTime")) if isinstance(answer, dict) else None
    if latest is None:
        raise click.BadParameter(f"{path} is not a GetTrailStatus answer with a LatestDigestDeliveryTime")
    if trail is not None:
        account, name, home = _trail_of_arn(trail)
        return [TrailStatus(latest, account, name, home)]
    found = {(d.account, d.trail, d.home_region, d.prefix) for n in names if (d := parse_digest_name(n)) is not None}
    if len(found) > 1:
        listed = ", ".join(sorted(f"{t[1]} ({t[0]}, {t[2]})" for t in found))
        raise click.UsageError(f"the bucket holds digests of several trails ({listed}): name one with --trail")
    if not found:  # no digest at all: the tail check reports the server's newest as missing
        return [TrailStatus(latest)]
    account, name, home, prefix = found.pop()
    return [TrailStatus(latest, account, name, home, prefix)]


def _statuses_from_server(endpoint: str, bucket: str, names: list[str], notes: list[str]) -> list[Any]:
    """What the server says of each trail that validates into `bucket` (its trails in the home regions of
    the bucket's digests): when it last delivered a digest."""
    import boto3  # noqa: PLC0415

    from trailbridge.trail.coverage import parse_digest_name  # noqa: PLC0415
    from trailbridge.trail.validate import TrailStatus  # noqa: PLC0415

    homes = {d.home_region for n in names if (d := parse_digest_name(n)) is not None}
    statuses: list[Any] = []
    for region in sorted(homes):
        client = boto3.client("cloudtrail", endpoint_url=endpoint, region_name=region)
        for doc in client.describe_trails(includeShadowTrails=False)["trailList"]:
            if doc.get("S3BucketName") != bucket or not doc.get("LogFileValidationEnabled"):
                continue
            latest = _seconds(client.get_trail_status(Name=doc["TrailARN"]).get("LatestDigestDeliveryTime"))
            if latest is None:
                notes.append(
                    f"{doc['TrailARN']}: the server does not report LatestDigestDeliveryTime; whether its newest "
                    "digests were deleted is not checked"
                )
                continue
            account, name, home = _trail_of_arn(doc["TrailARN"])
            statuses.append(TrailStatus(latest, account, name, home or region, doc.get("S3KeyPrefix") or ""))
    return statuses


def _aws_problem(exc: Exception, endpoint: str | None) -> str:
    from botocore.exceptions import NoCredentialsError  # noqa: PLC0415

    if isinstance(exc, NoCredentialsError):
        where = f" for {endpoint}" if endpoint else ""
        return (
            f"no AWS credentials{where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE "
            "(a trailbridge server takes the account from the access key)"
        )
    return f"cannot read the trail: {exc}"


@trail.command("validate")
@click.argument("location")
@click.option("--bucket", help="The bucket's name in the digests (default: the folder's or bucket's name).")
@click.option("--public-keys", type=click.Path(path_type=Path, exists=True), help="A ListPublicKeys answer (JSON).")
@click.option(
    "--endpoint-url",
    help="Ask this trailbridge (or CloudTrail) endpoint for the public keys (ListPublicKeys) and for each trail's "
    "newest digest (GetTrailStatus).",
)
@click.option(
    "--trail-status",
    type=click.Path(path_type=Path, exists=True),
    help="A GetTrailStatus answer (JSON): its LatestDigestDeliveryTime must be the bucket's newest digest.",
)
@click.option("--trail", "trail_name", help="The trail (name or ARN) --trail-status is of, if the bucket has several.")
@click.option("--s3-endpoint-url", help="The S3 endpoint of an s3://BUCKET location (default: AWS's).")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="LOCATION is a bucket of the trailbridge with this data directory (read from its store).",
)
@click.option("--database", help="LOCATION is a bucket of the trailbridge on this PostgreSQL database.")
def validate(
    location: str,
    bucket: str | None,
    public_keys: Path | None,
    endpoint_url: str | None,
    trail_status: Path | None,
    trail_name: str | None,
    s3_endpoint_url: str | None,
    data_dir: Path | None,
    database: str | None,
) -> None:
    """Check a trail's digests and log files in a bucket folder, s3://BUCKET, or a bucket of trailbridge's own
    store (--data DIR or --database URL); exit 1 if anything is INVALID (or the trail cannot be read)."""
    if (public_keys is None) == (endpoint_url is None):
        raise click.UsageError("give exactly one of --public-keys FILE and --endpoint-url URL")
    if trail_name is not None and trail_status is None:
        raise click.UsageError("--trail names the trail of --trail-status FILE")
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    from trailbridge.trail.validate import StoreError, validate_bucket  # noqa: PLC0415

    with ExitStack() as opened:
        name, store = _trail_store(location, s3_endpoint_url, data_dir, database, opened)
        notes: list[str] = []
        try:
            names = store.names()
            keys = _keys_from_file(public_keys) if public_keys else _keys_from_server(str(endpoint_url), names)
            if trail_status is not None:
                statuses = _status_from_file(trail_status, trail_name, names)
            elif endpoint_url is not None:
                statuses = _statuses_from_server(endpoint_url, bucket or name, names, notes)
            else:
                statuses = []
            report = validate_bucket(store, bucket or name, keys, statuses)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None
        except (BotoCoreError, ClientError) as exc:
            raise click.ClickException(_aws_problem(exc, endpoint_url)) from None
        click.echo(f"Validating log files in {location}\n")
        for line in report.lines:
            click.echo(line)
        click.echo("")
        for line in report.summary():
            click.echo(line)
        for note in notes + report.notes:
            click.echo(f"Note: {note}", err=True)
        if not report.digests:
            click.echo("No digest files found", err=True)
        sys.exit(0 if report.valid else 1)


def _trail_store(
    location: str, s3_endpoint_url: str | None, data_dir: Path | None, database: str | None, opened: ExitStack
) -> tuple[str, Store]:
    """The bucket's name and where its objects are read, opened in `opened`."""
    from trailbridge.trail.validate import FolderStore, ObjectsStore, S3Store  # noqa: PLC0415

    if data_dir is not None or database is not None:
        from trailbridge.storage.backends import open_ports  # noqa: PLC0415

        if database is None and data_dir is not None and not (data_dir / "trailbridge.sqlite3").is_file():
            raise click.BadParameter(f"{data_dir} is not a trailbridge data directory")
        try:
            ports = open_ports(Settings(database=database or ""), data_dir)
        except (TrailbridgeError, OSError, sqlite3.Error) as exc:
            raise click.ClickException(f"cannot open the store: {exc}") from None
        opened.callback(ports.store.close)
        if ports.objects.bucket(location) is None:
            raise click.BadParameter(f"{location} is not a bucket of {database or data_dir}")
        return location, ObjectsStore(ports.objects, location)
    if location.startswith("s3://"):
        import boto3  # noqa: PLC0415

        name = location.removeprefix("s3://").strip("/")
        return name, S3Store(boto3.client("s3", endpoint_url=s3_endpoint_url), name)
    folder = Path(location)
    if not folder.is_dir():
        raise click.BadParameter(f"{location} is not a folder (nor s3://BUCKET)")
    return folder.resolve().name, FolderStore(folder)


@trail.command("import")
@click.argument("source")
@click.option("--endpoint-url", default="http://127.0.0.1:4566", show_default=True, help="The trailbridge server.")
@click.option("--event-bus", help="Send every record to this bus of yours (name or ARN) instead of its default bus.")
@click.option("--region", help="The region of your credentials' scope (default: your AWS configuration's).")
@click.option("--s3-endpoint-url", help="The S3 endpoint of an s3://bucket/prefix source (default: AWS's).")
@click.option(
    "--again", is_flag=True, help="Import files imported before once more (after importing into the wrong bus)."
)
def import_logs(
    source: str,
    endpoint_url: str,
    event_bus: str | None,
    region: str | None,
    s3_endpoint_url: str | None,
    again: bool,
) -> None:
    """Import CloudTrail log files (a .json or .json.gz file, a folder, or s3://bucket/prefix) into a running
    server; files imported before are skipped, unless --again. Exit 1 if any file or record was skipped as
    malformed, or refused (records of another account under --auth)."""
    from trailbridge.cli.importer import ImportFailed, Progress, Sender, find_files, report, run_import  # noqa: PLC0415

    try:
        files = find_files(source, s3_endpoint_url)
    except FileNotFoundError as exc:
        raise click.BadParameter(str(exc)) from None
    if not files:
        raise click.ClickException(f"no CloudTrail log files (*.json, *.json.gz) in {source}")
    try:
        totals = run_import(files, Sender(endpoint_url, event_bus, region, again=again), Progress(sys.stderr))
    except ImportFailed as exc:
        raise click.ClickException(f"{exc} (run the same command again to import what is missing)") from None
    report(totals)
    sys.exit(1 if totals.problems else 0)
