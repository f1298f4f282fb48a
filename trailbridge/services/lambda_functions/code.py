"""A function's code: the zip as given (ZipFile bytes, or an object of trailbridge's own S3 the caller may
read), checked as Lambda checks it and more (a zip whose entries would land outside its root is refused),
kept on the `Objects` port where no S3 caller reaches it, unpacked once for the workers, and the URL
GetFunction gives to download it.

The zips of an account are in the bucket `lambda_code_<account>`, keyed by their SHA-256 in hex. S3 could
never create that name (`_` is not allowed in bucket names), its owner is no account (`lambda`), so
ListBuckets shows it to nobody, and its policy denies every S3 action to everyone, so that GetObject,
ListObjects or PutBucketPolicy by name are refused too."""

from __future__ import annotations

import atexit
import base64
import hashlib
import io
import os
import shutil
import stat
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

import orjson
from cryptography.fernet import InvalidToken

from trailbridge.errors import TrailbridgeError
from trailbridge.services.base import Engine, ServiceError
from trailbridge.services.lambda_functions.common import invalid
from trailbridge.storage.ports import Bucket, StoredObject

ZIPPED_LIMIT = 50 * 1024 * 1024  # 52428800: a zip in the request (CodeSizeZipped)
UNZIPPED_LIMIT = 250 * 1024 * 1024  # 262144000: what it unpacks to (CodeSizeUnzipped)
REQUEST_LIMIT = 69905067  # the request AWS takes for that zip (its base64)
CODE_OWNER = "lambda"  # the owner of the code buckets: no caller's account
LOCATION_SECONDS = 600  # how long a Code.Location URL works (AWS: 10 minutes)
LOCATION_PATH = "/_trailbridge/lambda/code/"
_DENY_ALL = orjson.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "LambdaCodeOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}],
    }
).decode()
_NOT_A_ZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."
_unpack_lock = threading.Lock()
_scratch: list[Path] = []  # the temporary directory of an engine without a data directory (made once)
_unpacked: dict[tuple[Path, str], Path] = {}  # (data directory, CodeSha256) -> its unpacked directory


@dataclass(frozen=True)
class Code:
    """A checked zip: its bytes, Lambda's CodeSha256 (base64) and where it came from."""

    data: bytes
    sha256: str
    origin: dict[str, str]  # {} for ZipFile; S3Bucket, S3Key (and S3ObjectVersion) for an S3 object

    @property
    def hex(self) -> str:
        return sha_hex(self.sha256)


def sha_hex(code_sha256: str) -> str:
    return base64.b64decode(code_sha256).hex()


def code_bucket(account: str) -> str:
    return f"lambda_code_{account}"


def checked(data: bytes, origin: dict[str, str]) -> Code:
    """The zip as Lambda takes it: a zip, at most 250 MB unpacked, every entry a file or directory under the
    package's root."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise invalid(_NOT_A_ZIP) from None
    if sum(entry.file_size for entry in entries) > UNZIPPED_LIMIT:
        raise invalid(f"Unzipped size must be smaller than {UNZIPPED_LIMIT} bytes")
    for entry in entries:
        _check_entry(entry)
    _check_tree(entries)
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    return Code(data, digest, origin)


def _check_entry(entry: zipfile.ZipInfo) -> None:
    name = entry.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or (name[1:2] == ":") or "\x00" in name:
        raise invalid(f"{_NOT_A_ZIP} The entry '{entry.filename}' is outside the package's root.")
    if stat.S_ISLNK(entry.external_attr >> 16):
        raise invalid(f"{_NOT_A_ZIP} The entry '{entry.filename}' is a symbolic link.")


def _check_tree(entries: list[zipfile.ZipInfo]) -> None:
    """That no entry lies under, or is a directory named as, an entry that is a file (`lib`, and `lib/mod.py`
    or `lib/`)."""
    files = {_clean(e.filename) for e in entries if not e.is_dir()}
    for entry in entries:
        path = PurePosixPath(_clean(entry.filename))
        under = [path, *path.parents] if entry.is_dir() else list(path.parents)
        clash = next((str(p) for p in under if str(p) in files), None)
        if clash is not None:
            raise invalid(f"{_NOT_A_ZIP} The entry '{entry.filename}' lies under the file '{clash}'.")


def _clean(name: str) -> str:
    return str(PurePosixPath(name.replace("\\", "/")))


def given_zip(data: bytes, operation: str) -> Code:
    if len(data) > ZIPPED_LIMIT:
        raise ServiceError(
            "RequestEntityTooLargeException",
            f"Request must be smaller than {REQUEST_LIMIT} bytes for the {operation} operation",
            413,
        )
    return checked(data, {})


def from_s3(engine: Engine, account: str, region: str, params: dict[str, Any]) -> Code:
    """The zip of an S3 object, read as the caller through S3's own authorization point; S3's refusal is
    Lambda's InvalidParameterValueException that quotes it."""
    from trailbridge.services.s3.common import S3Service  # noqa: PLC0415 (S3's classes load its whole service)

    bucket_name, key, version = params.get("S3Bucket"), params.get("S3Key"), params.get("S3ObjectVersion")
    if not bucket_name or not key:
        raise invalid("Please provide a source for function code.")
    s3 = S3Service(engine, account, region)
    try:
        bucket = s3.bucket(bucket_name, "s3:GetObject", key)
        item = s3.stored(bucket, key, version)
        data = engine.objects.read(item.bucket, item.key)
    except ServiceError as exc:
        raise _s3_refused(exc.code, exc.message) from None
    if data is None:
        raise _s3_refused("NoSuchKey", "The specified key does not exist.")
    origin = {"S3Bucket": bucket_name, "S3Key": key} | ({"S3ObjectVersion": version} if version else {})
    return checked(data, origin)


