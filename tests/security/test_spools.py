"""Issue 13, item 11: a `ServerSink` signs and sends its spool with its own credentials, so a spool another user
could write is never sent: spools live in a per-user folder (0700, a real folder of the current user's), are
created 0600 and never through a link, and a spool left by an ended process is taken over only if it is a
regular file the current user owns."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.http import Endpoint
from tests.support.server import free_port
from trailbridge.capture.sinks import ServerSink

ACCOUNT = "123456789012"
OTHER_UID = 65534  # nobody
PLANTED = b'record\t{"eventName":"Planted","marker":"planted-by-another-user"}\n'
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a file another user owns")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def spool_name(endpoint_url: str, pid: int) -> str:
    """The name a sink for this server and ACCOUNT gives its spool (trailbridge.capture.sinks)."""
    name = hashlib.sha256(f"{endpoint_url}|{ACCOUNT}".encode()).hexdigest()[:16]
    return f"trailbridge-spool-{name}-{pid}.jsonl"


def ended_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    """A temporary folder and a state home of the test's own, under the usual umask."""
    temporary, state = tmp_path / "tmp", tmp_path / "state"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    monkeypatch.setenv("TMPDIR", str(temporary))
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    old = os.umask(0o022)
    yield {"tmp": temporary, "state": state, "spool": state / "trailbridge" / "spool"}
    os.umask(old)


def sink_for(url: str, **options: object) -> ServerSink:
    return ServerSink(url, access_key=ACCOUNT, retry_seconds=0, flush_seconds=60, **options)  # type: ignore[arg-type]


def record() -> dict[str, object]:
    return {"eventName": "Mine", "eventTime": "2026-01-02T03:04:05Z", "awsRegion": "us-east-1"}


def test_spools_are_in_a_private_folder_and_private_files(places: dict[str, Path]) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: every record spools
    sink = sink_for(url)
    try:
        sink.put(record())
        sink.flush()
        assert sink.spool.parent == places["spool"] and sink.spool.exists()
        assert (mode(places["spool"]), mode(sink.spool)) == (0o700, 0o600)
        assert not list(places["tmp"].glob("trailbridge-spool-*"))  # nothing in the shared temporary folder
    finally:
        sink.close()


@needs_root
def test_a_spool_another_user_planted_is_never_sent(places: dict[str, Path], endpoint: Endpoint) -> None:
    pid = ended_pid()
    planted = []
    for folder in (places["tmp"], places["tmp"] / f"trailbridge-{os.geteuid()}", places["spool"]):
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / spool_name(endpoint.url, pid)
        path.write_bytes(PLANTED)
        os.chown(path, OTHER_UID, OTHER_UID)
        planted.append(path)
    sink = sink_for(endpoint.url)
    sink.put(record())
    sink.close()
    sent = "".join(request["body"] for request in endpoint.received("/_trailbridge/records"))
    assert "Mine" in sent and "planted-by-another-user" not in sent
    assert all(path.read_bytes() == PLANTED for path in planted)  # left where they are


