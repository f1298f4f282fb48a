"""Email through the SMTP server the settings name (`smtp_url`): SNS's email and email-json subscriptions.

`smtp://HOST[:PORT]` speaks plain SMTP (port 25), `smtp+starttls://` upgrades with STARTTLS (587), `smtps://`
starts in TLS (465); `USER:PASSWORD@` logs in. The standard library's client runs in a worker thread, one
connection per message. A refusal the server calls permanent (5xx) fails the delivery for good; anything
else (4xx, a connection that fails, a timeout) is retried by the delivery policy.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

from trailbridge.delivery.retry import DeliveryFailure

_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class Mailer:
    def __init__(self, url: str, sender: str, timeout: float) -> None:
        parts = urlsplit(url)
        self.scheme, self.host = parts.scheme, parts.hostname or "localhost"
        self.port = parts.port or _PORTS.get(parts.scheme, 25)
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else ""
        self.sender, self.timeout = sender, timeout

    @property
    def shown(self) -> str:
        """Where mail goes, without the password (for messages and logs)."""
        return f"{self.scheme}://{self.host}:{self.port}"

    async def send(self, to: str, subject: str, text: str, sender: str | None = None) -> None:
        """Send one message (from `sender`, else the settings' sender); raises DeliveryFailure."""
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = sender or self.sender, to, subject
        message["Date"], message["Message-ID"] = formatdate(localtime=False), make_msgid(domain="sns.trailbridge")
        message.set_content(text)
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        try:
            with self._connect() as client:
                if self._user is not None:
                    client.login(self._user, self._password)
                client.send_message(message)
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
            raise DeliveryFailure(
                f"SMTP_{exc.smtp_code}", f"{self.shown} answered {exc.smtp_code}: {text}", retryable=not permanent
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailure(
                "SMTP_RECIPIENT_REFUSED", f"{self.shown} refused {', '.join(exc.recipients)}", retryable=False
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailure("SMTP_CONNECTION_FAILURE", f"{self.shown}: {exc or type(exc).__name__}") from None

    def _connect(self) -> smtplib.SMTP:
        if self.scheme == "smtps":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.scheme == "smtp+starttls":
            try:
                client.starttls(context=ssl.create_default_context())
            except BaseException:
                client.close()
                raise
        return client
