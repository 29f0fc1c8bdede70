"""Reading the staff pages' forms: a dataset's metadata, an upload's schema and the privacy
decisions, each checked field by field.

Every reader returns what it understood and fills `errors` (field name → a message in the
reader's language), so a page can show each problem beside its field and keep what was typed.
Nothing here stores anything.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from civicport.auth.policy import read_scope
from civicport.auth.principal import Principal
from civicport.catalog.browse import CatalogQuery, search_catalog
from civicport.catalog.records import DatasetMetadata, DatasetRecord
from civicport.datastore.types import SODA_TYPES
from civicport.ingest.fieldnames import field_name as derived_field_name
from civicport.privacy.decisions import Choice, actions_for
from civicport.privacy.findings import Finding
from civicport.privacy.transforms import DECISIONS
from civicport.web.i18n import N_

Gettext = Callable[[str], str]
Errors = dict[str, str]

LONGEST_TITLE = 200
LONGEST_TEXT = 500  # one-line fields
LONGEST_DESCRIPTION = 20_000
MOST_TAGS = 30
# Free-text metadata fields the form edits, in the order it shows them.
TEXT_FIELDS = (
    "category",
    "department",
    "publisher",
    "contact_name",
    "contact_email",
    "license_name",
    "license_url",
    "update_frequency",
    "spatial",
    "temporal",
    "source_link",
    "attribution",
    "attribution_link",
)
LINK_FIELDS = ("license_url", "source_link", "attribution_link")
EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
LONGEST_REASON = 1000
# The SODA types as the type select names them (translated where shown).
TYPE_NAMES = {
    "text": N_("Text"),
    "number": N_("Number"),
    "double": N_("Number (floating point)"),
    "checkbox": N_("Checkbox (true or false)"),
    "floating_timestamp": N_("Date and time"),
    "fixed_timestamp": N_("Date and time with time zone"),
    "point": N_("Point (a place)"),
    "multipoint": N_("Several points"),
    "line": N_("Line"),
    "multiline": N_("Several lines"),
    "polygon": N_("Polygon (an area)"),
    "multipolygon": N_("Several polygons"),
    "url": N_("Website address"),
}


def text(form: Mapping[str, Any], name: str, longest: int = LONGEST_TEXT) -> str:
    """A field's text with surrounding space removed, at most `longest` characters (files posted
    where text was expected read as empty)."""
    value = form.get(name)
    return value.strip()[:longest] if isinstance(value, str) else ""


def type_options(_: Gettext) -> list[tuple[str, str]]:
    """(type, "Name (type)") for the type select, in SODA_TYPES order."""
    return [(t, f"{_(TYPE_NAMES.get(t, t))} ({t})") for t in SODA_TYPES]


def known_categories(conn: sa.Connection, principal: Principal) -> list[str]:
    """The categories of the datasets `principal` may see, most used first: suggestions for the
    category field (a new one is allowed)."""
    page = search_catalog(conn, CatalogQuery(scope=read_scope(conn, principal), limit=0))
    return [name for name, _count in page.facets.categories]


def about(_: Gettext, column: str, problem: str) -> str:
    """A problem with one column, naming it (the page lists every problem at the top)."""
    return _("Column “%(column)s”: %(problem)s") % {"column": column, "problem": problem}


# -- metadata -----------------------------------------------------------------------------------


def metadata_of(record: DatasetRecord) -> DatasetMetadata:
    """A dataset's current metadata, to fill the form (and keep what the form does not show)."""
    names = {f.name for f in dataclasses.fields(DatasetMetadata)}
    return DatasetMetadata(**{name: getattr(record, name) for name in names})


def read_metadata(
    form: Mapping[str, Any], base: DatasetMetadata, errors: Errors, _: Gettext
) -> DatasetMetadata:
    """The metadata the form describes, over `base` (its audience, charts, custom fields and
    license id are kept: the form does not edit them)."""
    title = " ".join(text(form, "title", LONGEST_TITLE * 2).split())
    if not title:
        errors["title"] = _("Give the dataset a title.")
    elif len(title) > LONGEST_TITLE:
        errors["title"] = _("The title is too long: at most 200 characters.")
    values: dict[str, Any] = {name: text(form, name) or None for name in TEXT_FIELDS}
    email = values["contact_email"]
    if email and not EMAIL_SHAPE.fullmatch(email):
        errors["contact_email"] = _(
            "This is not an email address; it should look like name@example.org."
        )
    for name in LINK_FIELDS:
        link = values[name]
        if link and not re.match(r"https?://[^\s/]+", link, re.IGNORECASE):
            errors[name] = _("A link must start with https:// or http://.")
    tags = tuple(
        dict.fromkeys(t.strip().lower() for t in text(form, "tags").split(",") if t.strip())
    )
    if len(tags) > MOST_TAGS:
        errors["tags"] = _("At most 30 tags.")
    return dataclasses.replace(
        base,
        title=title[:LONGEST_TITLE],
        description=text(form, "description", LONGEST_DESCRIPTION),
        tags=tags[:MOST_TAGS],
        **values,
    )


