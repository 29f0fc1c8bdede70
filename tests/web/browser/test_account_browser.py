"""A staff member signs in through the form in Chromium, sees themselves in the header (also on a
360 px phone), and signs out; the pages pass axe-core and the Content-Security-Policy."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from civicport.auth.accounts import create_user
from civicport.db.engine import make_engine

PASSWORD = "a long browser passphrase"


@pytest.fixture
def staff_email(live_server: Any) -> str:
    """A new publisher account on the live server's database (unique per test)."""
    address = f"pat-{uuid.uuid4().hex[:8]}@city.example"
    engine = make_engine(live_server.settings)
    try:
        with engine.begin() as conn:
            create_user(
                conn, email=address, role="publisher", department="Parks", password=PASSWORD
            )
    finally:
        engine.dispose()
    return address


def sign_in_from_a_staff_page(page: Page, email: str) -> None:
    page.goto("/account")  # needs an account: the 401 page offers to sign in and come back
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to continue")
    page.get_by_role("main").get_by_role("link", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/account/sign-in\?next=%2Faccount$"))
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/account$"))


def test_sign_in_see_yourself_in_the_header_and_sign_out(
    page: Page,
    page_factory: Callable[..., Page],
    staff_email: str,
    assert_accessible: Callable[[Page, str], Any],
    browser_activity: Any,
) -> None:
    axe_errors: list[str] = []  # injecting axe-core is an inline script the policy refuses

    def accessible(on: Page, name: str) -> None:
        before = len(browser_activity.console_errors)
        assert_accessible(on, name)
        axe_errors.extend(browser_activity.console_errors[before:])

    page.goto("/")
    header = page.locator("header.site-header")
    expect(header.get_by_role("link", name="Sign in")).to_be_visible()
    page.goto("/account/sign-in")
    accessible(page, "sign-in page")

    page.get_by_label("Email address").fill(staff_email)
    page.get_by_label("Password").fill("not the password!")
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password")

    sign_in_from_a_staff_page(page, staff_email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(header.get_by_text(staff_email)).to_be_visible()
    expect(header.get_by_role("link", name="Manage")).to_have_attribute("href", "/manage")
    accessible(page, "account page")

    page.get_by_role("button", name="Make a new key").click()
    expect(page.locator("#new-key-secret")).to_be_visible()

    phone = page_factory(viewport=(360, 740))
    sign_in_from_a_staff_page(phone, staff_email)
    phone_header = phone.locator("header.site-header")
    expect(phone_header.get_by_text(staff_email)).to_be_visible()
    expect(phone_header.get_by_role("button", name="Sign out")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scroll
    accessible(phone, "account page at 360 px")

    header.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(header.get_by_role("link", name="Sign in")).to_be_visible()
    expect(header.get_by_text(staff_email)).to_have_count(0)
    page.goto("/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to continue")

    # The portal's own pages, scripts and styles all keep to the Content-Security-Policy.
    portal_errors = [e for e in browser_activity.console_errors if e not in axe_errors]
    assert [e for e in portal_errors if "Content Security Policy" in e] == []
