"""Reading the source page's forms: a dataset's source (where its data comes from, when, how it
loads) and its load rules, each checked field by field as manage_forms does for metadata.

Secrets stay secret: header values are never shown, so a header line left without a value keeps
the stored one; a stored webhook address, or a location that holds a password or key, is not
shown either, and a field left empty keeps it. Nothing here stores anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from civicport.catalog.records import DatasetRecord
from civicport.catalog.sources import SourceRecord
from civicport.ingest.checks import RULES, LoadRules
from civicport.ingest.sources import SourceSpec
from civicport.ingest.sources.database import masked as masked_database
from civicport.ingest.sources.spec import mask_url
from civicport.web.routes.manage_forms import Errors, Gettext, text

LONGEST_LOCATION = 4000
LONGEST_QUERY = 100_000
LONGEST_LINES = 20_000  # headers, options
# Columns of these types hold anything, so no value can fail to fit them.
FITS_EVERYTHING = ("text",)


@dataclass(frozen=True)
class SourceForm:
    """The source form's fields as typed (or as the stored source fills them)."""

    kind: str = "url"
    location: str = ""
    query: str = ""
    headers: str = ""  # "Name: value" lines
    options: str = ""  # "name = value" lines
    schedule: str = ""
    mode: str = "replace"
    webhook: str = ""
    remove_webhook: bool = False
    max_attempts: str = "3"
    enabled: bool = True

    @classmethod
    def of(cls, source: SourceRecord | None) -> SourceForm:
        """The form filled from the stored source, secrets left out."""
        if source is None:
            return cls()
        spec = source.spec
        return cls(
            kind=spec.kind,
            location=shown_location(spec),
            query=spec.query or "",
            headers="\n".join(f"{name}: " for name in source.header_names),
            options="\n".join(f"{name} = {value}" for name, value in spec.options.items()),
            schedule=source.schedule or "",
            mode=source.mode,
            max_attempts=str(source.max_attempts),
            enabled=source.enabled,
        )


@dataclass(frozen=True)
class SourceChange:
    """What set_source is given."""

    spec: SourceSpec
    schedule: str | None
    mode: str
    webhook_url: str | None
    max_attempts: int
    enabled: bool


def shown_location(spec: SourceSpec) -> str:
    """The stored location when showing it reveals no password or key, else ''."""
    masked = masked_database(spec.location) if spec.kind == "sql" else mask_url(spec.location)
    return spec.location if masked == spec.location else ""


def read_source_form(form: Mapping[str, Any]) -> SourceForm:
    return SourceForm(
        kind=text(form, "kind"),
        location=text(form, "location", LONGEST_LOCATION),
        query=text(form, "query", LONGEST_QUERY),
        headers=text(form, "headers", LONGEST_LINES),
        options=text(form, "options", LONGEST_LINES),
        schedule=text(form, "schedule"),
        mode=text(form, "mode"),
        webhook=text(form, "webhook", LONGEST_LOCATION),
        remove_webhook="remove_webhook" in form,
        max_attempts=text(form, "max_attempts"),
        enabled="enabled" in form,
    )


def source_change(
    typed: SourceForm, stored: SourceRecord | None, errors: Errors, _: Gettext
) -> SourceChange:
    """The source the form describes, with what it keeps of `stored` (header values, a hidden
    location, the webhook). Problems of form go to `errors`; whether the source can work is
    set_source's to check."""
    kept = stored.spec if stored is not None and stored.spec.kind == typed.kind else None
    location = typed.location
    if not location and kept is not None and not shown_location(kept):
        location = kept.location
    attempts = 0
    try:
        attempts = int(typed.max_attempts)
    except ValueError:
        errors["max_attempts"] = _("Give the number of tries as a whole number, like 3.")
    webhook = typed.webhook or (stored.webhook_url if stored else None)
    spec = SourceSpec(
        kind=typed.kind,
        location=location,
        query=typed.query if typed.kind == "sql" else None,
        headers=read_headers(typed.headers, kept.headers if kept else {}, errors, _),
        options=read_options(typed.options, errors, _),
    )
    return SourceChange(
        spec=spec,
        schedule=typed.schedule or None,
        mode=typed.mode,
        webhook_url=None if typed.remove_webhook else webhook,
        max_attempts=attempts,
        enabled=typed.enabled,
    )


def read_headers(
    lines: str, stored: Mapping[str, str], errors: Errors, _: Gettext
) -> dict[str, str]:
    """Headers from lines of "Name: value"; a name without a value keeps the stored value of
    that header."""
    kept = {name.casefold(): value for name, value in stored.items()}
    headers: dict[str, str] = {}
    for line in filter(None, (line.strip() for line in lines.splitlines())):
        name, colon, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if not colon or not name:
            errors["headers"] = _("Write each header as Name: value, one per line.")
        elif value:
            headers[name] = value
        elif name.casefold() in kept:
            headers[name] = kept[name.casefold()]
        else:
            errors["headers"] = _("The header %(name)s has no value.") % {"name": name}
    return headers


def read_options(lines: str, errors: Errors, _: Gettext) -> dict[str, Any]:
    """Options from lines of "name = value"; whole numbers are read as numbers (page_size =
    500)."""
    options: dict[str, Any] = {}
    for line in filter(None, (line.strip() for line in lines.splitlines())):
        name, equals, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not equals or not name or not value:
            errors["options"] = _("Write each option as name = value, one per line.")
        else:
            options[name] = int(value) if value.isdigit() else value
    return options


# -- load rules ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RulesForm:
    """The rules form's fields: each rule's action, the row drop as a percentage, and the
    type policy of each column whose values can fail to fit their type."""

    actions: Mapping[str, str]
    max_row_drop: str
    type_policy: Mapping[str, str]  # field name → reject | null | text

    @classmethod
    def of(cls, rules: LoadRules, record: DatasetRecord) -> RulesForm:
        return cls(
            actions={rule: rules.action(rule) for rule in RULES},
            max_row_drop=f"{rules.max_row_drop * 100:g}",
            type_policy={
                column.field_name: rules.type_policy.get(column.field_name, "reject")
                for column in policy_columns(record)
            },
        )


def policy_columns(record: DatasetRecord) -> list[Any]:
    """The dataset's columns that a type policy applies to."""
    return [c for c in record.columns if c.soda_type not in FITS_EVERYTHING]


def read_rules_form(form: Mapping[str, Any], record: DatasetRecord) -> RulesForm:
    return RulesForm(
        actions={rule: text(form, f"rule-{rule}") for rule in RULES},
        max_row_drop=text(form, "max_row_drop"),
        type_policy={
            column.field_name: text(form, f"type-{column.field_name}")
            for column in policy_columns(record)
        },
    )


def rules_json(typed: RulesForm, current: LoadRules, errors: Errors, _: Gettext) -> dict[str, Any]:
    """The load rules the form describes, as LoadRules.from_json reads them (it checks the
    actions). Policies kept for columns the dataset no longer has stay as they were."""
    share = current.max_row_drop
    try:
        percent = float(typed.max_row_drop.replace(",", ".").rstrip("% "))
    except ValueError:
        percent = -1.0
    if 0 <= percent <= 100:
        share = percent / 100
    else:
        errors["max_row_drop"] = _("Give the largest drop as a percentage from 0 to 100.")
    policy = dict(current.type_policy)
    for column, chosen in typed.type_policy.items():
        policy.pop(column, None)
        if chosen != "reject":
            policy[column] = chosen
    return {**typed.actions, "max_row_drop": share, "type_policy": policy}
