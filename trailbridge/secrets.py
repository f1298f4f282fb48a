"""The key that seals stored secrets (connection passwords, API keys, OAuth client secrets, secret HTTP
parameters, trail signing keys), and the sealing itself: Fernet.

The key lives in `secret.key` in the data directory (or the file `secret_key_file` names: every node on one
database needs the same key), created on first use, readable by the owner only (0600; an existing key file of
ours that others could read is tightened). Anyone with the data directory or the database but not that file
cannot read the secrets; back the two up separately.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken

from trailbridge.errors import TrailbridgeError
from trailbridge.filemodes import tighten


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def in_directory(cls, directory: Path) -> SecretBox:
        return cls.in_file(directory / "secret.key")

    @classmethod
    def in_file(cls, path: Path) -> SecretBox:
        """The key in `path`, made there first if there is none (nodes that share a database share this file)."""
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(Fernet.generate_key())
        else:
            tighten(path)
        return cls(path.read_bytes().strip())

    @classmethod
    def ephemeral(cls) -> SecretBox:
        return cls(Fernet.generate_key())

    def seal(self, values: dict[str, Any]) -> str:
        return self._fernet.encrypt(orjson.dumps(values)).decode()

    def open(self, token: str) -> dict[str, Any]:
        try:
            values: dict[str, Any] = orjson.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken:
            raise TrailbridgeError("connection secret cannot be decrypted: secret.key does not match") from None
        return values
