"""`trailbridge trail validate` on the shared trail that the AWS CLI validated, and on tampered copies."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.corpora import corpus

EXAMPLE = corpus("cloudtrail", "signed-trail-example")
DIGESTS = "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/08/19"
LOGS = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/08/19"


def run(bucket: Path) -> tuple[int, str]:
    command = [sys.executable, "-m", "trailbridge", "trail", "validate", str(bucket)]
    command += ["--public-keys", str(EXAMPLE / "ListPublicKeys.response.json")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    return result.returncode, result.stdout + result.stderr


@pytest.fixture
def bucket(tmp_path: Path) -> Path:
    return Path(shutil.copytree(EXAMPLE / "ct-bucket", tmp_path / "ct-bucket"))


def test_the_shared_example_is_valid(bucket: Path) -> None:
    status, report = run(bucket)
    assert status == 0, report
    assert "3/3 digest files valid" in report and "6/6 log files valid" in report


def test_a_modified_log_file_is_invalid(bucket: Path) -> None:
    log = next((bucket / LOGS).glob("*T1004Z*.json.gz"))
    log.write_bytes(gzip.compress(gzip.decompress(log.read_bytes()) + b" "))
    status, report = run(bucket)
    assert status == 1 and f"{log.name}\tINVALID: hash value doesn't match" in report


def test_a_deleted_log_file_is_invalid(bucket: Path) -> None:
    log = next((bucket / LOGS).glob("*T0909Z*.json.gz"))
    log.unlink()
    status, report = run(bucket)
    assert status == 1 and f"{log.name}\tINVALID: not found" in report


def test_a_deleted_digest_breaks_the_chain(bucket: Path) -> None:
    middle = next((bucket / DIGESTS).glob("*T110031Z.json.gz"))
    middle.unlink()
    status, report = run(bucket)
    assert status == 1
    assert f"previous digest {DIGESTS}/{middle.name} not found" in report  # the AWS CLI does not check this


def test_a_moved_digest_is_invalid(bucket: Path) -> None:
    first = next((bucket / DIGESTS).glob("*T100031Z.json.gz"))
    elsewhere = bucket / "moved" / first.name
    elsewhere.parent.mkdir()
    shutil.copy(first, elsewhere)
    shutil.copy(first.with_name(first.name + ".s3meta.json"), elsewhere.with_name(first.name + ".s3meta.json"))
    status, report = run(bucket)
    assert status == 1 and "INVALID: has been moved from its original location" in report


def test_a_forged_signature_fails(bucket: Path) -> None:
    sidecar = next((bucket / DIGESTS).glob("*T120031Z.json.gz.s3meta.json"))
    metadata = json.loads(sidecar.read_text())
    signature = metadata["x-amz-meta-signature"]
    metadata["x-amz-meta-signature"] = ("0" if signature[0] != "0" else "1") + signature[1:]
    sidecar.write_text(json.dumps(metadata))
    status, report = run(bucket)
    assert status == 1 and "T120031Z.json.gz\tINVALID: signature verification failed" in report
