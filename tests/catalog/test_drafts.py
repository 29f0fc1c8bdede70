"""Drafts and approvals, live edits and collaborators (catalog.drafts, catalog.editing), on
both backends, through the catalog service and real data tables."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from civicport.auth.accounts import create_user
from civicport.auth.audit import list_events
from civicport.auth.principal import Principal
from civicport.catalog import drafts
from civicport.catalog.editing import set_collaborators
from civicport.catalog.records import DatasetMetadata, SavedChart
from civicport.catalog.service import import_table, write_rows
from civicport.catalog.store import get_dataset
from civicport.db.schema import dataset_drafts
from civicport.errors import Conflict, Forbidden, InvalidUpload, NotFound
from civicport.privacy import store as privacy_store
from civicport.privacy.decisions import Choice, PrivacyUnresolved

COLUMNS = [("permit", "text"), ("kind", "text"), ("fee", "number")]
ROWS = [("P-1", "fence", 10), ("P-2", "deck", 20), ("P-3", "roof", 30)]
NEW_ROWS = [("P-1", "fence", 10), ("P-2", "deck", 25), ("P-4", "pool", 40), ("P-5", "shed", 5)]


@dataclass(frozen=True)
class People:
    admin: Principal
    owner: Principal  # a Health publisher, the datasets' owner
    health_approver: Principal
    second_approver: Principal  # another Health approver
    police_approver: Principal
    viewer: Principal


@pytest.fixture
def people(engine) -> People:
    with engine.begin() as conn:

        def add(name: str, role: str, department: str | None, approver: bool = False):
            return create_user(
                conn,
                email=f"{name}@city.example",
                role=role,
                department=department,
                can_approve=approver,
            )

        return People(
            admin=add("admin", "admin", None),
            owner=add("owner", "publisher", "Health"),
            health_approver=add("approver", "publisher", "Health", approver=True),
            second_approver=add("second", "publisher", "Health", approver=True),
            police_approver=add("police", "publisher", "Police", approver=True),
            viewer=add("viewer", "viewer", "Health"),
        )


@pytest.fixture
def make(engine, table, people):
    """A Health dataset owned by `people.owner`, of ROWS, with the audience given."""

    def create(audience: str = "public", department: str = "Health") -> str:
        metadata = DatasetMetadata(title="Permits", department=department, audience=audience)
        return import_table(
            engine, table(COLUMNS, ROWS), metadata=metadata, owner_id=people.owner.user_id
        ).dataset_id

    return create


def live(engine, dataset_id):
    with engine.connect() as conn:
        return get_dataset(conn, dataset_id)


def rows_in(engine, data_table: str) -> list[tuple]:
    with engine.connect() as conn:
        result = conn.exec_driver_sql(f'SELECT permit, kind FROM "{data_table}" ORDER BY _id')
        return [tuple(row) for row in result]


def draft_of(engine, dataset_id):
    with engine.connect() as conn:
        return drafts.get_draft(conn, dataset_id)


def actions(engine, dataset_id) -> list[str]:
    with engine.connect() as conn:
        return [e.action for e in reversed(list_events(conn, dataset_id=dataset_id))]


def events(engine, dataset_id, action):
    with engine.connect() as conn:
        return list_events(conn, dataset_id=dataset_id, action=action)


def renamed(record, title: str, audience: str | None = None) -> DatasetMetadata:
    return DatasetMetadata(
        title=title, department=record.department, audience=audience or record.audience
    )


def propose(engine, settings, table, principal, dataset_id, *, audience=None, title="Permits 2"):
    """`principal` renames the dataset and replaces its rows with NEW_ROWS."""
    metadata = renamed(live(engine, dataset_id), title, audience)
    return drafts.edit_dataset(
        engine, settings, principal, dataset_id, metadata=metadata, table=table(COLUMNS, NEW_ROWS)
    )


# --- a change that waits ---------------------------------------------------------------------


def test_a_publishers_edit_of_a_public_dataset_is_a_draft_and_nothing_live_changes(
    engine, settings, table, people, make, data_tables
):
    dataset_id = make("public")
    before = live(engine, dataset_id)

    outcome = propose(engine, settings, table, people.owner, dataset_id)

    assert not outcome.applied
    draft = outcome.draft
    assert draft is not None
    assert (draft.status, draft.author_id, draft.has_data, draft.row_count) == (
        "draft",
        people.owner.user_id,
        True,
        4,
    )
    assert draft.metadata is not None
    assert draft.metadata.title == "Permits 2"
    assert live(engine, dataset_id) == before  # title, version, table, columns: all as they were
    assert rows_in(engine, before.data_table) == [r[:2] for r in ROWS]
    # The preview is the dataset as it will be: new title, new rows in a table of their own
    # whose name no live generation can take.
    with engine.connect() as conn:
        preview = drafts.draft_record(conn, dataset_id)
    assert preview.title == "Permits 2"
    assert preview.row_count == 4
    assert preview.data_table != before.data_table
    assert not re.search(r"_g\d+$", preview.data_table)
    assert preview.data_table in data_tables()
    assert rows_in(engine, preview.data_table) == [r[:2] for r in NEW_ROWS]
    assert [c.field_name for c in preview.columns] == ["permit", "kind", "fee"]
    assert actions(engine, dataset_id) == ["draft.save"]


def test_an_edit_that_would_make_a_dataset_public_is_a_draft(engine, settings, people, make):
    dataset_id = make("internal")
    metadata = renamed(live(engine, dataset_id), "Permits", audience="public")
    outcome = drafts.edit_dataset(engine, settings, people.owner, dataset_id, metadata=metadata)
    assert not outcome.applied
    assert live(engine, dataset_id).audience == "internal"
    assert outcome.draft is not None
    assert not outcome.draft.has_data


def test_moving_a_dataset_to_a_department_that_needs_approval_cannot_skip_it(
    engine, settings, table, make
):
    """Only Health needs approval: a Parks publisher making their dataset public while moving
    it to Health still waits, as the Health rule would apply once it got there."""
    strict = settings.model_copy(update={"approval_departments": "Health"})
    with engine.begin() as conn:
        parks = create_user(conn, email="parks@city.example", role="publisher", department="Parks")
    dataset_id = make("internal", department="Parks")
    metadata = DatasetMetadata(title="Permits", department="Health", audience="public")
    outcome = drafts.edit_dataset(engine, strict, parks, dataset_id, metadata=metadata)
    assert not outcome.applied
    assert live(engine, dataset_id).audience == "internal"


def test_edits_merge_into_the_draft(engine, settings, table, people, make, data_tables):
    dataset_id = make("public")
    first = drafts.edit_dataset(
        engine, settings, people.owner, dataset_id, table=table(COLUMNS, NEW_ROWS)
    ).draft
    assert first is not None
    assert first.metadata is None
    assert first.row_count == 4
    with engine.connect() as conn:
        first_table = drafts.draft_record(conn, dataset_id).data_table
    drafts.submit_draft(engine, people.owner, dataset_id)

    # Another editor renames it: the staged rows stay, the draft is theirs and back to "draft".
    metadata = renamed(live(engine, dataset_id), "Renamed")
    second = drafts.edit_dataset(
        engine, settings, people.health_approver, dataset_id, metadata=metadata
    ).draft
    assert second is not None
    assert (second.status, second.author_id, second.row_count) == (
        "draft",
        people.health_approver.user_id,
        4,
    )
    assert second.metadata == metadata
    assert second.created_at == first.created_at

    # New rows replace the staged ones; their old table is dropped.
    third = drafts.edit_dataset(
        engine, settings, people.owner, dataset_id, table=table(COLUMNS, ROWS[:1])
    ).draft
    assert third is not None
    assert third.row_count == 1
    assert third.metadata == metadata
    assert first_table not in data_tables()
    with engine.connect() as conn:
        assert rows_in(engine, drafts.draft_record(conn, dataset_id).data_table) == [
            ("P-1", "fence")
        ]


# --- approving -------------------------------------------------------------------------------


def test_who_may_approve(engine, settings, table, people, make):
    dataset_id = make("public")
    propose(engine, settings, table, people.owner, dataset_id)
    drafts.submit_draft(engine, people.owner, dataset_id)
    # Those who may neither change the dataset nor approve: as if there were no draft.
    for outsider in (people.police_approver, people.viewer):
        with pytest.raises(NotFound, match="has no draft"):
            drafts.approve_draft(engine, outsider, dataset_id)
        with pytest.raises(NotFound, match="has no draft"):
            drafts.reject_draft(engine, outsider, dataset_id, "no")
    # The owner knows of the draft, but may not approve it.
    with pytest.raises(Forbidden):
        drafts.approve_draft(engine, people.owner, dataset_id)
    with pytest.raises(Forbidden):
        drafts.reject_draft(engine, people.owner, dataset_id, "no")
    assert live(engine, dataset_id).title == "Permits"

    # An approver who changed the draft last is its author: another must approve it.
    propose(engine, settings, table, people.health_approver, dataset_id, title="Mine")
    drafts.submit_draft(engine, people.health_approver, dataset_id)
    with pytest.raises(Forbidden, match="another approver"):
        drafts.approve_draft(engine, people.health_approver, dataset_id)
    record = drafts.approve_draft(engine, people.second_approver, dataset_id)
    assert record.title == "Mine"


def test_a_private_datasets_draft_is_hidden_from_who_may_not_see_it(
    engine, settings, table, people, make
):
    dataset_id = make("private")
    # The owner needs approval for a private dataset only when it would become public.
    propose(engine, settings, table, people.owner, dataset_id, audience="public")
    drafts.submit_draft(engine, people.owner, dataset_id)
    for stranger in (people.police_approver, people.viewer):
        with pytest.raises(NotFound):
            drafts.approve_draft(engine, stranger, dataset_id)
        with pytest.raises(NotFound):
            drafts.discard_draft(engine, stranger, dataset_id)
        with engine.connect() as conn:
            assert drafts.drafts_awaiting(conn, stranger) == []
    assert draft_of(engine, dataset_id).status == "submitted"


def test_approval_puts_metadata_rows_and_audience_live_at_once(
    engine, settings, table, people, make, data_tables
):
    dataset_id = make("internal")
    before = live(engine, dataset_id)
    propose(engine, settings, table, people.owner, dataset_id, audience="public")
    with engine.connect() as conn:
        staged_table = drafts.draft_record(conn, dataset_id).data_table
    with pytest.raises(Conflict, match="not submitted"):
        drafts.approve_draft(engine, people.admin, dataset_id)
    submitted = drafts.submit_draft(engine, people.owner, dataset_id)
    assert submitted.status == "submitted"
    assert submitted.submitted_at is not None
    with pytest.raises(Conflict, match="already"):
        drafts.submit_draft(engine, people.owner, dataset_id)

    record = drafts.approve_draft(engine, people.admin, dataset_id)

    assert (record.title, record.audience, record.row_count) == ("Permits 2", "public", 4)
    assert record.data_version == before.data_version + 1
    assert record.data_table == staged_table
    assert record.metadata_updated_at > before.metadata_updated_at
    assert record.owner_id == people.owner.user_id  # what the draft does not name stays
    assert rows_in(engine, record.data_table) == [r[:2] for r in NEW_ROWS]
    assert live(engine, dataset_id) == record
    assert draft_of(engine, dataset_id) is None
    # The old rows' table stays for the version made in it (pruning drops it later).
    assert before.data_table in data_tables()
    # New ids continue after the old ones.
    assert record.min_row_id == before.min_row_id + len(ROWS)
    assert actions(engine, dataset_id) == [
        "draft.save",
        "draft.submit",
        "dataset.audience_change",
        "dataset.metadata_edit",
        "dataset.replace",
        "draft.approve",
    ]
    (change,) = events(engine, dataset_id, "dataset.audience_change")
    assert (change.actor, change.detail) == (
        "admin@city.example",
        {"from": "internal", "to": "public"},
    )
    assert events(engine, dataset_id, "dataset.metadata_edit")[0].detail == {"fields": ["title"]}
    (approval,) = events(engine, dataset_id, "draft.approve")
    assert approval.detail["author"] == "owner@city.example"


def test_a_department_approver_approves_a_colleagues_draft(engine, settings, table, people, make):
    dataset_id = make("public")
    metadata = renamed(live(engine, dataset_id), "Clinic permits")
    drafts.edit_dataset(engine, settings, people.owner, dataset_id, metadata=metadata)
    drafts.submit_draft(engine, people.owner, dataset_id)
    with engine.connect() as conn:
        assert [d.dataset_id for d in drafts.drafts_awaiting(conn, people.health_approver)] == [
            dataset_id
        ]
        assert [d.dataset_id for d in drafts.drafts_awaiting(conn, people.admin)] == [dataset_id]
        assert drafts.drafts_awaiting(conn, people.police_approver) == []
        assert drafts.drafts_awaiting(conn, people.owner) == []
    before = live(engine, dataset_id)
    record = drafts.approve_draft(engine, people.health_approver, dataset_id)
    assert record.title == "Clinic permits"
    # Metadata only: the rows, their table and version stay.
    assert (record.data_table, record.data_version) == (before.data_table, before.data_version)
    assert "dataset.replace" not in actions(engine, dataset_id)


def test_reject_with_a_comment_then_edit_and_resubmit(engine, settings, table, people, make):
    dataset_id = make("public")
    propose(engine, settings, table, people.owner, dataset_id)
    with pytest.raises(Conflict):  # not submitted yet
        drafts.reject_draft(engine, people.admin, dataset_id, "Too early")
    drafts.submit_draft(engine, people.owner, dataset_id)
    with pytest.raises(InvalidUpload, match="why"):
        drafts.reject_draft(engine, people.health_approver, dataset_id, "   ")
    assert draft_of(engine, dataset_id).status == "submitted"

    rejected = drafts.reject_draft(
        engine, people.health_approver, dataset_id, " Fees look wrong for P-2 "
    )
    assert (rejected.status, rejected.comment) == ("rejected", "Fees look wrong for P-2")
    with pytest.raises(Conflict):
        drafts.approve_draft(engine, people.admin, dataset_id)
    (event,) = events(engine, dataset_id, "draft.reject")
    assert event.detail == {"comment": "Fees look wrong for P-2"}

    # The author fixes it: the comment stays in sight until it is submitted again.
    fixed = propose(engine, settings, table, people.owner, dataset_id, title="Permits (fixed)")
    assert fixed.draft is not None
    assert (fixed.draft.status, fixed.draft.comment) == ("draft", "Fees look wrong for P-2")
    again = drafts.submit_draft(engine, people.owner, dataset_id)
    assert (again.status, again.comment) == ("submitted", None)
    assert drafts.approve_draft(engine, people.health_approver, dataset_id).title == (
        "Permits (fixed)"
    )


def test_discarding_a_draft_drops_its_rows(engine, settings, table, people, make, data_tables):
    dataset_id = make("public")
    before = live(engine, dataset_id)
    propose(engine, settings, table, people.owner, dataset_id)
    with engine.connect() as conn:
        staged_table = drafts.draft_record(conn, dataset_id).data_table
    with pytest.raises(NotFound, match="has no draft"):  # hidden from who may not change it
        drafts.discard_draft(engine, people.viewer, dataset_id)
    drafts.discard_draft(engine, people.owner, dataset_id)
    assert draft_of(engine, dataset_id) is None
    assert staged_table not in data_tables()
    assert live(engine, dataset_id) == before
    with engine.connect() as conn, pytest.raises(NotFound):
        drafts.draft_record(conn, dataset_id)
    with pytest.raises(NotFound):
        drafts.discard_draft(engine, people.owner, dataset_id)
    with pytest.raises(NotFound):
        drafts.submit_draft(engine, people.owner, dataset_id)
    assert actions(engine, dataset_id)[-1] == "draft.discard"


# --- what a failed approval leaves -----------------------------------------------------------


def test_approval_fails_cleanly_when_the_live_rows_changed_after_staging(
    engine, settings, table, people, make
):
    dataset_id = make("public")
    propose(engine, settings, table, people.owner, dataset_id)
    drafts.submit_draft(engine, people.owner, dataset_id)
    # Meanwhile a program appends a row to the live dataset.
    write_rows(engine, dataset_id, [table(COLUMNS, [("P-9", "sign", 1)])])
    before = live(engine, dataset_id)

    with pytest.raises(Conflict, match="changed after"):
        drafts.approve_draft(engine, people.admin, dataset_id)

    assert live(engine, dataset_id) == before
    assert draft_of(engine, dataset_id).status == "submitted"


def test_a_failure_midway_through_approval_leaves_the_live_dataset_untouched(
    engine, settings, table, people, make
):
    """The staged rows' table is lost after submission: the approval has already written the
    new metadata when it finds out, and must roll that back."""
    dataset_id = make("public")
    before = live(engine, dataset_id)
    propose(engine, settings, table, people.owner, dataset_id)
    drafts.submit_draft(engine, people.owner, dataset_id)
    with engine.begin() as conn:
        staged = conn.execute(sa.select(dataset_drafts.c.data_table)).scalar_one()
        conn.exec_driver_sql(f'DROP TABLE "{staged}"')

    with pytest.raises(Conflict, match="missing"):
        drafts.approve_draft(engine, people.admin, dataset_id)

    assert live(engine, dataset_id) == before
    assert rows_in(engine, before.data_table) == [r[:2] for r in ROWS]
    assert draft_of(engine, dataset_id).status == "submitted"
    assert "draft.approve" not in actions(engine, dataset_id)


# --- a change that goes live at once ---------------------------------------------------------


@pytest.mark.parametrize("approval_departments", ["", "Police, Fire"])
def test_without_approval_for_the_department_a_publishers_change_applies_at_once(
    engine, settings, table, people, make, data_tables, approval_departments
):
    relaxed = settings.model_copy(update={"approval_departments": approval_departments})
    dataset_id = make("public")
    before = live(engine, dataset_id)

    outcome = propose(engine, relaxed, table, people.owner, dataset_id)

    assert outcome == drafts.EditOutcome(applied=True, draft=None)
    record = live(engine, dataset_id)
    assert (record.title, record.row_count) == ("Permits 2", 4)
    assert record.data_version == before.data_version + 1
    assert record.metadata_updated_at > before.metadata_updated_at
    assert rows_in(engine, record.data_table) == [r[:2] for r in NEW_ROWS]
    assert before.data_table in data_tables()  # kept for version 1 until pruned
    assert draft_of(engine, dataset_id) is None
    assert actions(engine, dataset_id) == ["dataset.metadata_edit", "dataset.replace"]


def test_admins_and_non_public_changes_apply_at_once(engine, settings, table, people, make):
    public = make("public")
    metadata = renamed(live(engine, public), "By the admin")
    assert drafts.edit_dataset(engine, settings, people.admin, public, metadata=metadata).applied
    assert live(engine, public).title == "By the admin"

    internal = make("internal")
    metadata = renamed(live(engine, internal), "Still internal", audience="private")
    assert drafts.edit_dataset(engine, settings, people.owner, internal, metadata=metadata).applied
    record = live(engine, internal)
    assert (record.title, record.audience) == ("Still internal", "private")
    (change,) = events(engine, internal, "dataset.audience_change")
    assert change.detail == {"from": "internal", "to": "private"}


# --- refused edits ---------------------------------------------------------------------------


def test_who_may_edit(engine, settings, table, people, make):
    public, private = make("public"), make("private")
    metadata = DatasetMetadata(title="Hijacked", department="Health", audience="public")
    with pytest.raises(Forbidden):
        drafts.edit_dataset(engine, settings, people.viewer, public, metadata=metadata)
    with pytest.raises(Forbidden):
        drafts.edit_dataset(engine, settings, people.police_approver, public, metadata=metadata)
    with pytest.raises(NotFound):
        drafts.edit_dataset(engine, settings, people.police_approver, private, metadata=metadata)
    with pytest.raises(NotFound):
        drafts.edit_dataset(engine, settings, people.owner, "zzzz-9999", metadata=metadata)
    assert draft_of(engine, public) is None
    assert draft_of(engine, private) is None
    assert live(engine, public).title == "Permits"


def test_bad_edits_change_nothing(engine, settings, table, people, make, data_tables):
    dataset_id = make("public")
    before, tables_before = live(engine, dataset_id), data_tables()
    record = live(engine, dataset_id)
    bad = [
        ({}, "Nothing to change"),
        ({"metadata": renamed(record, "  ")}, "title"),
        ({"metadata": renamed(record, "Permits", audience="everyone")}, "audience"),
        # A chart over a column the new rows do not have.
        (
            {
                "metadata": DatasetMetadata(
                    title="Permits",
                    department="Health",
                    audience="public",
                    charts=(SavedChart("By kind", "bar", "kind"),),
                ),
                "table": table([("permit", "text")], [("P-1",)]),
            },
            "no column 'kind'",
        ),
        ({"table": table([("permit", "text"), ("permit", "text")], [])}, "repeated"),
    ]
    for change, message in bad:
        for editor in (people.owner, people.admin):  # into a draft, and live
            kwargs = dict(change)
            if "table" in kwargs:  # a ParsedTable is read once
                kwargs["table"] = table(
                    [(c.field_name, c.soda_type) for c in change["table"].columns], []
                )
            with pytest.raises(InvalidUpload, match=message):
                drafts.edit_dataset(engine, settings, editor, dataset_id, **kwargs)
    assert live(engine, dataset_id) == before
    assert draft_of(engine, dataset_id) is None
    assert data_tables() == tables_before
    assert actions(engine, dataset_id) == []


# --- collaborators ---------------------------------------------------------------------------


def test_collaborators(engine, people, make):
    dataset_id = make("private")
    set_collaborators(
        engine, people.owner, dataset_id, ["Police@City.example ", "viewer@city.example", ""]
    )
    record = live(engine, dataset_id)
    assert record.collaborators == {people.police_approver.user_id, people.viewer.user_id}
    (event,) = events(engine, dataset_id, "dataset.collaborators")
    assert event.detail == {"collaborators": ["police@city.example", "viewer@city.example"]}

    with pytest.raises(InvalidUpload, match="nobody@city.example, ghost@city.example"):
        set_collaborators(
            engine,
            people.owner,
            dataset_id,
            ["police@city.example", "nobody@city.example", "ghost@city.example"],
        )
    with pytest.raises(Forbidden):  # the viewer sees it now, but may not change it
        set_collaborators(engine, people.viewer, dataset_id, [])
    with pytest.raises(NotFound):
        set_collaborators(
            engine, Principal(999, "x@city.example", "publisher", "Fire"), dataset_id, []
        )
    assert live(engine, dataset_id).collaborators == record.collaborators

    set_collaborators(engine, people.admin, dataset_id, [])
    assert live(engine, dataset_id).collaborators == frozenset()


# --- the privacy guard -----------------------------------------------------------------------

CONTACT_COLUMNS = [*COLUMNS, ("contact", "text")]
CONTACT_ROWS = [
    ("P-1", "fence", 10, "ana.lopez@example.org"),
    ("P-2", "deck", 20, "bo.chen@example.org"),
    ("P-3", "roof", 30, "cy.diaz@example.org"),
    ("P-4", "pool", 40, "di.evans@example.org"),
]


def findings_of(engine, dataset_id):
    with engine.connect() as conn:
        return [(f.column, f.kind) for f in privacy_store.findings(conn, dataset_id)]


def test_approving_into_public_with_an_unresolved_finding_is_refused(
    engine, settings, table, people, make, data_tables
):
    dataset_id = make("internal")
    before = live(engine, dataset_id)
    metadata = renamed(before, "Permits with contacts", audience="public")
    drafts.edit_dataset(
        engine,
        settings,
        people.owner,
        dataset_id,
        metadata=metadata,
        table=table(CONTACT_COLUMNS, CONTACT_ROWS),
    )
    drafts.submit_draft(engine, people.owner, dataset_id)
    # What the guard found in the draft is not the live dataset's (it has no emails).
    assert findings_of(engine, dataset_id) == []
    tables = data_tables()

    with pytest.raises(PrivacyUnresolved, match="contact") as refused:
        drafts.approve_draft(engine, people.admin, dataset_id)

    assert isinstance(refused.value, Conflict)
    assert live(engine, dataset_id) == before
    assert rows_in(engine, before.data_table) == [r[:2] for r in ROWS]
    assert findings_of(engine, dataset_id) == []
    assert draft_of(engine, dataset_id).status == "submitted"
    assert data_tables() == tables

    # The author gives the data again, deciding to hash the column: now it may be published.
    fixed = drafts.edit_dataset(
        engine,
        settings,
        people.owner,
        dataset_id,
        table=table(CONTACT_COLUMNS, CONTACT_ROWS),
        privacy_decisions={"contact": Choice("hash")},
    ).draft
    assert fixed is not None
    assert fixed.metadata == metadata  # merged: the proposed metadata stays
    drafts.submit_draft(engine, people.owner, dataset_id)
    record = drafts.approve_draft(engine, people.admin, dataset_id)
    assert (record.audience, record.title) == ("public", "Permits with contacts")
    with engine.connect() as conn:
        contacts = conn.exec_driver_sql(f'SELECT contact FROM "{record.data_table}"').scalars()
        assert not any("@" in value for value in contacts)
        (decision,) = privacy_store.decisions(conn, dataset_id)
    assert (decision.field_name, decision.action, decision.decided_by) == (
        "contact",
        "hash",
        "owner@city.example",
    )
    assert decision.applied
    assert findings_of(engine, dataset_id) == [("contact", "email")]


def test_a_direct_edit_into_public_with_an_unresolved_finding_is_refused(
    engine, settings, table, people, make, data_tables
):
    """New rows for a public dataset, and an internal one made public with them: refused
    before a row is written."""
    relaxed = settings.model_copy(update={"approval_departments": ""})
    public, internal = make("public"), make("internal")
    before = {i: live(engine, i) for i in (public, internal)}
    tables = data_tables()
    for dataset_id, metadata in (
        (public, None),
        (internal, renamed(before[internal], "Permits", audience="public")),
    ):
        with pytest.raises(PrivacyUnresolved, match="contact"):
            drafts.edit_dataset(
                engine,
                relaxed,
                people.owner,
                dataset_id,
                metadata=metadata,
                table=table(CONTACT_COLUMNS, CONTACT_ROWS),
            )
    assert {i: live(engine, i) for i in (public, internal)} == before
    assert data_tables() == tables
    assert actions(engine, public) == actions(engine, internal) == []


def test_approval_fails_when_privacy_decisions_changed_after_staging(
    engine, settings, table, people, data_tables
):
    """A column decided "hash" after the draft's rows were staged: they are not hashed, so
    approving them would publish what the decision hides."""
    metadata = DatasetMetadata(title="Contacts", department="Health", audience="internal")
    dataset_id = import_table(
        engine,
        table(CONTACT_COLUMNS, CONTACT_ROWS),
        metadata=metadata,
        owner_id=people.owner.user_id,
    ).dataset_id
    public = DatasetMetadata(title="Contacts", department="Health", audience="public")
    drafts.edit_dataset(
        engine,
        settings,
        people.owner,
        dataset_id,
        metadata=public,
        table=table(CONTACT_COLUMNS, CONTACT_ROWS[:3]),
    )
    drafts.submit_draft(engine, people.owner, dataset_id)
    with engine.begin() as conn:
        privacy_store.decide(conn, dataset_id, "contact", "hash", reason="", actor="cli")
    before = live(engine, dataset_id)

    with pytest.raises(Conflict, match="privacy decision on column 'contact'"):
        drafts.approve_draft(engine, people.admin, dataset_id)

    assert live(engine, dataset_id) == before
    assert draft_of(engine, dataset_id).status == "submitted"


def test_a_drafts_category_cannot_change_how_its_staged_rows_were_scanned(
    engine, settings, table, people, make
):
    dataset_id = make("public")
    propose(engine, settings, table, people.owner, dataset_id)
    sensitive = DatasetMetadata(
        title="Permits 2", department="Health", audience="public", category="Public Safety"
    )
    with pytest.raises(InvalidUpload, match="give the data again"):
        drafts.edit_dataset(engine, settings, people.owner, dataset_id, metadata=sensitive)
    draft = draft_of(engine, dataset_id)
    assert draft.metadata is not None
    assert draft.metadata.category is None
    # With the data again, it is scanned under the new category.
    outcome = drafts.edit_dataset(
        engine,
        settings,
        people.owner,
        dataset_id,
        metadata=sensitive,
        table=table(COLUMNS, NEW_ROWS),
    )
    assert outcome.draft is not None
    assert outcome.draft.metadata == sensitive


def test_privacy_decisions_come_with_data(engine, settings, people, make):
    dataset_id = make("public")
    metadata = renamed(live(engine, dataset_id), "Permits")
    with pytest.raises(InvalidUpload, match="new data"):
        drafts.edit_dataset(
            engine,
            settings,
            people.owner,
            dataset_id,
            metadata=metadata,
            privacy_decisions={"kind": Choice("drop")},
        )
    assert draft_of(engine, dataset_id) is None


def test_publishing_without_new_rows_scans_the_live_rows_again(engine, settings, table, people):
    """Rows loaded before the guard kept any findings (here: findings deleted), or scanned
    under a category where exact places did not matter, are scanned as stored when the dataset
    is made public or moved into a sensitive category."""
    metadata = DatasetMetadata(title="Contacts", department="Health", audience="internal")
    contacts = import_table(engine, table(CONTACT_COLUMNS, CONTACT_ROWS), metadata=metadata)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM privacy_findings"))
    made_public = renamed(live(engine, contacts.dataset_id), "Contacts", audience="public")
    with pytest.raises(PrivacyUnresolved, match="contact"):
        drafts.edit_dataset(
            engine, settings, people.admin, contacts.dataset_id, metadata=made_public
        )
    assert live(engine, contacts.dataset_id).audience == "internal"

    places = [(f"C-{i}", (-72.68113 + i * 0.00137, 41.76371 + i * 0.00071)) for i in range(20)]
    parks = DatasetMetadata(title="Calls", category="Parks", audience="public")
    calls = import_table(
        engine, table([("call", "text"), ("place", "point")], places), metadata=parks
    )
    record = live(engine, calls.dataset_id)
    to_police = DatasetMetadata(title="Calls", category="Public Safety", audience="public")
    with pytest.raises(PrivacyUnresolved, match="place"):
        drafts.edit_dataset(engine, settings, people.admin, calls.dataset_id, metadata=to_police)
    assert live(engine, calls.dataset_id) == record


def test_drafts_of_many_datasets_in_one_call(engine, settings, table, people, make):
    with_draft, without = make("public"), make("public")
    propose(engine, settings, table, people.owner, with_draft)
    with engine.connect() as conn:
        found = drafts.drafts_of(conn, [with_draft, without, "zzzz-0000"])
        assert drafts.drafts_of(conn, []) == {}
    assert list(found) == [with_draft]
    assert found[with_draft] == draft_of(engine, with_draft)
