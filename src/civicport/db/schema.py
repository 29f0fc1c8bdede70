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
    # The checks a load must pass before it becomes current (ingest.checks.LoadRules as JSON);
    # NULL: the defaults.
    sa.Column("load_rules", sa.JSON(none_as_null=True)),
    # When the owner was last told the dataset is overdue (jobs.alerts): one alert per lapse.
    sa.Column("overdue_alerted_at", sa.DateTime(timezone=True)),
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

# Every published state of a dataset's rows (datastore.versions): one row per load or write,
# numbered like datasets.data_version. A version's rows are rebuilt from the current table and
# its history table (rows superseded at `_valid_to`); the oldest are pruned past a setting.
dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column(
        "dataset_id",
        sa.String(9),
        sa.ForeignKey("datasets.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("version", sa.Integer, primary_key=True),
    # The instant the version's rows were stamped with (their `_updated_at`).
    sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
    # An account's email, "cli", "api" or "sync"; `detail` says more (run id, rollback target).
    sa.Column("made_by", sa.Text, nullable=False),
    # create | replace | append | upsert | delete | rollback
    sa.Column("operation", sa.String(16), nullable=False),
    sa.Column("rows_added", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("rows_changed", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("rows_removed", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    # Where the version's rows are: the data table current then and its history table.
    sa.Column("data_table", sa.Text, nullable=False),
    sa.Column("history_table", sa.Text, nullable=False),
    # The columns then (ColumnRecord dicts) and the row identifier.
    sa.Column("columns", sa.JSON, nullable=False),
    sa.Column("row_identifier", sa.Text),
    sa.Column("detail", sa.JSON, nullable=False, default=dict, server_default="{}"),
)

# Where a dataset's rows come from and when to fetch them again (ingest.sources, jobs).
dataset_sources = sa.Table(
    "dataset_sources",
    metadata,
    sa.Column(
        "dataset_id",
        sa.String(9),
        sa.ForeignKey("datasets.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # url | file | sql | soda | ckan | arcgis
    sa.Column("kind", sa.String(16), nullable=False),
    # The URL, the file path or the SQLAlchemy database URL.
    sa.Column("location", sa.Text, nullable=False),
    # The SQL query of a database source.
    sa.Column("query", sa.Text),
    # HTTP headers sent with a URL source (an API key, say): secrets, never shown back.
    sa.Column("headers", sa.JSON, nullable=False, default=dict, server_default="{}"),
    # Reader options: format, sheet, layer.
    sa.Column("options", sa.JSON, nullable=False, default=dict, server_default="{}"),
    # A cron expression or "every N minutes|hours|days"; NULL: run by hand only.
    sa.Column("schedule", sa.Text),
    # replace | append | upsert
    sa.Column("mode", sa.String(16), nullable=False, server_default="replace"),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("next_run_at", sa.DateTime(timezone=True), index=True),
    # Who hears of a failed run or an overdue dataset besides the owner: a webhook URL.
    sa.Column("webhook_url", sa.Text),
    sa.Column("max_attempts", sa.Integer, nullable=False, server_default="3"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# One attempt to load data in the background: a scheduled or manual sync, or a queued upload.
# No foreign key on dataset_id: a queued upload that creates a dataset has none yet, and the
# history outlives a deleted dataset like the audit log does.
sync_runs = sa.Table(
    "sync_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("dataset_id", sa.String(9), index=True),
    # schedule | manual | upload | retry
    sa.Column("trigger", sa.String(16), nullable=False),
    # queued | running | succeeded | failed
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("attempt", sa.Integer, nullable=False, server_default="1"),
    sa.Column("requested_by", sa.Text, nullable=False),
    sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
    sa.Column("rows_added", sa.BigInteger),
    sa.Column("rows_changed", sa.BigInteger),
    sa.Column("rows_removed", sa.BigInteger),
    # The version the run published.
    sa.Column("version", sa.Integer),
    sa.Column("error", sa.Text),
    # The load checks' warnings (a list of sentences).
    sa.Column("warnings", sa.JSON, nullable=False, default=list, server_default="[]"),
    # "host:pid" of the worker running it, so a restarted worker can tell an interrupted run.
    sa.Column("worker", sa.Text),
    # What a queued upload is: its file under $CIVICPORT_HOME/files, title, mode, options.
    sa.Column("job", sa.JSON, nullable=False, default=dict, server_default="{}"),
)