def test_a_link_is_never_taken_over(places: dict[str, Path], endpoint: Endpoint, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.jsonl"  # e.g. a file of the victim's the link points at
    target.write_bytes(PLANTED)
    places["spool"].mkdir(parents=True)
    pid = ended_pid()
    links = [folder / spool_name(endpoint.url, pid) for folder in (places["tmp"], places["spool"])]
    for link in links:
        link.symlink_to(target)
    sink = sink_for(endpoint.url)
    sink.put(record())
    sink.close()
    sent = "".join(request["body"] for request in endpoint.received("/_trailbridge/records"))
    assert "Mine" in sent and "planted-by-another-user" not in sent
    assert all(link.is_symlink() for link in links) and target.read_bytes() == PLANTED


def test_a_spool_of_ours_left_by_an_ended_process_is_taken_over(places: dict[str, Path], endpoint: Endpoint) -> None:
    places["spool"].mkdir(parents=True, mode=0o700)
    left = places["spool"] / spool_name(endpoint.url, ended_pid())
    left.write_bytes(b"record\t" + json.dumps(record() | {"eventName": "LeftBehind"}).encode() + b"\n")
    sink = sink_for(endpoint.url)
    sink.close()
    sent = "".join(request["body"] for request in endpoint.received("/_trailbridge/records"))
    assert "LeftBehind" in sent and not left.exists()


@needs_root
def test_a_temporary_folder_another_user_made_is_refused(
    places: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker / "state"))  # cannot be made: the temporary folder is used
    squatted = places["tmp"] / f"trailbridge-{os.geteuid()}"
    squatted.mkdir(mode=0o777)
    os.chown(squatted, OTHER_UID, OTHER_UID)
    os.chmod(squatted, 0o777)
    sink = sink_for(f"http://127.0.0.1:{free_port()}")
    try:
        sink.put(record())
        sink.flush()
        folder = sink.spool.parent
        assert folder != squatted and os.lstat(folder).st_uid == os.geteuid() and mode(folder) == 0o700
        assert list(squatted.iterdir()) == []
    finally:
        sink.close()


def test_a_linked_temporary_folder_is_refused(
    places: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker / "state"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (places["tmp"] / f"trailbridge-{os.geteuid()}").symlink_to(elsewhere)
    sink = sink_for(f"http://127.0.0.1:{free_port()}")
    try:
        sink.put(record())
        sink.flush()
        assert sink.spool.parent.resolve() != elsewhere.resolve() and list(elsewhere.iterdir()) == []
        assert mode(sink.spool.parent) == 0o700 and mode(sink.spool) == 0o600
    finally:
        sink.close()


def test_the_temporary_folder_of_ours_is_used_when_there_is_no_state_home(
    places: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker / "state"))
    ours = places["tmp"] / f"trailbridge-{os.geteuid()}"
    ours.mkdir(mode=0o755)
    os.chmod(ours, 0o755)  # ours, but wider than it must be: tightened
    sink = sink_for(f"http://127.0.0.1:{free_port()}")
    try:
        assert sink.spool.parent == ours and mode(ours) == 0o700
    finally:
        sink.close()


def test_a_given_spool_is_not_written_through_a_link(tmp_path: Path) -> None:
    target = tmp_path / "victim.txt"
    target.write_text("keep me\n")
    link = tmp_path / "spool.jsonl"
    link.symlink_to(target)
    sink = sink_for(f"http://127.0.0.1:{free_port()}", spool=link)
    sink.put(record())
    sink.flush()
    sink.close()
    assert target.read_text() == "keep me\n"


def test_a_given_spool_an_older_trailbridge_left_wider_is_tightened(tmp_path: Path) -> None:
    spool = tmp_path / "spool.jsonl"
    spool.write_bytes(b"")
    os.chmod(spool, 0o644)
    sink = sink_for(f"http://127.0.0.1:{free_port()}", spool=spool)
    try:
        sink.put(record())
        sink.flush()
        assert mode(spool) == 0o600 or mode(Path(f"{spool}.sending")) == 0o600
    finally:
        sink.close()


@needs_root
def test_a_sending_file_another_user_planted_beside_a_given_spool_is_not_sent(
    tmp_path: Path, endpoint: Endpoint
) -> None:
    spool = tmp_path / "shared" / "spool.jsonl"
    spool.parent.mkdir()
    sending = Path(f"{spool}.sending")
    sending.write_bytes(PLANTED)
    os.chown(sending, OTHER_UID, OTHER_UID)
    sink = sink_for(endpoint.url, spool=spool)
    sink.put(record())
    sink.close()
    sent = "".join(request["body"] for request in endpoint.received("/_trailbridge/records"))
    assert "planted-by-another-user" not in sent
    assert sending.read_bytes() == PLANTED
