"""Privacy decisions applied to the rows a dataset already stores (catalog.privacy_review,
catalog.live_rows), on both backends, through the catalog service and real data tables."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from civicport.auth.accounts import create_user
from civicport.auth.audit import list_events
from civicport.catalog import drafts
from civicport.catalog.live_rows import live_table, read_live
from civicport.catalog.privacy_review import apply_pending, decide_columns
from civicport.catalog.records import DatasetMetadata
from civicport.catalog.service import import_table
from civicport.catalog.store import get_dataset
from civicport.errors import Conflict, InvalidUpload
from civicport.privacy import store
from civicport.privacy.decisions import Choice
from civicport.privacy.guard import unresolved

HASHED = re.compile(r"[0-9a-f]{16}")
COLUMNS = [
    ("owner_email", "text"), ("address", "text"), ("fee", "number"),
    ("filed", "floating_timestamp"),
]  # fmt: skip
STREETS = ("N Main St", "W Lawrence Ave", "S Halsted St", "E 63rd St")
# One column of each kind of stored value, nulls included, as a file reader yields them.
EVERY_TYPE_COLUMNS = [
    ("name", "text"), ("score", "number"), ("ratio", "double"), ("passed", "checkbox"),
    ("inspected", "floating_timestamp"), ("stamp", "fixed_timestamp"), ("location", "point"),
    ("website", "url"), ("area", "polygon"),
]  # fmt: skip
SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
EVERY_TYPE_ROWS = [
    ("Joe's Diner", Decimal("92"), 0.5, True, dt.datetime(2019, 1, 2, 8, 0, 0, 123000),
     dt.datetime(2019, 1, 2, 13, 0, tzinfo=dt.UTC), (-72.68, 41.76), "http://joes.example", SQUARE),
    ("Pizza Place", Decimal("75.5"), 1.25, False, dt.datetime(2020, 5, 6), None, None, None, None),
    ("Taco Stand", None, None, None, None, None, (-72.7, 41.7), None, None),
]  # fmt: skip


def permit_rows(count: int) -> list[tuple]:
    start = dt.datetime(2023, 1, 1)
    return [
        (
            f"owner{i}@example.org",
            f"{100 + i % 4000} {STREETS[i % 4]}",
            i % 500,
            start + dt.timedelta(minutes=7 * i),
        )
        for i in range(count)
    ]


@pytest.fixture
def people(engine):
    with engine.begin() as conn:
        admin = create_user(conn, email="admin@city.example", role="admin", department=None)
        owner = create_user(conn, email="owner@city.example", role="publisher", department="Health")
    return admin, owner


@pytest.fixture
def make(engine, table, people):
    """A Health dataset owned by the publisher, with no privacy decision unless given."""

    def create(rows, *, audience="private", columns=COLUMNS, privacy=None) -> str:
        metadata = DatasetMetadata(title="Permits", department="Health", audience=audience)
        return import_table(
            engine,
            table(columns, rows),
            metadata=metadata,
            owner_id=people[1].user_id,
            privacy_decisions=privacy,
            decided_by="tests" if privacy else None,
        ).dataset_id

    return create


def live(engine, dataset_id):
    with engine.connect() as conn:
        return get_dataset(conn, dataset_id)


def column(engine, dataset_id, name) -> list:
    with engine.connect() as conn:
        data_table = get_dataset(conn, dataset_id).data_table
        result = conn.exec_driver_sql(f'SELECT "{name}" FROM "{data_table}" ORDER BY _id')
        return [row[0] for row in result]


# --- reading the live rows back --------------------------------------------------------------


def test_live_rows_come_back_as_a_reader_gave_them(engine, make_dataset) -> None:
    dataset_id = make_dataset(EVERY_TYPE_COLUMNS, EVERY_TYPE_ROWS, audience="private")
    record = live(engine, dataset_id)
    with engine.connect() as conn:
        table = read_live(conn, record)
        assert [c.field_name for c in table.columns] == [n for n, _ in EVERY_TYPE_COLUMNS]
        assert [c.soda_type for c in table.columns] == [t for _, t in EVERY_TYPE_COLUMNS]
        assert list(table.rows) == EVERY_TYPE_ROWS
        assert len(list(read_live(conn, record, limit=2).rows)) == 2


def test_rows_that_changed_after_they_were_described_are_not_read(engine, make, table) -> None:
    dataset_id = make(permit_rows(3))
    stale = live(engine, dataset_id)
    import_table(engine, table(COLUMNS, permit_rows(2)), metadata=None, dataset_id=dataset_id,
                 mode="append")  # fmt: skip
    with live_table(engine, stale) as rows, pytest.raises(Conflict, match="changed while"):
        next(rows.rows)


# --- applying pending decisions --------------------------------------------------------------


@pytest.mark.slow
def test_twenty_thousand_rows_go_through_their_pending_decisions(engine, settings, make, people):
    rows = permit_rows(20_000)
    dataset_id = make(rows)
    before = live(engine, dataset_id)
    admin = people[0]
    decide_columns(
        engine, admin, dataset_id,
        {"owner_email": Choice("hash"), "address": Choice("generalize")},
    )  # fmt: skip
    with engine.connect() as conn:
        assert {i.kind for i in unresolved(conn, dataset_id)} == {"pending"}
    seen: list[int] = []

    applied = apply_pending(engine, settings, admin, dataset_id, progress=seen.append)

    assert applied is not None
    assert applied.live
    assert applied.row_count == 20_000
    assert {d.field_name for d in applied.decisions} == {"owner_email", "address"}
    assert seen[-1] == 20_000
    assert seen == sorted(seen)
    after = live(engine, dataset_id)
    assert after.row_count == before.row_count == 20_000
    emails = column(engine, dataset_id, "owner_email")
    assert all(HASHED.fullmatch(e) for e in emails)
    assert len(set(emails)) == 20_000  # distinct values stay distinct
    addresses = column(engine, dataset_id, "address")
    assert addresses[0] == "100 BLOCK OF N MAIN ST"
    assert all(" BLOCK OF " in a for a in addresses)
    assert column(engine, dataset_id, "fee") == [r[2] for r in rows]  # other columns as they were
    assert len(column(engine, dataset_id, "filed")) == 20_000
    with engine.connect() as conn:
        assert unresolved(conn, dataset_id) == []
        assert all(d.applied for d in store.decisions(conn, dataset_id))
        # What the scan of the raw values found is kept: hashed values no longer show it.
        assert {f.column for f in store.findings(conn, dataset_id)} >= {"owner_email", "address"}
        ids = conn.exec_driver_sql(f'SELECT min(_id) FROM "{after.data_table}"').scalar()
        event = list_events(conn, action="privacy.apply", dataset_id=dataset_id)[0]
    assert ids == 20_001  # a replace: new ids after the old ones
    assert event.actor == "admin@city.example"
    assert event.detail["row_count"] == 20_000
    assert sa.inspect(engine).has_table(before.data_table) is False  # the old rows are gone


def test_a_decision_already_applied_is_not_applied_twice(engine, settings, make, people) -> None:
    dataset_id = make(permit_rows(50), privacy={"owner_email": Choice("hash")})
    hashed = column(engine, dataset_id, "owner_email")
    assert all(HASHED.fullmatch(e) for e in hashed)
    decide_columns(engine, people[0], dataset_id, {"address": Choice("generalize")})

    apply_pending(engine, settings, people[0], dataset_id)

    assert column(engine, dataset_id, "owner_email") == hashed  # not a hash of the hash
    assert all("BLOCK OF" in a for a in column(engine, dataset_id, "address"))
    with engine.connect() as conn:
        found = {(f.column, f.kind) for f in store.findings(conn, dataset_id)}
    # The stored hashes hide the emails from the new scan; what the first scan found stays.
    assert ("owner_email", "email") in found
    assert apply_pending(engine, settings, people[0], dataset_id) is None  # nothing pending


def test_a_public_datasets_change_waits_in_the_draft_for_a_publisher(
    engine, settings, make, people
) -> None:
    reason = {"address": Choice("accept", "Business addresses"),
              "owner_email": Choice("accept", "Shared inboxes")}  # fmt: skip
    dataset_id = make(permit_rows(30), audience="public", privacy=reason)
    admin, owner = people
    decide_columns(engine, owner, dataset_id, {"owner_email": Choice("hash")})

    applied = apply_pending(engine, settings, owner, dataset_id)

    assert applied is not None
    assert not applied.live  # waits in the draft
    assert applied.row_count == 30
    assert "@" in column(engine, dataset_id, "owner_email")[0]  # live rows unchanged
    drafts.submit_draft(engine, owner, dataset_id)
    drafts.approve_draft(engine, admin, dataset_id)
    assert all(HASHED.fullmatch(e) for e in column(engine, dataset_id, "owner_email"))
    with engine.connect() as conn:
        assert unresolved(conn, dataset_id) == []


def test_a_draft_with_new_data_is_not_overwritten(engine, settings, make, people, table) -> None:
    reason = {"address": Choice("accept", "Business addresses"),
              "owner_email": Choice("accept", "Shared inboxes")}  # fmt: skip
    dataset_id = make(permit_rows(5), audience="public", privacy=reason)
    _admin, owner = people
    drafts.edit_dataset(engine, settings, owner, dataset_id, table=table(COLUMNS, permit_rows(9)))
    decide_columns(engine, owner, dataset_id, {"owner_email": Choice("hash")})

    with pytest.raises(Conflict, match="draft with new data"):
        apply_pending(engine, settings, owner, dataset_id)

    with engine.connect() as conn:
        assert drafts.get_draft(conn, dataset_id).row_count == 9
    assert live(engine, dataset_id).row_count == 5


def test_bad_decisions_record_nothing(engine, settings, make, people) -> None:
    dataset_id = make(permit_rows(10))
    admin = people[0]
    with pytest.raises(InvalidUpload, match="needs a written reason"):
        decide_columns(engine, admin, dataset_id,
                       {"owner_email": Choice("hash"), "address": Choice("accept")})  # fmt: skip
    with pytest.raises(InvalidUpload, match="cannot be generalised"):
        decide_columns(engine, admin, dataset_id, {"owner_email": Choice("generalize")})
    with pytest.raises(InvalidUpload, match="no column 'nope'"):
        decide_columns(engine, admin, dataset_id, {"nope": Choice("drop")})
    with engine.connect() as conn:
        assert store.decisions(conn, dataset_id) == []
        assert list_events(conn, action="privacy.decide") == []
