"""The browser harness end to end: the real portal, a real browser, axe-core, vendor files."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Mount

VENDOR_DIR = Path(__file__).resolve().parents[3] / "src" / "civicport" / "web" / "static" / "vendor"


def test_home_page_has_site_name_and_is_accessible(page, live_server, assert_accessible):
    response = page.goto("/")

    assert response is not None
    assert response.ok, f"GET / answered {response.status}"
    assert live_server.settings.site_name in page.title()
    assert_accessible(page, "home page")


def test_vendor_files_are_installed_and_served(live_server):
    # `npm ci` (postinstall: scripts/copy-vendor.mjs) puts them there; .ci/run runs it.
    for name in ("leaflet/leaflet.js", "leaflet/leaflet.css", "leaflet/images/marker-icon.png"):
        assert (VENDOR_DIR / name).is_file(), f"{VENDOR_DIR / name} is missing: run `npm ci`"

    static_mounted = any(
        isinstance(route, Mount) and route.path == "/static" for route in live_server.app.routes
    )
    if static_mounted:
        response = live_server.get("/static/vendor/leaflet/leaflet.js")
        assert response.status_code == 200
        assert response.content == (VENDOR_DIR / "leaflet" / "leaflet.js").read_bytes()
