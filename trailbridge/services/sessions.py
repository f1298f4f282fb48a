"""Temporary credentials trailbridge issues for a role: what a function's workers get for its execution role.

Lambda gives a function's code its role's credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN), so the calls the code makes are the role's, recorded with its `AssumedRole` identity
(`arn:aws:sts::ACCOUNT:assumed-role/ROLE/FUNCTION`). Here a session is self-contained, as AWS's are: its
token is the session itself (account, role, session name, secret key, times) sealed with the node's secret key
(`secret.key`), so every node that shares that key verifies a request signed with it, and nothing is stored.
The secret key is in clear nowhere but the worker's environment; a token is useless without the key it seals.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from trailbridge.aws.sigv4 import Credential
from trailbridge.aws.wire import WireError
from trailbridge.clock import Clock
from trailbridge.errors import TrailbridgeError
from trailbridge.secrets import SecretBox
from trailbridge.services.identities import AssumedRole, assumed_role_identity

SESSION_SECONDS = 12 * 3600  # the longest a role session lasts on AWS
RENEW_SECONDS = 6 * 3600  # a session is reissued once it is this old, well before it expires
_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # AWS's access key ids: upper-case base32
_OPENED_KEPT = 1024  # opened tokens kept, so a busy function's calls are not each decrypted
EXPIRED = "The security token included in the request is expired"


@dataclass(frozen=True)
class RoleSession:
    access_key: str  # ASIA..., as STS's temporary keys
    secret_key: str = field(repr=False)
    token: str = field(repr=False)
    issued: float
    expires: float


class RoleSessions:
    """Issues role sessions (one per account, role and session name, reissued when half their life is gone)
    and opens the credential of a request that carries one's token."""

    def __init__(self, box: SecretBox, clock: Clock) -> None:
        self.box, self.clock = box, clock
        self._issued: dict[tuple[str, str, str], RoleSession] = {}
        self._opened: dict[str, tuple[str, float, Credential]] = {}  # token -> access key, expiry, credential

    def issue(self, account: str, role_arn: str, session_name: str) -> RoleSession:
        now = self.clock.now()
        held = self._issued.get((account, role_arn, session_name))
        if held is not None and now - held.issued < RENEW_SECONDS:
            return held
        access_key = "ASIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
        secret_key = secrets.token_urlsafe(30)
        sealed = {
            "key": access_key,
            "secret": secret_key,
            "account": account,
            "role": role_arn,
            "session": session_name,
            "issued": now,
            "expires": now + SESSION_SECONDS,
        }
        session = RoleSession(access_key, secret_key, self.box.seal(sealed), now, now + SESSION_SECONDS)
        self._issued[(account, role_arn, session_name)] = session
        return session

    def credential(self, access_key: str, token: str) -> Credential | None:
        """The credential of the session `token` seals, when it was issued with `access_key` (None when the token
        is not one of ours). A session past its expiry is refused with AWS's ExpiredTokenException."""
        opened = self._opened.get(token) or self._open(token)
        if opened is None or opened[0] != access_key:
            return None
        if opened[1] <= self.clock.now():
            raise WireError("ExpiredTokenException", EXPIRED, 403)
        return opened[2]

    def _open(self, token: str) -> tuple[str, float, Credential] | None:
        try:
            values = self.box.open(token)
            key, role = (
                str(values["key"]),
                AssumedRole(
                    str(values["account"]),
                    str(values["role"]),
                    None,  # the role's id is derived from its ARN: the same role, the same principalId
                    str(values["session"]),
                    datetime.fromtimestamp(float(values["issued"]), UTC),
                ),
            )
            expires, secret = float(values["expires"]), str(values["secret"])
        except (TrailbridgeError, KeyError, TypeError, ValueError):
            return None  # not a token this node's key sealed (another issuer's, or made up)
        identity = assumed_role_identity(role, key).user_identity
        opened = (key, expires, Credential(secret, role.account, role.session_name, identity=identity))
        if len(self._opened) >= _OPENED_KEPT:
            self._opened.pop(next(iter(self._opened)))
        self._opened[token] = opened
        return opened
