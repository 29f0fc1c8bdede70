"""Residents' journeys in a real browser (Debian's Chromium) against the real portal serving the
bundled demo datasets: search, a dataset page, a grid filter, a chart, a map and a download, in
English and in Spanish, with and without JavaScript."""

from __future__ import annotations

import csv
import io
import os
import re
import socket
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

INSPECTIONS = "food-insp"
# CIVICPORT_SCREENSHOTS=docs/screenshots refreshes the README's pictures; otherwise they go to a
# temporary folder and are only checked for being real images.
SCREENSHOTS = os.environ.get("CIVICPORT_SCREENSHOTS")


def scores_in_grid(page: Page) -> list[float]:
    column = [h.strip() for h in page.locator("table.grid thead tr").first.inner_text().split("\t")]
    index = next(i for i, name in enumerate(column) if name.startswith("Score"))
    cells = page.locator(f"table.grid tbody tr td:nth-child({index + 1})").all_inner_texts()
    return [float(c) for c in cells]


def download_filtered_csv(page: Page) -> list[dict[str, str]]:
    with page.expect_download() as download_info:
        page.locator("#filtered-downloads a", has_text="CSV").click()
    path = download_info.value.path()
    return list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))


def test_english_journey_search_filter_chart_download(page: Page) -> None:
    page.goto("/")
    page.get_by_label("Search the data").fill("restaraunt")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/browse\?q=restaraunt"))
    expect(page.get_by_text("Also searched for")).to_be_visible()
    page.get_by_role("link", name="Food Establishment Inspection Scores (Austin, TX)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Food Establishment Inspection Scores (Austin, TX)"
    )

    # Filter the grid: the views are swapped in place and the address follows.
    page.get_by_label("Filter Score").fill(">=99")
    page.get_by_label("Filter Score").press("Enter")
    expect(page).to_have_url(re.compile(r"f\.score=%3E%3D99"))
    expect(page.locator("#current-soql")).to_have_text("$where=`score` >= 99")
    scores = scores_in_grid(page)
    assert scores
    assert all(score >= 99 for score in scores)

    rows = download_filtered_csv(page)
    assert len(rows) > 25  # the whole filter, not just the page on screen
    assert all(float(row["score"]) >= 99 for row in rows)

    # A chart of the same filter, drawn by Vega-Lite.
    page.get_by_role("link", name="Chart").click()
    expect(page).to_have_url(re.compile(r"tab=chart"))
    expect(page.locator("#chart-view svg")).to_be_visible()
    expect(page.locator("#chart-view")).to_have_attribute("data-drawn", "true")

    # Back to the table, still filtered; back again, unfiltered.
    page.go_back()
    expect(page.locator("#current-soql")).to_have_text("$where=`score` >= 99")
    page.go_back()
    expect(page.locator("#current-soql")).to_have_count(0)


def test_spanish_journey(page_factory) -> None:
    page = page_factory(locale="es-ES")
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.get_by_label("Buscar en los datos").fill("inspections")
    page.get_by_role("button", name="Buscar").click()
    page.get_by_role("link", name="Food Establishment Inspection Scores (Austin, TX)").click()
    expect(page.get_by_role("heading", name="Descargar")).to_be_visible()
    page.get_by_label("Filtrar Score").fill("100")
    page.get_by_role("button", name="Aplicar filtros").click()
    expect(page).to_have_url(re.compile(r"f\.score=100"))  # pushed once the views are swapped
    expect(page.locator("#current-soql")).to_have_text("$where=`score` = 100")
    expect(page.get_by_text(re.compile(r"Filas 1–25 de"))).to_be_visible()
    assert set(scores_in_grid(page)) == {100.0}
    page.get_by_role("link", name="Gráfico").click()
    expect(page.locator("#chart-view svg")).to_be_visible()
    rows = download_filtered_csv(page)
    assert {row["score"] for row in rows} == {"100"}
    # The switch back to English is remembered.
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/browse")
    expect(page.get_by_role("heading", level=1)).to_have_text("Data catalog")


