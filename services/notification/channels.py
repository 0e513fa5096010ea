"""Delivery channels behind small adapters: SMTP email, SMS providers."""
from __future__ import annotations

import logging
import smtplib
from email import policy
from email.message import EmailMessage

log = logging.getLogger(__name__)


class SmtpEmail:
    def __init__(self, config: dict):
        self.host = config.get("SMTP_HOST", "127.0.0.1")
        self.port = int(config.get("SMTP_PORT", 8025))
        self.sender = config.get("SMTP_FROM", "cong-dvc@localhost")
        self.user = config.get("SMTP_USER") or None
        self.password = config.get("SMTP_PASSWORD") or None
        self.starttls = str(config.get("SMTP_STARTTLS", "false")).lower() == "true"

    def send(self, to: str, subject: str, body: str, attachment: dict | None = None) -> None:
        # No folding below 998 characters: folding Vietnamese subjects into several
        # encoded words loses the spaces between them in common readers.
        msg = EmailMessage(policy=policy.default.clone(max_line_length=998))
        msg["From"], msg["To"], msg["Subject"] = self.sender, to, subject
        msg.set_content(body)
        if attachment:
            maintype, subtype = attachment["content_type"].split("/", 1)
            msg.add_attachment(attachment["content"], maintype=maintype, subtype=subtype,
                               filename=attachment["filename"])
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


def sms_adapter(config: dict):
    name = config.get("SMS_ADAPTER", "log")
    if name == "log":
        return LogSms()
    raise ValueError(f"unknown SMS_ADAPTER {name!r}")
