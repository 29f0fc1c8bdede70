"""A department publisher's journey in a real browser: sign in, upload a CSV, review its columns,
resolve the privacy finding, save it as internal (a queued import, which a real worker runs),
and find it on /browse — on a phone-sized screen with JavaScript off, since none of publishing
may need it."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from civicport.auth.accounts import create_user
from civicport.db.engine import make_engine

PASSWORD = "correct horse battery"
PHONE = (360, 740)


def publisher(live_server) -> str:
    """A new publisher of the Parks department on the live server's database."""
    email = f"parks-{secrets.token_hex(4)}@city.example"
    engine = make_engine(live_server.settings)
    try:
        with engine.begin() as conn:
            create_user(conn, email=email, role="publisher", department="Parks", password=PASSWORD)
    finally:
        engine.dispose()
    return email


def assert_fits(page: Page, where: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE[0], f"{where} is {width}px wide on a {PHONE[0]}px screen"


def assert_accessible_with_script(page_factory, page: Page, assert_accessible, where: str) -> None:
    """axe-core needs JavaScript, which the journey's page has off: check the same address, as
    the same signed-in person, in a page that runs scripts."""
    checker = page_factory()
    checker.context.add_cookies(page.context.cookies())
    checker.goto(page.url)
    assert_accessible(checker, where)


def follow_run_without_script(page: Page, timeout: float = 30) -> None:
    """Refresh a run's page with its Refresh link until the run is done."""
    deadline = time.monotonic() + timeout
    while not page.get_by_text("Done.").count():
        assert "The run failed" not in page.content(), page.content()
        assert time.monotonic() < deadline, "the queued import did not finish"
        time.sleep(0.2)
        page.get_by_role("link", name="Refresh").click()


def test_publisher_uploads_reviews_and_saves_as_internal(
    page_factory, live_server, live_worker, assert_accessible, tmp_path: Path
) -> None:
    email = publisher(live_server)
    marker = f"Tree plantings {secrets.token_hex(3)}"
    upload = tmp_path / "tree_plantings.csv"
    upload.write_text(
        "Planting ID,Species,Requested By\n"
        + "".join(f"T-{i},Oak,resident{i}@example.org\n" for i in range(1, 21)),
        encoding="utf-8",
    )
    page = page_factory(viewport=PHONE, java_script_enabled=False)

    # Managing needs an account: the 401 page links to the sign-in, which comes back here.
    page.goto("/manage")
    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/manage$"))

    page.get_by_role("link", name="Publish a new dataset").click()
    page.get_by_label("Data file").set_input_files(str(upload))
    page.get_by_role("button", name="Upload and review").click()
    expect(page).to_have_url(re.compile(r"/manage/uploads/[\w-]+$"))
    expect(page.get_by_role("heading", name="Review the upload")).to_be_visible()
    assert_fits(page, "the review page")

    # The schema as inferred, the metadata, then the finding and its resolution.
    expect(page.get_by_label("Display name").first).to_have_value("Planting ID")
    page.get_by_label("Row identifier").select_option(label="Planting ID")
    about = page.get_by_role("region", name=re.compile("About the dataset"))
    about.get_by_label("Title").fill(marker)
    about.get_by_label("Description").fill("Trees the city planted on request.")
    flagged = page.get_by_role("group", name="Column Requested By")
    expect(flagged).to_contain_text("holds email addresses")
    assert_accessible_with_script(page_factory, page, assert_accessible, "the review page")
    flagged.get_by_label("Hash the values").check()
    page.get_by_role("button", name="Save as internal").click()

    # The import runs as a queued job; without JavaScript its page is refreshed by hand.
    expect(page).to_have_url(re.compile(r"/manage/runs/\d+$"))
    live_worker()
    follow_run_without_script(page)
    page.get_by_role("link", name="Open the dataset").click()
    expect(page).to_have_url(re.compile(r"/manage/d/\w{4}-\w{4}\?saved=internal$"))
    expect(page.get_by_role("status")).to_contain_text("Saved as internal")
    expect(page.get_by_role("heading", level=1)).to_have_text(marker)
    assert_fits(page, "the dataset's manage page")
    assert_accessible_with_script(page_factory, page, assert_accessible, "the manage page")

    # Signed in, the internal dataset is in the catalog; its emails are hashed.
    page.goto("/browse?q=" + marker.replace(" ", "+"))
    page.get_by_role("link", name=marker).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(marker)
    expect(page.get_by_text("resident1@example.org")).to_have_count(0)

    anonymous = page_factory()
    anonymous.goto("/browse?q=" + marker.replace(" ", "+"))
    expect(anonymous.get_by_role("link", name=marker)).to_have_count(0)
