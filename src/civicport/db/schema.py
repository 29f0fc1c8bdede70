"""System tables (SQLAlchemy Core). Every change here needs an Alembic migration.

The dataset record follows DCAT-US 1.1 so federation is a mapping, not a migration:
title → dct:title, description → dct:description, tags → dcat:keyword, department/publisher →
dct:publisher, contact_* → dcat:contactPoint, license → dct:license, audience → accessLevel,
update_frequency → dct:accrualPeriodicity, spatial / temporal → dct:spatial / dct:temporal,
source_link → dcat:landingPage of the original, created_at / metadata_updated_at → dct:issued /
dct:modified.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", sa.String(9), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("category", sa.Text),
    sa.Column("tags", sa.JSON, nullable=False, default=list),
    sa.Column("department", sa.Text),
    sa.Column("publisher", sa.Text),
    sa.Column("contact_name", sa.Text),
    sa.Column("contact_email", sa.Text),
    sa.Column("license_id", sa.Text),
    sa.Column("license_name", sa.Text),
    sa.Column("license_url", sa.Text),
    # public | internal | private
    sa.Column("audience", sa.String(16), nullable=False, server_default="private"),
    sa.Column("update_frequency", sa.Text),
    sa.Column("spatial", sa.Text),
    sa.Column("temporal", sa.Text),
    sa.Column("source_link", sa.Text),
    sa.Column("attribution", sa.Text),
    sa.Column("attribution_link", sa.Text),
    sa.Column("custom_fields", sa.JSON, nullable=False, default=dict),
    # Charts the publisher saved with the dataset (catalog.records.SavedChart), a JSON array.
    sa.Column("charts", sa.JSON, nullable=False, default=list, server_default="[]"),
    # Field name of the column whose values identify a row for upserts, or NULL.
    sa.Column("row_identifier", sa.Text),
    # Physical table holding the current rows; swapped atomically by a replace.
    sa.Column("data_table", sa.Text, nullable=False),
    # Bumped by every data change; ETags and caches key on it.
    sa.Column("data_version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("row_count", sa.BigInteger, nullable=False, server_default="0"),
    # True while the current rows' system ids are exactly min_row_id..min_row_id+row_count-1,
    # which lets `$order=:id&$offset=N` seek straight to the page.
    sa.Column("ids_dense", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("min_row_id", sa.BigInteger, nullable=False, server_default="1"),
    # Field names the summary table `{data_table}_summary` groups by (datastore.summary), or
    # NULL when the dataset has none.
    sa.Column("summary_dimensions", sa.JSON(none_as_null=True)),
    sa.Column("view_count", sa.BigInteger, nullable=False, server_default="0"),
    # The account that created the dataset (auth.policy: it sees and manages it while private);
    # NULL for datasets made by the command line or before accounts existed. No foreign key: a
    # dataset outlives the account that made it, and the policy ignores an id with no account.
    sa.Column("owner_id", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("metadata_updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("data_updated_at", sa.DateTime(timezone=True), nullable=False),
)

dataset_columns = sa.Table(
    "dataset_columns",
    metadata,
    sa.Column(
        "dataset_id",
        sa.String(9),
        sa.ForeignKey("datasets.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("field_name", sa.Text, primary_key=True),
    sa.Column("display_name", sa.Text, nullable=False),
    # Indexed: the catalog finds the datasets with a geometry column (its "map" type) by it.
    sa.Column("soda_type", sa.String(32), nullable=False, index=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("position", sa.Integer, nullable=False),
)


# Staff accounts. Roles: admin (everything), publisher (their department's datasets), viewer
# (city staff: reads internal data). Emails are stored lower-cased, so lookups are exact.
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.Text, nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("department", sa.Text),
    # argon2id hash (the PHC string with its own salt and parameters); NULL: cannot sign in
    # with a password (keys only, or a reset link first).
    sa.Column("password_hash", sa.Text),
    # A department approver: may approve drafts of their department's datasets (admins approve
    # any).
    sa.Column("can_approve", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# API keys for programs (HTTP Basic: key id as the user name, secret as the password). The
# secret is random and long, so a SHA-256 of it is stored: a stolen table gives no usable key,
# and checking a key costs microseconds rather than argon2's deliberate tens of milliseconds.
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

# App tokens: developers register them themselves at /developers. A token identifies an app for
# throttling (soda.md §7), not a person, and grants no access: it is stored as it is sent.
app_tokens = sa.Table(
    "app_tokens",
    metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("app_name", sa.Text, nullable=False),
    sa.Column("contact_email", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

# The audit log: who did what and when (auth.audit). `actor` is the account's email, "cli" for
# the command line run by the server's operator, or "anonymous"; `action` a dotted name such as
# "dataset.upsert". `detail` holds counts, modes and key ids, never a secret or password. No
# foreign keys: an event outlives the dataset or account it names.
audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("dataset_id", sa.String(9), index=True),
    sa.Column("detail", sa.JSON, nullable=False, default=dict),
    sa.Column("client", sa.Text),
)

# Per-dataset collaborators: accounts that see a private dataset and may change it like its owner.
dataset_collaborators = sa.Table(
    "dataset_collaborators",
    metadata,
    sa.Column(
        "dataset_id",
        sa.String(9),
        sa.ForeignKey("datasets.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

# A prepared change to a dataset (catalog.drafts): new metadata, a wider audience and/or new
# rows staged in a table of their own. At most one per dataset. Nothing here is visible through
# the dataset's doors until an approval applies it in one transaction.
dataset_drafts = sa.Table(
    "dataset_drafts",
    metadata,
    sa.Column(
        "dataset_id",
        sa.String(9),
        sa.ForeignKey("datasets.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("author_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    # draft | submitted | rejected
    sa.Column("status", sa.String(16), nullable=False),
    # The proposed metadata (DatasetMetadata's fields, audience included) as JSON; NULL: as live.
    sa.Column("metadata", sa.JSON(none_as_null=True)),
    # Staged rows: a data table of the dataset's naming, its columns as ColumnRecord dicts and
    # its state; NULL: the live rows stay.
    sa.Column("data_table", sa.Text),
    sa.Column("columns", sa.JSON(none_as_null=True)),
    sa.Column("data_state", sa.JSON(none_as_null=True)),
    # The approver's comment on a rejection.
    sa.Column("comment", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True)),
)

# The privacy guard's findings for a dataset's columns (privacy.scan), kept from its last scan.
privacy_findings = sa.Table(
    "privacy_findings",
    metadata,
    sa.Column(
        "dataset_id",
        sa.String(9),
        sa.ForeignKey("datasets.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("field_name", sa.Text, primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("detail", sa.JSON, nullable=False, default=dict),
    sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
)

# The publisher's decision for a flagged column, applied again on every later load:
# drop | hash | generalize | accept (with a reason).
privacy_decisions = sa.Table(
    "privacy_decisions",
    metadata,
    sa.Column(
        "dataset_id",
        sa.String(9),
        sa.ForeignKey("datasets.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("field_name", sa.Text, primary_key=True),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("decided_by", sa.Text, nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    # The finding kinds the decision was made for: accept and generalize cover only these, so
    # a new kind of personal data in the column is flagged again (privacy.decisions.covers).
    sa.Column("kinds", sa.JSON, nullable=False, default=list, server_default="[]"),
    # The dataset's secret hashing key (the same in each of its rows): hashed columns keep
    # their values across loads, so they still join. Never shown.
    sa.Column("salt", sa.Text, nullable=False),
    # False while the stored rows predate a drop/hash/generalize decision; the next full load
    # (create or replace) applies it. A dataset with a pending decision cannot become public.
    sa.Column("applied", sa.Boolean, nullable=False, server_default=sa.false()),
)
