"""The privacy review of a dataset already loaded, on its manage page (``/manage/d/{id}``):
each column with personal data nobody has decided about, the decisions not yet applied to the
stored rows, and reading what the publisher chose. Recording and applying the decisions is
catalog.privacy_review's; nothing here stores anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from civicport.catalog.privacy_review import pending_decisions
from civicport.catalog.records import DatasetRecord
from civicport.privacy import store
from civicport.privacy.decisions import PENDING, Choice, Decision
from civicport.privacy.guard import unresolved
from civicport.web.routes.manage_forms import (
    Errors,
    FlaggedColumn,
    Gettext,
    flagged_columns,
    read_privacy,
)

# The form's fields for one column: privacy-<field name>-action and privacy-<field name>-reason.
_DECISION_FIELD = re.compile(r"privacy-(.+)-(?:action|reason)")
REVIEW_FIELD = "privacy"  # where problems with the form as a whole are shown


@dataclass(frozen=True)
class PrivacyReview:
    """What the privacy review of a dataset shows and asks."""

    flagged: tuple[FlaggedColumn, ...]  # columns with a finding no decision covers
    pending: tuple[Decision, ...]  # decided, not yet applied to the stored rows
    column_names: dict[str, str]  # field name → display name

    @property
    def is_open(self) -> bool:
        """Whether anything stands between the dataset and publication."""
        return bool(self.flagged or self.pending)


def privacy_review(conn: sa.Connection, record: DatasetRecord) -> PrivacyReview:
    """The dataset's unresolved columns (each with all of its findings, so the choices offered
    fit every kind it holds), in the dataset's column order, and its pending decisions."""
    open_columns = {item.column for item in unresolved(conn, record.id) if item.kind != PENDING}
    found = [f for f in store.findings(conn, record.id) if f.column in open_columns]
    position = {c.field_name: c.position for c in record.columns}
    flagged = sorted(flagged_columns(found), key=lambda c: position.get(c.field_name, 1 << 30))
    return PrivacyReview(
        flagged=tuple(flagged),
        pending=tuple(pending_decisions(conn, record.id)),
        column_names={c.field_name: c.display_name for c in record.columns},
    )


def read_review(
    form: Mapping[str, Any], review: PrivacyReview, errors: Errors, _: Gettext
) -> tuple[list[FlaggedColumn], dict[str, Choice]]:
    """The columns as the publisher left them (to show again after a refusal) and the
    decisions to record, field name → choice. Fills `errors`: a choice the column's kinds do
    not allow, an accept without a reason, a column the review does not list, or nothing
    chosen when nothing is pending either."""
    columns = read_privacy(form, review.flagged, errors, _, names=review.column_names, public=False)
    listed = {c.field_name for c in review.flagged}
    unknown = sorted(
        {
            match.group(1)
            for key in form
            if (match := _DECISION_FIELD.fullmatch(key)) and match.group(1) not in listed
        }
    )
    if unknown:
        errors[REVIEW_FIELD] = _(
            "The privacy review has nothing to decide about %(columns)s: open the page again "
            "and choose for the columns it lists."
        ) % {"columns": ", ".join(f"“{name[:60]}”" for name in unknown)}
    choices = {c.field_name: choice for c in columns if (choice := c.choice()) is not None}
    if not choices and not review.pending and not errors:
        errors[REVIEW_FIELD] = _("Choose what to do with at least one column.")
    return columns, choices
