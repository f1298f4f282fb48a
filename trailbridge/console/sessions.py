"""The console's sessions: a signed cookie naming the session and its access key, and the CSRF token that
every change made from a session's pages must carry.

The cookie is `BASE64URL(JSON {"sid", "key", "exp"}).HMAC-SHA256` under a key drawn when the process starts:
it holds the access key id, never its secret, and cannot be forged or extended. A session with no key is an
anonymous one (the console without --auth, or the login page before signing in); it exists so that the login
form and every other POST carry a CSRF token too. The token is an HMAC of the session id under the same key
(it changes with every new session: signing in draws a new id). Logging out revokes the session id for the
rest of its life; both the key and the revocations are this process's (a restart signs everyone out).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson

COOKIE = "trailbridge_console"
SESSION_SECONDS = 12 * 3600  # as the AWS console's sign-in session
_TOKEN_BYTES = 24


@dataclass(frozen=True)
class Session:
    sid: str
    access_key: str  # "" for an anonymous session
    expires: float

    @property
    def signed_in(self) -> bool:
        return bool(self.access_key)


class SessionSigner:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._key = secrets.token_bytes(32)
        self._clock = clock
        self._revoked: dict[str, float] = {}  # session id -> when it would have expired

    def new(self, access_key: str = "") -> Session:
        return Session(secrets.token_urlsafe(_TOKEN_BYTES), access_key, self._clock() + SESSION_SECONDS)

    def cookie(self, session: Session) -> str:
        payload = orjson.dumps({"sid": session.sid, "key": session.access_key, "exp": session.expires})
        body = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
        return f"{body}.{self._mac(body)}"

    def session(self, cookie: str | None) -> Session | None:
        """The live session a cookie names, or None for a missing, forged, expired or revoked one."""
        body, _, mac = (cookie or "").partition(".")
        if not body or not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            fields = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            session = Session(str(fields["sid"]), str(fields["key"]), float(fields["exp"]))
        except (ValueError, KeyError, TypeError):
            return None
        if session.expires <= self._clock() or session.sid in self._revoked:
            return None
        return session

    def csrf_token(self, session: Session) -> str:
        return self._mac("csrf:" + session.sid)

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token), self.csrf_token(session))

    def revoke(self, session: Session) -> None:
        now = self._clock()
        self._revoked = {sid: until for sid, until in self._revoked.items() if until > now}
        self._revoked[session.sid] = session.expires

    def _mac(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()
