"""Telling people that a dataset needs them: a sync that failed its last attempt, or a dataset
that is overdue.

An alert goes by email to the dataset's owner and its contact address (through the configured
SMTP server, if any) and, when the dataset's source names one, as a JSON POST to a webhook
(Slack, Teams, an incident tool). Delivery failures are logged and swallowed: an unreachable mail
server or webhook must never stop the worker.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa

from civicport.auth.mail import mail_configured, send_mail
from civicport.catalog.records import DatasetRecord
from civicport.config import Settings
from civicport.db.schema import users
from civicport.jobs.runs import RunRecord

WEBHOOK_TIMEOUT_SECONDS = 10.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    """One message, to every recipient and the webhook."""

    subject: str
    body: str
    payload: Mapping[str, Any]  # the webhook's JSON
    recipients: tuple[str, ...]
    webhook_url: str | None


def failed_run_alert(
    conn: sa.Connection,
    settings: Settings,
    dataset: DatasetRecord,
    run: RunRecord,
    webhook_url: str | None,
) -> Alert:
    """The alert for a sync whose last attempt failed."""
    subject = f"{settings.site_name}: the sync of “{dataset.title}” failed"
    body = (
        f"The data of “{dataset.title}” ({dataset.id}) could not be updated: the sync failed "
        f"{run.attempt} time(s) in a row, and will not be tried again until its next scheduled "
        f"time.\n\nThe last error:\n  {run.error}\n\nThe dataset still shows its previous "
        f"data.{_where_to_look(settings, dataset)}"
    )
    payload = {
        "event": "sync.failed",
        "dataset_id": dataset.id,
        "title": dataset.title,
        "run_id": run.id,
        "attempt": run.attempt,
        "error": run.error,
        "ended_at": run.ended_at.isoformat() if run.ended_at else None,
    }
    return Alert(subject, body, payload, recipients(conn, dataset), webhook_url)


def overdue_alert(
    conn: sa.Connection,
    settings: Settings,
    dataset: DatasetRecord,
    expected_at: dt.datetime,
    webhook_url: str | None,
) -> Alert:
    """The alert for a dataset whose promised update has not come."""
    subject = f"{settings.site_name}: “{dataset.title}” is overdue"
    body = (
        f"“{dataset.title}” ({dataset.id}) promises to be updated "
        f"{dataset.update_frequency}, and was last updated on "
        f"{dataset.data_updated_at:%Y-%m-%d %H:%M} UTC; new data was expected by "
        f"{expected_at:%Y-%m-%d %H:%M} UTC.\n\nLoad new data, or change its update frequency "
        f"if the promise no longer holds.{_where_to_look(settings, dataset)}"
    )
    payload = {
        "event": "dataset.overdue",
        "dataset_id": dataset.id,
        "title": dataset.title,
        "update_frequency": dataset.update_frequency,
        "data_updated_at": dataset.data_updated_at.isoformat(),
        "expected_at": expected_at.isoformat(),
    }
    return Alert(subject, body, payload, recipients(conn, dataset), webhook_url)


def recipients(conn: sa.Connection, dataset: DatasetRecord) -> tuple[str, ...]:
    """The owner's email and the contact email, each once."""
    found: dict[str, str] = {}
    if dataset.owner_id is not None:
        owner = conn.execute(
            sa.select(users.c.email).where(users.c.id == dataset.owner_id)
        ).scalar_one_or_none()
        if owner:
            found[owner.casefold()] = owner
    if dataset.contact_email:
        found.setdefault(dataset.contact_email.strip().casefold(), dataset.contact_email.strip())
    return tuple(found.values())


def deliver(settings: Settings, alert: Alert) -> None:
    """Send the alert every way it can go; log what could not be sent."""
    if not alert.recipients and not alert.webhook_url:
        logger.warning("Nobody to alert (no owner, contact or webhook): %s", alert.subject)
    if alert.recipients and not mail_configured(settings):
        logger.warning("No mail server is set (smtp_host), so nobody was mailed: %s", alert.subject)
    elif alert.recipients:
        for address in alert.recipients:
            try:
                send_mail(settings, to=address, subject=alert.subject, body=alert.body)
            except (OSError, smtplib.SMTPException):
                logger.exception("Could not mail %s: %s", address, alert.subject)
    if alert.webhook_url:
        post_webhook(alert.webhook_url, alert.payload)


def post_webhook(url: str, payload: Mapping[str, Any]) -> None:
    """POST the payload as JSON; a webhook that fails or answers an error is logged."""
    # Webhook URLs often carry their secret in the path (Slack's do): log the host only.
    host = httpx.URL(url).host
    try:
        answer = httpx.post(url, json=dict(payload), timeout=WEBHOOK_TIMEOUT_SECONDS)
    except httpx.HTTPError as error:
        logger.error("The webhook at %s could not be reached: %s", host, error)
        return
    if answer.is_error:
        logger.error("The webhook at %s answered %s", host, answer.status_code)


def _where_to_look(settings: Settings, dataset: DatasetRecord) -> str:
    if settings.site_url:
        return f"\n\nIts page: {settings.site_url.rstrip('/')}/manage/d/{dataset.id}"
    return f"\n\nIts run history: civicport sync history {dataset.id}"
