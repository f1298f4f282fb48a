"""Issue 13, item 12: `trailbridge trail import` under `--auth` writes only the caller's own account's records,
unless the credentials file marks the key as an organization's (`trailbridge_import_any_account = true`).
Over the wire, against `trailbridge serve --auth` with alice (111111111111), bob (222222222222) and an
organization key (999999999999); without --auth, any account's records are imported as before."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.support.server import Server
from trailbridge.aws.sigv4 import load_credentials

ALICE, BOB, ORG = "111111111111", "222222222222", "999999999999"
KEYS = {"alice": ALICE, "bob": BOB, "org": ORG}


@pytest.fixture(scope="module")
def credentials(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path: Path = tmp_path_factory.mktemp("auth") / "credentials"
    path.write_text(
        "".join(
            f"[{name}]\naws_access_key_id = AKID{name.upper()}\naws_secret_access_key = {name}-secret\n"
            f"aws_account_id = {account}\n" + ("trailbridge_import_any_account = true\n" if name == "org" else "")
            for name, account in KEYS.items()
        )
    )
    return path


@pytest.fixture(scope="module")
def server(credentials: Path) -> Iterator[Server]:
    process = Server("--auth", "--credentials", str(credentials))
    yield process
    process.stop()


def record(account: str, user: str) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "accountId": account, "userName": user},
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 600)),
        "eventSource": "s3.amazonaws.com",
        "eventName": "PutBucketPolicy",
        "awsRegion": "us-east-1",
        "eventID": str(uuid.uuid4()),
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
    }


def log_file(folder: Path, *records: dict[str, Any]) -> Path:
    path = folder / f"{uuid.uuid4()}.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"Records": list(records)}).encode()))
    return path


def run_import(server: Server, name: str, path: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "trailbridge", "trail", "import", str(path), "--endpoint-url", server.url]
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": f"AKID{name.upper()}",
        "AWS_SECRET_ACCESS_KEY": f"{name}-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, env=env)


def looked_up(server: Server, name: str, user: str) -> list[str]:
    """The event ids LookupEvents shows the key's account for a user name."""
    trail = boto3.client(
        "cloudtrail",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=f"AKID{name.upper()}",
        aws_secret_access_key=f"{name}-secret",
        config=Config(retries={"max_attempts": 1}),
    )
    found = trail.lookup_events(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": user}])
    return sorted(event["EventId"] for event in found["Events"])


def test_a_key_imports_only_its_own_accounts_records(server: Server, tmp_path: Path) -> None:
    user = f"u-{uuid.uuid4()}"
    mine, theirs = [record(ALICE, user) for _ in range(2)], [record(BOB, user) for _ in range(3)]
    path = log_file(tmp_path, mine[0], theirs[0], mine[1], theirs[1], theirs[2])
    result = run_import(server, "alice", path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Imported 2 records from 1 files" in result.stdout
    assert f"refused 3 records of account {BOB}: this key may import only its own account's" in result.stdout
    assert looked_up(server, "alice", user) == sorted(r["eventID"] for r in mine)
    assert looked_up(server, "bob", user) == []  # nothing written into bob's account
    again = run_import(server, "alice", path)
    assert "1 files were imported before" in again.stdout and "Imported 0 records" in again.stdout
    # Bob imports the same file: his own records now, not alice's again.
    by_bob = run_import(server, "bob", path)
    assert "Imported 3 records from 1 files" in by_bob.stdout, by_bob.stdout
    assert f"refused 2 records of account {ALICE}" in by_bob.stdout
    assert looked_up(server, "bob", user) == sorted(r["eventID"] for r in theirs)
    assert looked_up(server, "alice", user) == sorted(r["eventID"] for r in mine)


def test_a_file_of_another_account_only_writes_nothing(server: Server, tmp_path: Path) -> None:
    user = f"u-{uuid.uuid4()}"
    path = log_file(tmp_path, record(BOB, user), {**record(BOB, user), "recipientAccountId": None})
    result = run_import(server, "alice", path)  # the second one's account is its userIdentity's
    assert result.returncode == 1 and "Imported 0 records" in result.stdout
    assert f"refused 2 records of account {BOB}" in result.stdout
    assert looked_up(server, "bob", user) == looked_up(server, "alice", user) == []


def test_an_organization_key_imports_every_account_and_nothing_twice(server: Server, tmp_path: Path) -> None:
    user = f"u-{uuid.uuid4()}"
    alices, bobs, others = record(ALICE, user), record(BOB, user), record("333333333333", user)
    path = log_file(tmp_path, alices, bobs, others)
    assert "Imported 1 records" in run_import(server, "alice", path).stdout
    result = run_import(server, "org", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Imported 2 records from 1 files" in result.stdout  # alice's had been imported by alice
    assert "1 records were left out: their accounts had imported those files themselves" in result.stdout
    assert looked_up(server, "bob", user) == [bobs["eventID"]]
    assert looked_up(server, "alice", user) == [alices["eventID"]]  # once
    assert "1 files were imported before" in run_import(server, "bob", path).stdout
    fresh = log_file(tmp_path, record(ALICE, user), record(BOB, user))
    assert "Imported 2 records from 1 files" in run_import(server, "org", fresh).stdout
    assert "1 files were imported before" in run_import(server, "alice", fresh).stdout


def test_without_auth_any_account_is_imported_as_before(tmp_path: Path) -> None:
    process = Server()
    try:
        user = f"u-{uuid.uuid4()}"
        path = log_file(tmp_path, record(ALICE, user), record(BOB, user))
        result = run_import(process, "alice", path)
        assert result.returncode == 0 and "Imported 2 records from 1 files" in result.stdout, result.stdout
    finally:
        process.stop()


def test_the_option_must_be_a_boolean(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text(
        "[org]\naws_access_key_id = AKIDORG\naws_secret_access_key = s\ntrailbridge_import_any_account = maybe\n"
    )
    with pytest.raises(ValueError, match="trailbridge_import_any_account must be true or false"):
        load_credentials(path, ALICE)
    path.write_text(
        "[org]\naws_access_key_id = AKIDORG\naws_secret_access_key = s\ntrailbridge_import_any_account = yes\n"
    )
    assert load_credentials(path, ALICE)["AKIDORG"].import_any_account
