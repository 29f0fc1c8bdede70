"""Sending the portal's mail (password-reset links) through the configured SMTP server.

Plain text only, one recipient per message. The connection is upgraded with STARTTLS when
`smtp_starttls` is on (the server's certificate is checked) and logs in when `smtp_username` is
set. Failures raise (OSError or smtplib.SMTPException): the caller decides what a person sees.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from civicport.config import Settings

SMTP_TIMEOUT_SECONDS = 15


def mail_configured(settings: Settings) -> bool:
    """Whether the portal can send mail at all."""
    return bool(settings.smtp_host)


def send_mail(settings: Settings, *, to: str, subject: str, body: str) -> None:
    """Send one plain-text message from `mail_from` to `to`."""
    if not settings.smtp_host:
        raise RuntimeError("No mail server is configured (smtp_host)")
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        smtp.send_message(message)
