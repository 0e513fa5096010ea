"""Delivery channels behind small adapters: SMTP email, SMS providers."""

from __future__ import annotations

import logging
import smtplib
from email import policy
from email.message import EmailMessage

from .settings import NotificationSettings

log = logging.getLogger(__name__)


class SmtpEmail:
    def __init__(self, settings: NotificationSettings):
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.sender = settings.smtp_from
        self.user = settings.smtp_user
        self.password = settings.smtp_password
        self.starttls = settings.smtp_starttls

    def send(self, to: str, subject: str, body: str, attachment: dict | None = None) -> None:
        # No folding below 998 characters: folding Vietnamese subjects into several
        # encoded words loses the spaces between them in common readers.
        msg = EmailMessage(policy=policy.default.clone(max_line_length=998))
        msg["From"], msg["To"], msg["Subject"] = self.sender, to, subject
        msg.set_content(body)
        if attachment:
            maintype, subtype = attachment["content_type"].split("/", 1)
            msg.add_attachment(
                attachment["content"], maintype=maintype, subtype=subtype, filename=attachment["filename"]
            )
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(msg)


class LogSms:
    """Default SMS adapter: records the message in the log (no provider contacted)."""

    def send(self, to: str, text: str) -> None:
        log.info("SMS to …%s: %s", to[-2:], text)


def sms_adapter(name: str) -> LogSms:
    """The adapter SMS_ADAPTER names (its setting admits only the names known here)."""
    if name == "log":
        return LogSms()
    raise ValueError(f"unknown SMS_ADAPTER {name!r}")
