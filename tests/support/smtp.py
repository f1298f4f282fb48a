"""A real SMTP server on loopback (aiosmtpd) for SNS's email subscriptions: records what it receives."""

from __future__ import annotations

import email
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.server import free_port


class Mailbox:
    """What the server received: each message, and the recipients it was sent to."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[Message] = []
        self.recipients: list[list[str]] = []

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


def text_of(message: Message) -> str:
    """A received message's text, with SMTP's CRLF line ends as LF."""
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode().replace("\r\n", "\n")


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