def _s3_refused(code: str, message: str) -> ServiceError:
    return invalid(f"Error occurred while GetObject. S3 Error Code: {code}. S3 Error Message: {message}")


def code_of(engine: Engine, account: str, region: str, params: dict[str, Any], operation: str) -> Code:
    """The zip a CreateFunction's `Code` or an UpdateFunctionCode names: ZipFile or an S3 object, not both."""
    s3 = any(params.get(name) for name in ("S3Bucket", "S3Key", "S3ObjectVersion"))
    if params.get("ZipFile") is not None and s3:
        raise invalid("Please do not provide other FunctionCode parameters when providing a ZipFile.")
    if params.get("ImageUri"):
        raise invalid("Please don't provide ImageUri when updating a function with packageType Zip.")
    if params.get("ZipFile") is not None:
        return given_zip(bytes(params["ZipFile"]), operation)
    if s3:
        return from_s3(engine, account, region, params)
    raise invalid("Please provide a source for function code.")


def keep(engine: Engine, account: str, region: str, code: Code) -> None:
    """Write the zip into the account's code bucket (made on first use); the same zip is kept once."""
    name = code_bucket(account)
    if engine.objects.bucket(name) is None:
        engine.objects.create_bucket(Bucket(name, CODE_OWNER, region, engine.clock.now(), {"policy": _DENY_ALL}))
    key = f"{code.hex}.zip"
    if engine.objects.head(name, key) is None:
        etag = hashlib.md5(code.data, usedforsecurity=False).hexdigest()
        stored = StoredObject(name, key, len(code.data), etag, engine.clock.now(), {"ContentType": "application/zip"})
        engine.objects.put(stored, code.data)


def forget(engine: Engine, account: str, hex_digest: str) -> None:
    engine.objects.delete(code_bucket(account), [f"{hex_digest}.zip"])


def zip_bytes(engine: Engine, account: str, code_sha256: str) -> bytes | None:
    return engine.objects.read(code_bucket(account), f"{sha_hex(code_sha256)}.zip")


# -- Code.Location ----------------------------------------------------------------------------


def location(engine: Engine, account: str, configuration: dict[str, Any], origin: dict[str, str]) -> str:
    """Where GetFunction's caller downloads the zip: the S3 object it came from, else trailbridge's own URL
    `{endpoint}/_trailbridge/lambda/code/<account>/<sha hex>.zip?token=...`, whose sealed token names the
    account and digest and expires after 10 minutes (`code_at` reads it)."""
    base = engine.settings.endpoint_url
    if origin.get("S3Bucket"):
        url = f"{base}/{origin['S3Bucket']}/{quote(origin['S3Key'])}"
        return url + (f"?versionId={quote(origin['S3ObjectVersion'])}" if origin.get("S3ObjectVersion") else "")
    hex_digest = sha_hex(configuration["CodeSha256"])
    expires = engine.clock.now() + LOCATION_SECONDS
    token = engine.secrets.seal({"account": account, "sha": hex_digest, "expires": expires})
    return f"{base}{LOCATION_PATH}{account}/{hex_digest}.zip?token={token}"


