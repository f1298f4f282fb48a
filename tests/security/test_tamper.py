"""The tamper matrix: a real trail written by trailbridge (a fake clock: 30 minutes of API calls, a log file
every minute, a digest every 7 minutes, a final digest at StopLogging), then one tampering per case. The
validator must say INVALID (exit 1) for every one, VALID (exit 0) for the untouched trail, and never answer
with a traceback."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.support.buckets import create_bucket, export, keys, objects_in, read
from tests.support.server import Server, free_port
from trailbridge.cli.main import cli
from trailbridge.clock import ManualClock, iso8601
from trailbridge.runtime import Trailbridge
from trailbridge.settings import Settings
from trailbridge.trail.buckets import StoreBuckets
from trailbridge.trail.digests import string_to_sign

ACCOUNT = "123456789012"
REGION = "us-east-1"
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def _record(clock: ManualClock, index: int) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "accountId": ACCOUNT, "userName": "alice"},
        "eventTime": iso8601(clock.now()),
        "eventSource": "events.amazonaws.com",
        "eventName": "PutRule",
        "awsRegion": REGION,
        "sourceIPAddress": "10.0.0.1",
        "userAgent": "tamper-test",
        "requestParameters": {"name": f"rule-{index}"},
        "responseElements": None,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }


@dataclass
class Trail:
    """A pristine trail: its bucket exported to a folder, the ListPublicKeys answer, the GetTrailStatus answer,
    and the data directory whose store holds the bucket."""

    bucket: Path
    keys: Path
    status: Path
    data: Path


def build(data: Path, regions: tuple[str, ...] = (REGION,), joins: int = 0) -> Trail:
    """A trail of 40 calls, 45 s apart, taking turns among `regions` (a multi-region trail if several) from
    call `joins` on (before it, all in the first region)."""
    clock = ManualClock(START)
    tb = Trailbridge(data, Settings(trail_delivery_seconds=60, digest_seconds=420), clock=clock)
    try:  # not started: each record is written at once, and the test writes the files that are due
        create_bucket(tb.engine.objects, "logs")
        trails = tb.trails(ACCOUNT, REGION)
        many = len(regions) > 1
        trails.create_trail(Name="main", S3BucketName="logs", EnableLogFileValidation=True, IsMultiRegionTrail=many)
        trails.start_logging(Name="main")
        for index in range(40):
            clock.advance(45)
            tb.recorder.record(
                clock.now(),
                _record(clock, index) | {"awsRegion": regions[index % len(regions) if index >= joins else 0]},
            )
            tb.engine.trail_files.write_due()
        trails.stop_logging(Name="main")
        clock.advance(1)
        tb.engine.trail_files.write_due()
        keys = [
            {
                "Fingerprint": k["Fingerprint"],
                "Value": base64.b64encode(k["Value"]).decode(),
                "ValidityStartTime": k["ValidityStartTime"].isoformat(),
                "ValidityEndTime": k["ValidityEndTime"].isoformat(),
            }
            for region in regions
            for k in tb.cloudtrail(ACCOUNT, region).list_public_keys()["PublicKeyList"]
        ]
        latest = tb.engine.trail_files.digests.latest(trails.get_trail(Name="main")["Trail"])
        status = trails.get_trail_status(Name="main")
        exported = export(tb.engine.objects, "logs", data / "exported" / "logs")
    finally:
        tb.close()
    assert latest is not None
    (data / "keys.json").write_text(json.dumps({"PublicKeyList": keys}))
    # GetTrailStatus as `aws cloudtrail get-trail-status` prints it, with the digest state's newest digest
    printed = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in status.items()}
    printed["LatestDigestDeliveryTime"] = iso8601(latest)
    (data / "status.json").write_text(json.dumps(printed))
    return Trail(exported, data / "keys.json", data / "status.json", data)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Trail:
    return build(tmp_path_factory.mktemp("trail"))


@pytest.fixture
def trail(pristine: Trail, tmp_path: Path) -> Trail:
    copy = Path(shutil.copytree(pristine.bucket, tmp_path / "logs"))
    return Trail(copy, pristine.keys, pristine.status, pristine.data)


def validate(trail: Trail, *extra: str) -> Result:
    arguments = ["trail", "validate", str(trail.bucket), "--public-keys", str(trail.keys), *extra]
    result = CliRunner().invoke(cli, arguments)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"validate raised {result.exception!r}:\n{result.output}") from result.exception
    return result


def logs(bucket: Path) -> list[Path]:
    return sorted(bucket.rglob("*_CloudTrail_*.json.gz"))


def digests(bucket: Path) -> list[Path]:
    return sorted(bucket.rglob("*_CloudTrail-Digest_*.json.gz"))


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".s3meta.json")


def _listed(digest: Path) -> list[str]:
    return [log["s3Object"].rsplit("/", 1)[-1] for log in json.loads(gzip.decompress(digest.read_bytes()))["logFiles"]]


def _middle_log(bucket: Path) -> Path:
    """A log file the second digest lists (inside the digests' time, away from their edges)."""
    name = _listed(digests(bucket)[1])[2]
    return next(p for p in logs(bucket) if p.name == name)


def _edit_digest(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    content = json.loads(gzip.decompress(path.read_bytes()))
    change(content)
    path.write_bytes(gzip.compress(json.dumps(content).encode()))


def _resign(path: Path, change: Callable[[dict[str, Any]], None], key: rsa.RSAPrivateKey, fingerprint: str) -> None:
    """Change a digest and sign it again with `key` (an attacker's), naming `fingerprint`."""
    content = json.loads(gzip.decompress(path.read_bytes()))
    change(content)
    content["digestPublicKeyFingerprint"] = fingerprint
    body = json.dumps(content).encode()
    signature = key.sign(string_to_sign(content, body), padding.PKCS1v15(), hashes.SHA256()).hex()
    path.write_bytes(gzip.compress(body))
    meta = json.loads(sidecar(path).read_text())
    meta["x-amz-meta-signature"] = signature
    sidecar(path).write_text(json.dumps(meta))


def _attacker() -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return key, hashlib.md5(der, usedforsecurity=False).hexdigest()


# -- the tamperings: each changes the bucket and returns the text the report must hold -----------------------


def edit_a_record(bucket: Path) -> str:
    log = _middle_log(bucket)
    content = json.loads(gzip.decompress(log.read_bytes()))
    content["Records"][0]["eventName"] = "DeleteRule"
    log.write_bytes(gzip.compress(json.dumps(content).encode()))
    return f"{log.name}\tINVALID: hash value doesn't match"


def delete_a_log_file(bucket: Path) -> str:
    log = _middle_log(bucket)
    log.unlink()
    return f"{log.name}\tINVALID: not found"


def add_a_forged_log_file(bucket: Path) -> str:
    model = _middle_log(bucket)
    forged = model.with_name(model.name.rsplit("_", 1)[0] + "_ForgedForgedForg.json.gz")
    forged.write_bytes(gzip.compress(b'{"Records":[]}'))
    return f"{forged.name}\tINVALID: not listed in any valid digest"


def add_a_log_file_not_named_as_cloudtrail_names_them(bucket: Path) -> str:
    forged = _middle_log(bucket).with_name("extra.json.gz")
    forged.write_bytes(gzip.compress(b'{"Records":[]}'))
    return "extra.json.gz\tINVALID: not listed in any valid digest"


def corrupt_a_log_files_gzip_stream(bucket: Path) -> str:
    log = _middle_log(bucket)
    data = bytearray(log.read_bytes())
    for i in range(20, len(data) - 12):
        data[i] ^= 0x55
    log.write_bytes(bytes(data))
    return f"{log.name}\tINVALID: not a readable gzip file"


def swap_two_log_files(bucket: Path) -> str:
    first = _middle_log(bucket)
    second = next(p for p in logs(bucket) if p.name == _listed(digests(bucket)[1])[3])
    one, two = first.read_bytes(), second.read_bytes()
    first.write_bytes(two)
    second.write_bytes(one)
    return f"{first.name}\tINVALID: hash value doesn't match"


def rename_a_log_file(bucket: Path) -> str:
    log = _middle_log(bucket)
    renamed = log.with_name(log.name.rsplit("_", 1)[0] + "_RenamedRenamedRe.json.gz")
    log.rename(renamed)
    return f"{renamed.name}\tINVALID: not listed in any valid digest"


def truncate_a_digest(bucket: Path) -> str:
    digest = digests(bucket)[1]
    digest.write_bytes(digest.read_bytes()[: len(digest.read_bytes()) // 2])
    return f"{digest.name}\tINVALID: not a readable gzip file"


def corrupt_a_digests_gzip_stream(bucket: Path) -> str:
    digest = digests(bucket)[1]
    data = bytearray(digest.read_bytes())
    data[len(data) // 2] ^= 0xFF
    digest.write_bytes(bytes(data))
    return f"{digest.name}\tINVALID: not a readable gzip file"


def change_a_digests_signature(bucket: Path) -> str:
    digest = digests(bucket)[-1]
    meta = json.loads(sidecar(digest).read_text())
    signature = meta["x-amz-meta-signature"]
    meta["x-amz-meta-signature"] = ("0" if signature[0] != "0" else "1") + signature[1:]
    sidecar(digest).write_text(json.dumps(meta))
    return f"{digest.name}\tINVALID: signature verification failed"


def delete_a_digests_metadata(bucket: Path) -> str:
    digest = digests(bucket)[1]
    sidecar(digest).unlink()
    return f"{digest.name}\tINVALID: signature verification failed (no signature)"


def change_previous_digest_signature(bucket: Path) -> str:
    digest = digests(bucket)[2]
    _edit_digest(digest, lambda d: d.update(previousDigestSignature="00" * 256))
    return f"{digest.name}\tINVALID: signature verification failed"


def change_previous_digest_hash(bucket: Path) -> str:
    digest = digests(bucket)[2]
    _edit_digest(digest, lambda d: d.update(previousDigestHashValue="00" * 32))
    return f"{digest.name}\tINVALID: signature verification failed"


def change_a_digests_time_fields(bucket: Path) -> str:
    digest = digests(bucket)[1]
    _edit_digest(digest, lambda d: d.update(digestStartTime="2025-12-31T23:00:00Z"))
    return f"{digest.name}\tINVALID: signature verification failed"


def drop_a_log_file_from_a_digest(bucket: Path) -> str:
    digest = digests(bucket)[1]
    _edit_digest(digest, lambda d: d.update(logFiles=d["logFiles"][1:]))
    return f"{digest.name}\tINVALID: signature verification failed"


def delete_a_middle_digest(bucket: Path) -> str:
    digest = digests(bucket)[1]
    digest.unlink()
    sidecar(digest).unlink()
    return f"INVALID: previous digest {digest.relative_to(bucket)} not found"


def delete_the_oldest_digest(bucket: Path) -> str:
    digest = digests(bucket)[0]
    digest.unlink()
    sidecar(digest).unlink()
    return f"INVALID: previous digest {digest.relative_to(bucket)} not found"


def delete_the_newest_digest(bucket: Path) -> str:
    digest = digests(bucket)[-1]
    digest.unlink()
    sidecar(digest).unlink()
    return "INVALID: not found: the server delivered a digest at 2026-01-01T00:30:00Z, the newest here ends 2026-01-01T00:22:30Z"


def delete_the_newest_digest_and_its_log_files(bucket: Path) -> str:
    digest = digests(bucket)[-1]
    for name in _listed(digest):
        next(p for p in logs(bucket) if p.name == name).unlink()
    digest.unlink()
    sidecar(digest).unlink()
    return "INVALID: not found: the server delivered a digest at 2026-01-01T00:30:00Z, the newest here ends 2026-01-01T00:22:30Z"


def delete_every_digest(bucket: Path) -> str:
    for digest in digests(bucket):
        digest.unlink()
        sidecar(digest).unlink()
    return "INVALID: not found: the server delivered a digest at 2026-01-01T00:30:00Z, none is here"


def replace_a_digest_with_gzip_of_not_json(bucket: Path) -> str:
    digest = digests(bucket)[1]
    digest.write_bytes(gzip.compress(b"not json"))
    return f"{digest.name}\tINVALID: not valid JSON"


def replace_a_digest_with_a_json_array(bucket: Path) -> str:
    digest = digests(bucket)[1]
    digest.write_bytes(gzip.compress(b'[{"digestS3Object": "x"}]'))
    return f"{digest.name}\tINVALID: not a JSON object"


def replace_a_digest_with_an_object_of_wrong_fields(bucket: Path) -> str:
    digest = digests(bucket)[1]
    digest.write_bytes(gzip.compress(b'{"digestStartTime": 5, "logFiles": "x"}'))
    return f"{digest.name}\tINVALID: digestStartTime is missing or not a string"


def replay_an_older_digest_as_the_newest(bucket: Path) -> str:
    first, newest = digests(bucket)[0], digests(bucket)[-1]
    shutil.copy(first, newest)
    shutil.copy(sidecar(first), sidecar(newest))
    return f"{newest.name}\tINVALID: has been moved from its original location"


def copy_a_digest_elsewhere(bucket: Path) -> str:
    first = digests(bucket)[0]
    elsewhere = bucket / "moved" / first.name
    elsewhere.parent.mkdir()
    shutil.copy(first, elsewhere)
    shutil.copy(sidecar(first), sidecar(elsewhere))
    return f"moved/{first.name}\tINVALID: has been moved from its original location"


def sign_a_digest_with_another_key(bucket: Path) -> str:
    digest = digests(bucket)[1]
    key, fingerprint = _attacker()
    _resign(digest, lambda d: d.update(logFiles=d["logFiles"][1:]), key, fingerprint)
    return f"{digest.name}\tINVALID: public key not found for fingerprint {fingerprint}"


def sign_a_digest_with_another_key_under_the_real_fingerprint(bucket: Path) -> str:
    digest = digests(bucket)[1]
    real = json.loads(gzip.decompress(digest.read_bytes()))["digestPublicKeyFingerprint"]
    key, _ = _attacker()
    _resign(digest, lambda d: d.update(logFiles=d["logFiles"][1:]), key, real)
    return f"{digest.name}\tINVALID: signature verification failed"


def use_another_digests_signature(bucket: Path) -> str:
    first, second = digests(bucket)[0], digests(bucket)[1]
    shutil.copy(sidecar(first), sidecar(second))
    return f"{second.name}\tINVALID: signature verification failed"


TAMPERINGS = [
    edit_a_record,
    delete_a_log_file,
    add_a_forged_log_file,
    add_a_log_file_not_named_as_cloudtrail_names_them,
    corrupt_a_log_files_gzip_stream,
    swap_two_log_files,
    rename_a_log_file,
    truncate_a_digest,
    corrupt_a_digests_gzip_stream,
    change_a_digests_signature,
    delete_a_digests_metadata,
    change_previous_digest_signature,
    change_previous_digest_hash,
    change_a_digests_time_fields,
    drop_a_log_file_from_a_digest,
    delete_a_middle_digest,
    delete_the_oldest_digest,
    delete_the_newest_digest,
    delete_the_newest_digest_and_its_log_files,
    delete_every_digest,
    replace_a_digest_with_gzip_of_not_json,
    replace_a_digest_with_a_json_array,
    replace_a_digest_with_an_object_of_wrong_fields,
    replay_an_older_digest_as_the_newest,
    copy_a_digest_elsewhere,
    sign_a_digest_with_another_key,
    sign_a_digest_with_another_key_under_the_real_fingerprint,
    use_another_digests_signature,
]
CUT_TAILS = {delete_the_newest_digest, delete_the_newest_digest_and_its_log_files, delete_every_digest}


def test_the_untouched_trail_is_valid(trail: Trail) -> None:
    assert len(digests(trail.bucket)) == 4 and len(logs(trail.bucket)) == 20
    for extra in ((), ("--trail-status", str(trail.status)), ("--trail-status", str(trail.status), "--trail", "main")):
        result = validate(trail, *extra)
        assert result.exit_code == 0, result.output
        assert "4/4 digest files valid\n20/20 log files valid\n" in result.output and "INVALID" not in result.output


def test_recompressing_a_log_file_changes_nothing(trail: Trail) -> None:
    """The digests hash the uncompressed content: a log file gzipped again (another level) is still valid."""
    log = _middle_log(trail.bucket)
    log.write_bytes(gzip.compress(gzip.decompress(log.read_bytes()), compresslevel=1))
    result = validate(trail, "--trail-status", str(trail.status))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("tamper", TAMPERINGS, ids=[t.__name__ for t in TAMPERINGS])
def test_every_tampering_is_invalid(trail: Trail, tamper: Callable[[Path], str]) -> None:
    """Each with the public keys alone, but for the cut tails: those need the server's newest digest."""
    expected = tamper(trail.bucket)
    result = validate(trail, *(("--trail-status", str(trail.status)) if tamper in CUT_TAILS else ()))
    assert result.exit_code == 1, result.output
    assert expected in result.output, result.output


def test_without_the_servers_word_a_cut_tail_goes_unseen(trail: Trail) -> None:
    """What the bucket alone cannot tell (and `aws cloudtrail validate-logs` does not see either): the newest
    digest and its log files deleted leave a shorter chain that is whole. Only the server's newest digest
    (--trail-status, or --endpoint-url) shows it."""
    delete_the_newest_digest_and_its_log_files(trail.bucket)
    assert validate(trail).exit_code == 0
    assert validate(trail, "--trail-status", str(trail.status)).exit_code == 1


def test_log_files_past_the_newest_digest_are_noted_not_judged(trail: Trail) -> None:
    """Log files delivered after the newest digest are not listed yet (their digest is due later)."""
    newest = digests(trail.bucket)[-1]
    newest.unlink()
    sidecar(newest).unlink()
    result = validate(trail)
    assert result.exit_code == 0, result.output
    assert "not covered by any digest" in result.output


@pytest.fixture
def several(trail: Trail) -> Iterator[Trail]:
    """The bucket with the digests of a second trail (copies renamed: they are INVALID as moved)."""
    for digest in digests(trail.bucket)[:1]:
        other = digest.with_name(digest.name.replace("_main_", "_other_"))
        shutil.copy(digest, other)
        shutil.copy(sidecar(digest), sidecar(other))
    yield trail


def test_a_status_of_one_of_several_trails_needs_the_trail(several: Trail) -> None:
    result = validate(several, "--trail-status", str(several.status))
    assert result.exit_code == 2 and "name one with --trail" in result.output
    result = validate(
        several, "--trail-status", str(several.status), "--trail", f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/main"
    )
    assert result.exit_code == 1 and "_other_" in result.output and "has been moved" in result.output
    assert "the server delivered a digest" not in result.output


def test_a_status_file_without_the_newest_digest_time_is_refused(trail: Trail, tmp_path: Path) -> None:
    status = tmp_path / "status.json"
    status.write_text(json.dumps({"IsLogging": True}))
    result = validate(trail, "--trail-status", str(status))
    assert result.exit_code == 2 and "LatestDigestDeliveryTime" in result.output


def test_the_trail_is_validated_in_the_store_that_holds_it(pristine: Trail, tmp_path: Path) -> None:
    """`--data DIR`: the bucket read through the store, as the engine wrote it; a record edited there is seen."""
    data = Path(shutil.copytree(pristine.data, tmp_path / "data"))
    arguments = ["trail", "validate", "logs", "--data", str(data), "--public-keys", str(pristine.keys)]
    arguments += ["--trail-status", str(pristine.status)]
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 0 and "4/4 digest files valid\n20/20 log files valid\n" in result.output, result.output
    with objects_in(data) as objects:
        key = keys(objects, "logs", _middle_log(pristine.bucket).name)[0]
        content = json.loads(gzip.decompress(read(objects, "logs", key)))
        content["Records"][0]["eventName"] = "DeleteRule"
        StoreBuckets(objects, ManualClock(START)).put("logs", key, gzip.compress(json.dumps(content).encode()))
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 1 and f"{key.rsplit('/', 1)[-1]}\tINVALID: hash value doesn't match" in result.output
    result = CliRunner().invoke(cli, [*arguments[:2], "nope", *arguments[3:]])
    assert result.exit_code == 2 and "nope is not a bucket of" in result.output, result.output
    result = CliRunner().invoke(cli, [*arguments[:4], str(tmp_path / "empty"), *arguments[5:]])
    assert result.exit_code == 2 and "is not a trailbridge data directory" in result.output, result.output
    assert not (tmp_path / "empty").exists()  # not made by looking


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.setenv(name, "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _validate_at(trail: Trail, endpoint: str) -> Result:
    result = CliRunner().invoke(cli, ["trail", "validate", str(trail.bucket), "--endpoint-url", endpoint])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"validate raised {result.exception!r}:\n{result.output}") from result.exception
    return result


@pytest.mark.usefixtures("no_credentials")
def test_an_endpoint_without_credentials_is_a_one_line_error(trail: Trail) -> None:
    result = _validate_at(trail, f"http://127.0.0.1:{free_port()}")
    assert result.exit_code == 1, result.output
    assert "Error: no AWS credentials for http://127.0.0.1:" in result.output and "Traceback" not in result.output


def test_an_unreachable_endpoint_is_a_one_line_error(trail: Trail, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCOUNT)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = _validate_at(trail, f"http://127.0.0.1:{free_port()}")
    assert result.exit_code == 1, result.output
    assert "Error: cannot read the trail: Could not connect to the endpoint URL" in result.output


def test_a_trailbridge_endpoint_vouches_for_the_untouched_trail(pristine: Trail, trail: Trail) -> None:
    """--endpoint-url: ListPublicKeys, DescribeTrails and GetTrailStatus from the server that wrote the trail."""
    server = Server("--data", str(pristine.data), env={"AWS_ACCESS_KEY_ID": ACCOUNT})
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AWS_ACCESS_KEY_ID", ACCOUNT)
            patch.setenv("AWS_SECRET_ACCESS_KEY", "x")
            result = _validate_at(trail, server.url)
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    assert "4/4 digest files valid\n20/20 log files valid\n" in result.output and "INVALID" not in result.output


def test_a_multi_region_trail_is_judged_region_by_region(tmp_path: Path) -> None:
    trail = build(tmp_path / "data", (REGION, "eu-west-1"))
    regions = {p.parts[-5] for p in digests(trail.bucket)}
    assert regions == {REGION, "eu-west-1"}
    result = validate(trail, "--trail-status", str(trail.status))
    assert result.exit_code == 0 and "INVALID" not in result.output, result.output
    europe = [p for p in logs(trail.bucket) if "_eu-west-1_" in p.name]
    forged = europe[len(europe) // 2].with_name(europe[len(europe) // 2].name.rsplit("_", 1)[0] + "_Forged.json.gz")
    forged.write_bytes(gzip.compress(b'{"Records":[]}'))
    result = validate(trail, "--trail-status", str(trail.status))
    assert result.exit_code == 1 and f"{forged.name}\tINVALID: not listed in any valid digest" in result.output
    forged.unlink()
    newest = max((p for p in digests(trail.bucket) if "_eu-west-1_" in p.name), key=lambda p: p.name)
    newest.unlink()
    newest.with_name(newest.name + ".s3meta.json").unlink()
    result = validate(trail, "--trail-status", str(trail.status))
    assert result.exit_code == 1, result.output  # us-east-1's newest is still the server's newest
    assert "CloudTrail-Digest/eu-west-1/\tINVALID: not found: the server delivered a digest at" in result.output


def test_a_log_file_in_a_folder_no_digest_covers_is_noted(trail: Trail) -> None:
    """A region folder without any digest (a trail without validation may write there) is not judged."""
    model = _middle_log(trail.bucket)
    elsewhere = Path(str(model).replace("/us-east-1/", "/ap-south-1/").replace("_us-east-1_", "_ap-south-1_"))
    elsewhere.parent.mkdir(parents=True)
    shutil.copy(model, elsewhere)
    result = validate(trail)
    assert result.exit_code == 0 and "1 log file(s) not covered by any digest" in result.output, result.output


def test_a_region_that_joins_late_is_not_a_cut_tail(tmp_path: Path) -> None:
    """Its digests run on their own clock (the first window begins at StartLogging, and is due at once)."""
    trail = build(tmp_path / "data", (REGION, "eu-west-1"), joins=23)
    europe = sorted(p.name[-21:] for p in digests(trail.bucket) if p.parts[-5] == "eu-west-1")
    usa = sorted(p.name[-21:] for p in digests(trail.bucket) if p.parts[-5] == REGION)
    assert europe[0] not in usa  # not written at the same ticks
    result = validate(trail, "--trail-status", str(trail.status))
    assert result.exit_code == 0 and "INVALID" not in result.output, result.output


ON_S3 = [
    edit_a_record,
    delete_a_log_file,
    add_a_forged_log_file,
    corrupt_a_log_files_gzip_stream,
    delete_a_digests_metadata,
    delete_a_middle_digest,
    delete_the_newest_digest_and_its_log_files,
    replace_a_digest_with_gzip_of_not_json,
    replace_a_digest_with_a_json_array,
]


@pytest.mark.parametrize("tamper", [None, *ON_S3], ids=["untouched", *(t.__name__ for t in ON_S3)])
def test_a_trail_on_s3(
    trail: Trail, tamper: Callable[[Path], str] | None, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same trail in an S3 bucket (moto), its signatures in the objects' metadata."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    expected = tamper(trail.bucket) if tamper is not None else None
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION)
    name = f"tamper-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    for path in trail.bucket.rglob("*.json.gz"):
        meta = json.loads(sidecar(path).read_text()) if sidecar(path).exists() else {}
        metadata = {k.removeprefix("x-amz-meta-"): v for k, v in meta.items()}
        s3.put_object(Bucket=name, Key=str(path.relative_to(trail.bucket)), Body=path.read_bytes(), Metadata=metadata)
    arguments = ["trail", "validate", f"s3://{name}", "--bucket", "logs", "--s3-endpoint-url", s3_endpoint]
    arguments += ["--public-keys", str(trail.keys), "--trail-status", str(trail.status)]
    result = CliRunner().invoke(cli, arguments)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"validate raised {result.exception!r}:\n{result.output}") from result.exception
    if expected is None:
        assert result.exit_code == 0 and "4/4 digest files valid\n20/20 log files valid\n" in result.output
    else:
        assert result.exit_code == 1 and expected in result.output, result.output


def test_a_trailbridge_endpoint_sees_a_cut_tail(pristine: Trail, trail: Trail) -> None:
    """--endpoint-url: GetTrailStatus's LatestDigestDeliveryTime from the server that wrote the trail."""
    delete_the_newest_digest_and_its_log_files(trail.bucket)
    server = Server("--data", str(pristine.data), env={"AWS_ACCESS_KEY_ID": ACCOUNT})
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AWS_ACCESS_KEY_ID", ACCOUNT)
            patch.setenv("AWS_SECRET_ACCESS_KEY", "x")
            result = _validate_at(trail, server.url)
    finally:
        server.stop()
    assert result.exit_code == 1, result.output
    assert "INVALID: not found: the server delivered a digest at 2026-01-01T00:30:00Z" in result.output
