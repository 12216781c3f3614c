"""The SMTP client: smtplib over a connection to a checked address.

The server's host is resolved once per connection and every address checked as webhooks' are
(`webhooks/outbound.py`): a private, loopback, link-local or metadata address is refused unless
`allow_private` (PADDOCK_SMTP_ALLOW_PRIVATE, for the local demo server). The connection keeps
the host's name for STARTTLS or implicit TLS, so the certificate is checked against it.

One `Mailer` sends a pass's messages over one connection, opened on the first and opened
again after a failure. Each send answers what came of it: nothing (accepted), or why not and
whether trying again can help (a 5xx refusal of the recipient cannot)."""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from paddock.settings import Settings
from paddock.webhooks import outbound

UNREACHABLE = (outbound.AddressRefused, outbound.Unresolvable)
RULE = "mail goes to a public SMTP server only (or set PADDOCK_SMTP_ALLOW_PRIVATE)"


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str = "none"  # "starttls", "tls" or "none"
    user: str = ""
    password: str = ""
    sender: str = "Paddock <bookings@paddock.example>"
    allow_private: bool = False
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            user=settings.smtp_user,
            password=settings.smtp_password.get_secret_value(),
            sender=settings.mail_from,
            allow_private=settings.smtp_allow_private,
            timeout=settings.smtp_timeout,
        )


@dataclass(frozen=True)
class Outcome:
    error: str = ""  # empty: the server accepted the message
    permanent: bool = False  # retrying cannot help (a 5xx refusal)

    @property
    def delivered(self) -> bool:
        return not self.error


class _Vetted(smtplib.SMTP):
    allow_private = False

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        addresses = [host] if self.allow_private else outbound.vet(host, port, rule=RULE)
        failure: OSError | None = None
        for address in addresses:
            try:
                return socket.create_connection((address, port), timeout, self.source_address)
            except OSError as exc:
                failure = exc
        assert failure is not None
        raise failure


class _VettedTLS(smtplib.SMTP_SSL, _Vetted):
    """Implicit TLS: SMTP_SSL wraps the vetted socket, with the host's name for the check."""


class Mailer:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, message: EmailMessage) -> Outcome:
        if not self.config.host:
            return Outcome("no SMTP server is configured (PADDOCK_SMTP_HOST)")
        try:
            smtp = self._smtp or self._connect()
            smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            return Outcome(_reason(exc), permanent=all(500 <= c < 600 for c in codes))
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            self._drop()
            return Outcome(_reason(exc), permanent=500 <= exc.smtp_code < 600)
        except (smtplib.SMTPException, OSError, *UNREACHABLE) as exc:
            self._drop()
            return Outcome(_reason(exc))
        return Outcome()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._smtp = None

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        kind: Any = _VettedTLS if c.security == "tls" else _Vetted
        smtp: smtplib.SMTP = (
            kind(timeout=c.timeout, context=ssl.create_default_context())
            if c.security == "tls"
            else kind(timeout=c.timeout)
        )
        smtp.allow_private = c.allow_private  # type: ignore[attr-defined]
        smtp.connect(c.host, c.port)
        try:
            smtp.ehlo()
            if c.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if c.user:
                smtp.login(c.user, c.password)
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            except OSError:
                pass
            self._smtp = None


def _reason(exc: BaseException) -> str:
    """Why a message was not accepted, in one line (never the password)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = [f"{code} {_text(text)}" for code, text in exc.recipients.values()]
        return f"recipient refused: {'; '.join(parts)}"[:500]
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}"[:500]
    if isinstance(exc, outbound.AddressRefused | outbound.Unresolvable):
        return f"{type(exc).__name__}: {exc}"[:500]
    if isinstance(exc, TimeoutError | socket.timeout):
        return "no answer from the SMTP server within the time limit"
    if isinstance(exc, ConnectionRefusedError):
        return "could not connect to the SMTP server (connection refused)"
    return f"{type(exc).__name__}: {exc}"[:500]


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