def test_reading_and_searching_work_without_javascript(page_factory) -> None:
    page = page_factory(java_script_enabled=False)
    page.goto("/browse?q=crane")
    page.get_by_role("link", name=re.compile("Tower Cranes")).click()
    page.get_by_label("Search the rows").fill("ADDISON")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"q=ADDISON"))
    expect(page.get_by_text(re.compile(r"Rows 1–\d+ of \d+"))).to_be_visible()
    page.get_by_role("link", name="Chart").click()
    # Without JavaScript the chart is its table.
    expect(page.get_by_text("The chart's numbers as a table")).to_be_visible()
    expect(page.locator("details.chart-data table tbody tr").first).to_be_visible()


def test_map_clusters_points_without_any_base_map(page: Page) -> None:
    page.goto(f"/d/{INSPECTIONS}?tab=map")
    expect(page.locator("#map-view .leaflet-marker-icon").first).to_be_visible()
    drawn = page.locator("#map-view").get_attribute("data-drawn", timeout=10_000)
    expect(page.locator("#map-view")).to_have_attribute("data-drawn", re.compile(r"^\d+$"))
    assert drawn is None or int(drawn) > 0
    expect(page.get_by_text("No base map is configured")).to_be_visible()
    page.locator("#map-view .leaflet-marker-icon").first.click()
    expect(page.locator(".leaflet-popup-content table")).to_be_visible()


def test_map_shows_points_when_tiles_cannot_load(
    page_factory, live_server_factory, browser_activity
) -> None:
    with socket.socket() as probe:  # a port nobody listens on: every tile fails
        probe.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{probe.getsockname()[1]}"
    server = live_server_factory(map_tile_url=f"http://{dead}/{{z}}/{{x}}/{{y}}.png")
    browser_activity.allowed_hosts.add(dead)
    page = page_factory(server=server)
    page.goto(f"/d/{INSPECTIONS}?tab=map")
    expect(page.locator("#map-view")).to_have_attribute("data-drawn", re.compile(r"^[1-9]\d*$"))
    expect(page.locator("#map-view .leaflet-marker-icon").first).to_be_visible()
    assert any(dead in url for url in browser_activity.requests)


@pytest.mark.parametrize("width", [360, 1280])
def test_pages_fit_a_phone_and_keyboard_users_can_skip_to_content(page_factory, width) -> None:
    page = page_factory(viewport=(width, 740))
    for path in ("/", "/browse", f"/d/{INSPECTIONS}", f"/d/{INSPECTIONS}?tab=api"):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than a {width}px screen"
    page.goto("/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()


MAIN_PAGES = {
    "home": "/",
    "catalog": "/browse?q=inspections",
    "dataset": f"/d/{INSPECTIONS}",
    "chart": f"/d/{INSPECTIONS}?tab=chart",
    "map": f"/d/{INSPECTIONS}?tab=map",
    "api": f"/d/{INSPECTIONS}?tab=api&f.score=100",
    "not-found": "/d/zzzz-zzzz",
    "bad-filter": f"/d/{INSPECTIONS}?f.nope=1",
}


def open_drawn(page: Page, name: str, path: str) -> None:
    """Open one of MAIN_PAGES and wait until its chart or map (if any) is drawn."""
    page.goto(path)
    if name == "chart":
        expect(page.locator("#chart-view svg")).to_be_visible()
    if name == "map":
        expect(page.locator("#map-view .leaflet-marker-icon").first).to_be_visible()


@pytest.mark.parametrize("locale", ["en-US", "es-ES"])
def test_main_pages_have_no_serious_accessibility_violations(
    page_factory, assert_accessible, locale
) -> None:
    page = page_factory(locale=locale)
    for name, path in MAIN_PAGES.items():
        open_drawn(page, name, path)
        assert_accessible(page, f"{name} ({locale})")


def test_screenshots_of_the_main_pages(page_factory, tmp_path) -> None:
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page = page_factory(viewport=(1280, 900))
    shots = {k: MAIN_PAGES[k] for k in ("home", "catalog", "dataset", "chart", "map")}
    for name, path in shots.items():
        open_drawn(page, name, path)
        page.screenshot(path=folder / f"{name}.png", full_page=name != "dataset")
        assert (folder / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    phone = page_factory(viewport=(360, 740))
    phone.goto(MAIN_PAGES["dataset"])
    phone.screenshot(path=folder / "dataset-phone.png")