def code_at(engine: Engine, account: str, file_name: str, token: str) -> bytes | None:
    """The zip a Code.Location URL names (`<account>/<file_name>` after LOCATION_PATH, its `token` query
    parameter), or None when the token is not one trailbridge sealed for that zip or has expired."""
    try:
        sealed = engine.secrets.open(token)
    except (InvalidToken, TrailbridgeError, ValueError, TypeError):
        return None
    if sealed.get("account") != account or f"{sealed.get('sha')}.zip" != file_name:
        return None
    if float(sealed.get("expires", 0)) < engine.clock.now():
        return None
    return engine.objects.read(code_bucket(account), file_name)


# -- unpacking --------------------------------------------------------------------------------


def functions_dir(engine: Engine) -> Path:
    """`<data_dir>/functions` of a served trailbridge (its data directory holds its state or key), else a
    temporary directory of this process."""
    data = engine.settings.data_dir
    if data.is_dir() and any((data / name).exists() for name in ("trailbridge.sqlite3", "secret.key")):
        return data / "functions"
    with _unpack_lock:
        if not _scratch:
            _scratch.append(Path(tempfile.mkdtemp(prefix="trailbridge-functions-")))
            atexit.register(_remove, _scratch[0])
    return _scratch[0]


def unpacked(engine: Engine, code_sha256: str, account: str) -> Path:
    """The directory the zip of `code_sha256` (of `account`'s code bucket) is unpacked in, once:
    `<data_dir>/functions/<sha hex>/`, files and directories read-only. LookupError when no such zip is kept."""
    known = _unpacked.get((engine.settings.data_dir, code_sha256))
    if known is not None:  # unpacked by this process already: its content is its name, it never changes
        return known
    hex_digest = sha_hex(code_sha256)
    root = functions_dir(engine) / hex_digest
    if root.is_dir():
        _unpacked[(engine.settings.data_dir, code_sha256)] = root
        return root
    data = zip_bytes(engine, account, code_sha256)
    if data is None:
        raise LookupError(f"no code {code_sha256} for account {account}")
    with _unpack_lock:
        if not root.is_dir():
            root.parent.mkdir(parents=True, exist_ok=True)
            scratch = Path(tempfile.mkdtemp(prefix=f".{hex_digest}-", dir=root.parent))
            try:
                _extract(data, scratch)
                os.rename(scratch, root)
            except OSError:
                _remove(scratch)
                if not root.is_dir():  # another process on this data directory unpacked it first: theirs is kept
                    raise
            except BaseException:
                _remove(scratch)
                raise
    _unpacked[(engine.settings.data_dir, code_sha256)] = root
    return root


def _extract(data: bytes, into: Path) -> None:
    """Every entry written under `into` (its resolved path checked), its size bounded as declared."""
    base = into.resolve()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for entry in archive.infolist():
            _check_entry(entry)
            target = (base / entry.filename.replace("\\", "/")).resolve()
            if not target.is_relative_to(base) or (target == base and not entry.is_dir()):
                raise invalid(f"{_NOT_A_ZIP} The entry '{entry.filename}' is outside the package's root.")
            if entry.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            _copy(archive, entry, target)
    _read_only(base)


def _copy(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, target: Path) -> None:
    written = 0
    if target.is_file():  # an entry of the same name again: the last one is kept, as unzip keeps it
        target.unlink()
    with archive.open(entry) as source, target.open("xb") as out:
        while chunk := source.read(1 << 20):
            written += len(chunk)
            if written > entry.file_size:
                raise invalid(_NOT_A_ZIP)
            out.write(chunk)
    executable = (entry.external_attr >> 16) & 0o111
    target.chmod(0o555 if executable else 0o444)


def _read_only(base: Path) -> None:
    for folder, _, _ in os.walk(base, topdown=False):
        Path(folder).chmod(0o555)


def _remove(path: Path) -> None:
    for folder, _, files in os.walk(path):
        Path(folder).chmod(0o755)
        for name in files:
            (Path(folder) / name).chmod(0o644)
    shutil.rmtree(path, ignore_errors=True)
