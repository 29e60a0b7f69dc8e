"""Outgoing mail: SMTP in production, the console (and a readable outbox) in embedded mode."""

from __future__ import annotations

import smtplib
import ssl
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

from core.logging import get_logger
from core.settings import Settings

log = get_logger("mail")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


class Mailer(Protocol):
    def send(self, mail: Mail) -> None: ...


class ConsoleMailer:
    """Prints each message to the log; the last ones stay in `outbox` for a developer to read."""

    def __init__(self) -> None:
        self.outbox: deque[Mail] = deque(maxlen=50)

    def send(self, mail: Mail) -> None:
        self.outbox.append(mail)
        log.warning("mail.console", to=mail.to, subject=mail.subject, body=mail.body)


class SmtpMailer:
    """smtp://host:port (plain), smtp+starttls://… or smtps://… (TLS), user:password optional."""

    def __init__(self, url: str, sender: str, timeout_s: float = 20.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtp+starttls", "smtps") or not parts.hostname:
            raise ValueError(f"SKYIE_SMTP_URL {url!r} is not smtp://, smtp+starttls:// or smtps://")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (465 if parts.scheme == "smtps" else 587)
        self.username = unquote(parts.username or "")
        self.password = unquote(parts.password or "")
        self.sender = sender
        self.timeout_s = timeout_s

    def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        smtp: smtplib.SMTP
        if self.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout_s, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        with smtp:
            if self.scheme == "smtp+starttls":
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(message)
        log.info("mail.sent", to=mail.to, subject=mail.subject)


def make_mailer(settings: Settings) -> Mailer:
    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url, settings.mail_from)
    return ConsoleMailer()


def send_quietly(mailer: Mailer, mail: Mail) -> None:
    """For background sends: a mail server down must not surface as an error to anyone."""
    try:
        mailer.send(mail)
    except Exception:
        log.exception("mail.failed", to=mail.to, subject=mail.subject)
