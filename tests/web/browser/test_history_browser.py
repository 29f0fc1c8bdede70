"""A dataset's versions in a real browser: a resident opens the history, follows "What changed"
and reads the changed row; the publisher signs in, rolls back from the staff history page
through its confirm step, and the dataset's page shows the earlier rows again."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from civicport.auth.accounts import create_user
from civicport.catalog.records import DatasetMetadata
from civicport.catalog.service import import_table
from civicport.db.engine import make_engine
from civicport.ingest.records import ColumnSpec, ParsedTable
from civicport.privacy.decisions import Choice

PASSWORD = "correct horse battery"
COLUMNS = [ColumnSpec("permit", "Permit", "text"), ColumnSpec("fee", "Fee", "number")]
ACCEPT = {c.field_name: Choice("accept", "made-up permits") for c in COLUMNS}
FIRST = [("P1", 50), ("P2", 120), ("P3", 300)]
SECOND = [("P1", 50), ("P2", 150), ("P4", 900)]  # P2's fee changed, P3 removed, P4 added


def permits_with_two_versions(live_server: Any) -> tuple[str, str, str]:
    """A new publisher and their public dataset, loaded twice; (email, dataset id, title)."""
    email = f"permits-{secrets.token_hex(4)}@city.example"
    title = f"Fence permits {secrets.token_hex(3)}"
    engine = make_engine(live_server.settings)
    try:
        with engine.begin() as conn:
            owner = create_user(
                conn, email=email, role="publisher", department="Buildings", password=PASSWORD
            )
        metadata = DatasetMetadata(title=title, department="Buildings", audience="public")
        dataset_id = import_table(
            engine, ParsedTable(columns=COLUMNS, rows=iter(FIRST)), metadata=metadata,
            row_identifier="permit", owner_id=owner.user_id, privacy_decisions=ACCEPT,
            decided_by="tests",
        ).dataset_id  # fmt: skip
        import_table(
            engine, ParsedTable(columns=COLUMNS, rows=iter(SECOND)), metadata=None,
            dataset_id=dataset_id, mode="replace", made_by=email,
        )  # fmt: skip
    finally:
        engine.dispose()
    return email, dataset_id, title


def grid_permits(page: Page) -> list[str]:
    return sorted(page.locator("table.grid tbody tr td:first-child").all_inner_texts())


def test_history_diff_and_rollback_journey(
    page: Page, live_server: Any, assert_accessible: Callable[[Page, str], Any]
) -> None:
    email, dataset_id, title = permits_with_two_versions(live_server)

    # A resident: from the dataset's page to its history, then to what changed.
    page.goto(f"/d/{dataset_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    page.get_by_role("link", name="Earlier versions and what changed").click()
    expect(page).to_have_url(re.compile(rf"/d/{dataset_id}/history$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"History of {title}")
    newest = page.locator("#version-2")
    expect(newest).to_contain_text("Replaced: 1 row added, 1 row changed, 1 row removed")
    expect(page.get_by_role("columnheader", name="Made by")).to_have_count(0)
    assert_accessible(page, "the history page")

    newest.get_by_role("link", name=re.compile("What changed")).click()
    expect(page).to_have_url(re.compile(rf"/d/{dataset_id}/diff\?from=1&to=2$"))
    changed = page.locator("table.diff tr.diff-changed")
    expect(changed).to_have_count(1)
    expect(changed.locator("th")).to_have_text("P2")
    expect(changed.locator("del")).to_contain_text("120")
    expect(changed.locator("ins")).to_contain_text("150")
    expect(page.locator("table.diff tr.diff-removed")).to_contain_text("P3")
    expect(page.locator("table.diff tr.diff-added")).to_contain_text("P4")
    assert_accessible(page, "the diff page")

    # The publisher: the staff history asks them to sign in, then brings them back.
    page.goto(f"/manage/d/{dataset_id}/history")
    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(rf"/manage/d/{dataset_id}/history$"))
    expect(page.locator("#version-2")).to_contain_text(email)  # who made it, for staff
    expect(page.locator("#version-2").get_by_role("button")).to_have_count(0)  # the current one
    assert_accessible(page, "the staff history page")

    page.get_by_role("button", name="Roll back to this version (version 1)").click()
    expect(page.get_by_role("heading", name="Roll back to version 1?")).to_be_visible()
    page.get_by_role("button", name="Yes, roll back to version 1").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Rolled back: version 3 is now current, with the rows of version 1"
    )
    expect(page.locator("#version-3")).to_contain_text("Rolled back to version 1")

    page.goto(f"/d/{dataset_id}")
    assert grid_permits(page) == ["P1", "P2", "P3"]
    expect(page.locator("table.grid tbody")).to_contain_text("120")
