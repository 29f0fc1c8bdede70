"""A large upload saved from the review page runs as a queued job: its page shows the run's
progress, then "Done." with a link to the new dataset, without reloading — in a real browser,
with a real `civicport worker` process running the job."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from playwright.sync_api import Page, expect
from test_publishing_browser import PASSWORD, publisher

ROWS = 100_000  # a few seconds of loading: long enough for the page to show progress
# Records the run state's text each time the page changes it (the test reads it afterwards).
WATCH_STATE = """() => {
  window.seenStates = [document.querySelector('#run-state').innerText];
  window.notReloaded = true;
  new MutationObserver(() => {
    window.seenStates.push(document.querySelector('#run-state').innerText);
  }).observe(document.querySelector('#run-state'), {childList: true, subtree: true,
                                                      characterData: true});
}"""


def sign_in(page: Page, email: str) -> None:
    page.goto("/account/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/manage$|/$|/account"))


def test_a_queued_upload_shows_progress_then_done_without_reloading(
    page: Page, live_server, live_worker, assert_accessible, tmp_path: Path
) -> None:
    title = f"Service requests {secrets.token_hex(3)}"
    upload = tmp_path / "service_requests.csv"
    with upload.open("w", encoding="utf-8") as file:
        file.write("Case ID,Opened,Status,Ward\n")
        file.writelines(f"C{i},2024-01-{1 + i % 28:02d},open,{i % 50}\n" for i in range(ROWS))
    sign_in(page, publisher(live_server))

    page.goto("/manage/new")
    page.get_by_label("Data file").set_input_files(str(upload))
    page.get_by_role("button", name="Upload and review").click()
    expect(page.get_by_role("heading", name="Review the upload")).to_be_visible()
    page.get_by_role("region", name=re.compile("About the dataset")).get_by_label("Title").fill(
        title
    )
    page.get_by_role("button", name="Save as private").click()

    expect(page).to_have_url(re.compile(r"/manage/runs/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    page.evaluate(WATCH_STATE)
    assert_accessible(page, "a running upload's page")
    live_worker()  # (the live server may run jobs itself too: a run is never run twice)

    done = page.locator("#run-state").get_by_text("Done.")
    expect(done).to_be_visible(timeout=60_000)
    expect(page.locator("#run-state")).to_contain_text(f"{ROWS:,} rows added")
    # The same document all along: the script swapped the state in, nothing reloaded.
    assert page.evaluate("window.notReloaded") is True
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    seen = page.evaluate("window.seenStates")
    assert not seen[0].startswith("Succeeded"), seen[0]  # it was followed while it ran
    assert any(("Waiting for" in s or "Loading and checking" in s) for s in seen), seen
    assert "Done." in seen[-1]
    assert_accessible(page, "a finished upload's page")

    page.get_by_role("link", name="Open the dataset").click()
    expect(page).to_have_url(re.compile(r"/manage/d/\w{4}-\w{4}\?saved=private$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_text(f"{ROWS:,} rows")).to_be_visible()

    # The dataset's source page lists the upload in its run history.
    page.get_by_role("link", name="Source, schedule, load rules and run history").click()
    history = page.get_by_role("region", name="Run history")
    expect(history.get_by_role("row", name=re.compile("Upload"))).to_contain_text("Succeeded")
    assert_accessible(page, "the source page")
