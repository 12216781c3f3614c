"""A local SMTP server for the demo and the tests (aiosmtpd): it accepts every message and
keeps it, in memory and, when given a folder, as one .eml file each, so that what Paddock sent
can be read. Not for production: it delivers nowhere."""

from __future__ import annotations

import email
import email.policy
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Inbox:
    """What the server received. `refuse` makes it answer every message with that reply
    (e.g. "451 4.3.0 try later"), to test retries."""

    folder: Path | None = None
    messages: list[EmailMessage] = field(default_factory=list)
    refuse: str = ""
    echo: bool = False  # print a line per message (the demo's console)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def keep(self, raw: bytes) -> None:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
            if self.folder is not None:
                self.folder.mkdir(parents=True, exist_ok=True)
                (self.folder / f"{len(self.messages):05d}.eml").write_bytes(raw)
            if self.echo:
                print(f"mail to {message['To']}: {message['Subject']}", flush=True)

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address.lower() in str(m["To"]).lower()]


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.inbox.refuse:
            return self.inbox.refuse
        content: Any = envelope.original_content or envelope.content
        self.inbox.keep(content if isinstance(content, bytes) else str(content).encode())
        return "250 Message accepted for delivery"


class DevServer:
    """`with DevServer() as server:` listens on 127.0.0.1 at a free port (or the one given)."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, folder: Path | None = None, echo: bool = False
    ):
        self.inbox = Inbox(folder, echo=echo)
        port = port or _free_port()
        self._controller = Controller(_Handler(self.inbox), hostname=host, port=port)
        self.host = host
        self.port = self._controller.port

    def start(self) -> DevServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
