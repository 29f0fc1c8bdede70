"""Decisions as people give them, and what they resolve (pure functions, no storage)."""

from __future__ import annotations

import datetime as dt

import pytest

from civicport.errors import InvalidUpload
from civicport.privacy.decisions import (
    Choice,
    Decision,
    covers,
    decision_after,
    parse_assignment,
    unresolved_items,
)
from civicport.privacy.findings import Finding

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def finding(column: str, kind: str) -> Finding:
    return Finding(column, kind, 1.0, (), f"Column '{column}' holds {kind}")


def decided(column: str, action: str, kinds: tuple[str, ...], *, applied: bool = True) -> Decision:
    return Decision(column, action, "why" if action == "accept" else "", "cli", NOW, kinds, applied)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hash", ("name", Choice("hash"))),
        (" Drop ", ("name", Choice("drop"))),
        (
            "accept:Public record: see the charter",
            ("name", Choice("accept", "Public record: see the charter")),
        ),
    ],
)
def test_parse_assignment(text: str, expected: tuple[str, Choice]) -> None:
    assert parse_assignment(f"name={text}") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name", "is not COLUMN=ACTION"),
        ("=hash", "is not COLUMN=ACTION"),
        ("name=blur", "'blur' is not a privacy decision"),
        ("name=accept", "needs a written reason"),
        ("name=accept:  ", "needs a written reason"),
        ("name=hash:because", "Only accept takes a reason"),
    ],
)
def test_bad_assignments_say_what_is_expected(text: str, message: str) -> None:
    with pytest.raises(InvalidUpload, match=message):
        parse_assignment(text)


def test_drop_and_hash_cover_anything_accept_and_generalize_only_their_kinds() -> None:
    assert covers(decided("a", "drop", ()), "email")
    assert covers(decided("a", "hash", ("person_name",)), "ssn")
    assert covers(decided("a", "accept", ("street_address",)), "street_address")
    assert not covers(decided("a", "accept", ("street_address",)), "email")
    assert not covers(decided("a", "generalize", ("street_address",)), "free_text")


def test_unresolved_lists_uncovered_findings_then_pending_decisions() -> None:
    findings = [finding("name", "person_name"), finding("notes", "email"), finding("x", "ssn")]
    decisions = {
        "name": decided("name", "hash", ("person_name",), applied=False),
        "notes": decided("notes", "accept", ("free_text",)),
        "x": decided("x", "drop", ("ssn",)),
    }
    items = unresolved_items(findings, decisions)
    assert [(i.column, i.kind) for i in items] == [("notes", "email"), ("name", "pending")]
    assert items[0].message.endswith(
        "[notes: email]: drop, hash or accept it with a written reason"
    )


def test_a_decision_made_after_the_rows_were_loaded_stays_pending_until_a_full_load() -> None:
    previous = decided("name", "hash", ("person_name",))
    kept = decision_after(
        previous, "name", Choice("hash"), kinds=["person_name"], actor="a", now=NOW, whole=False
    )
    assert kept.applied  # the same decision, already applied
    changed = decision_after(
        previous, "name", Choice("drop"), kinds=["person_name"], actor="a", now=NOW, whole=False
    )
    assert not changed.applied
    reloaded = decision_after(
        previous, "name", Choice("drop"), kinds=["person_name"], actor="a", now=NOW, whole=True
    )
    assert reloaded.applied
    accepted = decision_after(
        None, "name", Choice("accept", "ok"), kinds=["person_name"], actor="a", now=NOW, whole=False
    )
    assert accepted.applied
    assert accepted.kinds == ("person_name",)
