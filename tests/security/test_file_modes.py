"""Issue 13, item 10: what trailbridge keeps on disk is its owner's only. A data directory it creates is 0700;
the SQLite database and its -wal/-shm files and the secret key are 0600 (and an older, wider file of ours is
tightened); trail log files and digests are objects in the database, so nothing else is written there."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.support.buckets import create_served_bucket, served_keys
from tests.support.server import Server
from trailbridge.runtime import Trailbridge
from trailbridge.secrets import SecretBox
from trailbridge.storage.sqlite import SqliteStore


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def loose_umask() -> object:
    """The usual umask (022), whatever the test runner's: modes must not depend on it."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_data_directory_and_its_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"
    with Trailbridge(data) as tb:
        tb.events().put_rule(Name="r", EventPattern='{"source": ["a"]}')  # something in the log
        db = data / "trailbridge.sqlite3"
        assert mode(data) == 0o700
        assert {name: mode(data / name) for name in ("trailbridge.sqlite3", "secret.key")} == {
            "trailbridge.sqlite3": 0o600,
            "secret.key": 0o600,
        }
        for suffix in ("-wal", "-shm"):
            assert Path(f"{db}{suffix}").exists()
            assert mode(Path(f"{db}{suffix}")) == 0o600, suffix


def test_wider_files_of_ours_are_tightened_and_an_existing_directory_is_kept(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)  # a folder the user gave (--data .): not ours to change
    SqliteStore(data / "trailbridge.sqlite3").close()
    SecretBox.in_directory(data)
    for name in ("trailbridge.sqlite3", "trailbridge.sqlite3-wal", "trailbridge.sqlite3-shm", "secret.key"):
        path = data / name
        path.touch()
        os.chmod(path, 0o644)  # as an older trailbridge left them
    store = SqliteStore(data / "trailbridge.sqlite3")
    SecretBox.in_directory(data)
    try:
        assert mode(data) == 0o755
        for name in ("trailbridge.sqlite3", "trailbridge.sqlite3-wal", "trailbridge.sqlite3-shm", "secret.key"):
            assert mode(data / name) == 0o600, name
    finally:
        store.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a file another user owns")
def test_another_users_file_is_not_changed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    SecretBox.in_directory(data)
    key = data / "secret.key"
    os.chown(key, 65534, 65534)
    os.chmod(key, 0o644)
    SecretBox.in_directory(data)
    assert mode(key) == 0o644  # not ours: reported by its mode, never chmod-ed behind its owner's back


def test_a_secret_key_in_a_new_directory_is_private(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    SecretBox.in_directory(folder)
    assert (mode(folder), mode(folder / "secret.key")) == (0o700, 0o600)


def test_a_servers_data_and_trail_files_are_private(account: str) -> None:
    process = Server(env={"TRAILBRIDGE_TRAIL_DELIVERY_SECONDS": "1", "TRAILBRIDGE_DIGEST_SECONDS": "1"})
    try:
        create_served_bucket(process.data, "audit")
        trail = process.client("cloudtrail", account)
        trail.create_trail(Name="trail", S3BucketName="audit", EnableLogFileValidation=True)
        trail.start_logging(Name="trail")
        process.client("events", account).put_rule(Name="r", EventPattern='{"source": ["a"]}')
        wait_for(lambda: served_keys(process.data, "audit", "*_CloudTrail_*.json.gz"), timeout=10)
        wait_for(lambda: served_keys(process.data, "audit", "*_CloudTrail-Digest_*.json.gz"), timeout=10)
        assert mode(process.data) == 0o700
        private = ("trailbridge.sqlite3", "trailbridge.sqlite3-wal", "trailbridge.sqlite3-shm", "secret.key")
        assert {name: oct(mode(process.data / name)) for name in private if mode(process.data / name) != 0o600} == {}
        written = {str(p.relative_to(process.data)) for p in process.data.rglob("*")}
        assert written <= {*private, "dispatcher.lock"}, written  # the trail's files are in the database
    finally:
        process.stop()