# -- schema -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnChoice:
    """What the publisher chose for one column of an upload (`source`: the first reading's
    field name, which names the column in the file)."""

    source: str
    field_name: str
    display_name: str
    soda_type: str
    description: str
    from_file: bool


@dataclass(frozen=True)
class SchemaChoice:
    columns: tuple[ColumnChoice, ...]
    row_identifier: str | None  # a chosen field name

    def type_overrides(self, inferred: Mapping[str, str]) -> dict[str, str]:
        """The types to read the file with: those the publisher changed, by source name."""
        return {
            c.source: c.soda_type
            for c in self.columns
            if c.from_file and c.soda_type != inferred.get(c.source)
        }

    def field_for(self, source: str) -> str:
        return next((c.field_name for c in self.columns if c.source == source), source)


def read_schema(
    form: Mapping[str, Any], columns: Sequence[Any], errors: Errors, _: Gettext
) -> SchemaChoice:
    """The columns' names, types and descriptions and the row identifier, from fields
    `col-<n>-display|field|type|description` and `row_identifier` (a column number).
    `columns` are the staged upload's (StagedColumn: field_name, display_name, soda_type,
    from_file)."""
    chosen: list[ColumnChoice] = []
    taken: set[str] = set()
    for n, column in enumerate(columns):
        display = " ".join(text(form, f"col-{n}-display").split()) or column.display_name
        typed = text(form, f"col-{n}-field") or column.field_name
        field = derived_field_name(typed)
        if not field:
            problem = _("A field name needs at least one letter or digit.")
            errors[f"col-{n}-field"] = about(_, column.display_name, problem)
            field = column.field_name
        elif field in taken:
            problem = _("Another column already has this field name.")
            errors[f"col-{n}-field"] = about(_, column.display_name, problem)
        taken.add(field)
        soda_type = text(form, f"col-{n}-type") or column.soda_type
        if not column.from_file:
            soda_type = column.soda_type  # made by the reader: its type follows its source
        elif soda_type not in SODA_TYPES:
            problem = _("Choose one of the listed types.")
            errors[f"col-{n}-type"] = about(_, column.display_name, problem)
            soda_type = column.soda_type
        description = text(form, f"col-{n}-description", LONGEST_DESCRIPTION)
        chosen.append(
            ColumnChoice(
                column.field_name, field, display, soda_type, description, column.from_file
            )
        )
    key = text(form, "row_identifier")
    row_identifier = None
    if key:
        if key.isdigit() and int(key) < len(chosen):
            row_identifier = chosen[int(key)].field_name
        else:
            errors["row_identifier"] = _("Choose one of the columns, or none.")
    return SchemaChoice(tuple(chosen), row_identifier)


# -- privacy ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlaggedColumn:
    """A column the privacy scan flagged, with all its findings and the publisher's decision."""

    field_name: str  # the first reading's name: the form's key for it
    findings: tuple[Finding, ...]
    action: str = ""
    reason: str = ""

    def actions(self) -> tuple[str, ...]:
        """The decisions that resolve every finding of the column (generalize only when each
        kind can be generalised)."""
        allowed = [set(actions_for(f.kind)) for f in self.findings]
        return tuple(a for a in DECISIONS if all(a in each for each in allowed))

    def choice(self) -> Choice | None:
        """The decision to keep (a reason only goes with accept), or None when undecided."""
        if not self.action:
            return None
        return Choice(self.action, self.reason if self.action == "accept" else "")


def flagged_columns(
    findings: Sequence[Finding], decided: Mapping[str, Choice] | None = None
) -> list[FlaggedColumn]:
    """The flagged columns in the order of their first finding, with earlier decisions."""
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.column, []).append(finding)
    earlier = decided or {}
    return [
        FlaggedColumn(name, tuple(found), *_action_reason(earlier.get(name)))
        for name, found in grouped.items()
    ]


def _action_reason(choice: Choice | None) -> tuple[str, str]:
    return (choice.action, choice.reason) if choice else ("", "")


def read_privacy(
    form: Mapping[str, Any],
    flagged: Sequence[FlaggedColumn],
    errors: Errors,
    _: Gettext,
    *,
    names: Mapping[str, str],
    public: bool,
) -> list[FlaggedColumn]:
    """The decision on each flagged column (`privacy-<field>-action`, `…-reason`). Accepting
    needs a reason; going public needs a decision on every column. `names` are the columns'
    display names, for the messages."""
    decided = []
    for column in flagged:
        action = text(form, f"privacy-{column.field_name}-action")
        reason = text(form, f"privacy-{column.field_name}-reason", LONGEST_REASON)
        key = f"privacy-{column.field_name}-action"
        name = names.get(column.field_name, column.field_name)
        if action and action not in column.actions():
            problem = _("Choose one of the listed ways to resolve this column.")
            errors[key] = about(_, name, problem)
            action = ""
        elif action == "accept" and not reason:
            problem = _("Say why this column may be published as it is.")
            errors[f"privacy-{column.field_name}-reason"] = about(_, name, problem)
        elif not action and public:
            problem = _("Decide what to do with it before the dataset can become public.")
            errors[key] = about(_, name, problem)
        decided.append(dataclasses.replace(column, action=action, reason=reason))
    return decided
