"""Browser tests: the real portal under Uvicorn, driven by Debian's Chromium through Playwright.

One server and one browser per test session (per pytest-xdist worker), a fresh browser context
per test. The fixtures:

    live_server            the portal on the bundled demo datasets, SQLite, 127.0.0.1:<free port>
    live_server_factory    live_server_factory(site_name="X") -> another server, same data
    live_worker            live_worker() -> `civicport worker` running on live_server's data
    browser                Chromium (headless, /usr/bin/chromium)
    page                   a page in a new en-US context, 1280x800, base_url = live_server.url
    page_factory           page_factory(locale="es-ES", viewport=(360, 740)) -> another page
    browser_activity       what this test's pages did: requests, foreign requests, page errors
    assert_accessible      assert_accessible(page, "home page"): axe-core, WCAG 2.1 A and AA

After each test that opened a page, it fails if any page asked a host other than the live
server (the portal calls no third-party host unless configured to) or threw an uncaught
JavaScript error. Browser tests are skipped only where /usr/bin/chromium is missing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Route,
    WebSocket,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

from civicport.api.http_protocol import SodaHttpToolsProtocol
from civicport.app import create_app
from civicport.config import Settings
from civicport.demo.setup import setup_demo

REPO = Path(__file__).resolve().parents[3]
CHROMIUM = Path("/usr/bin/chromium")
# Root in a container, no GPU, and a closed network: keep Chromium from phoning home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_JS = REPO / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_FAILING_IMPACTS = ("serious", "critical")
SITE_NAME = "Springfield Open Data"  # not the default, so tests see the setting reach the pages
SERVER_START_SECONDS = 30
PAGE_TIMEOUT_MS = 10_000  # Playwright's default is 30 s; a portal page that slow is a bug
LOCAL_SCHEMES = ("http", "https", "ws", "wss")


# --- the live server ---------------------------------------------------------------------------


@dataclass
class LiveServer:
    """A running portal. `url` has no trailing slash; `url_for("/x")` is an absolute URL."""

    url: str
    settings: Settings
    app: FastAPI
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def netloc(self) -> str:
        """host:port, as the browser's request URLs carry it."""
        return urlsplit(self.url).netloc

    def url_for(self, path: str) -> str:
        return urljoin(self.url + "/", path.lstrip("/"))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """A plain HTTP GET against the server (no browser), e.g. to check a static file."""
        return httpx.get(self.url_for(path), timeout=10, **kwargs)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        if self._thread.is_alive():  # a connection that never closed; don't hang the session
            self._server.force_exit = True
            self._thread.join(timeout=5)


def _start_server(settings: Settings) -> LiveServer:
    """Run create_app(settings) under Uvicorn in a daemon thread on 127.0.0.1, on a port the
    kernel picks (bound here first, so two xdist workers never race for one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        http=SodaHttpToolsProtocol,  # the protocol `civicport serve` runs
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported by the waiting loop below
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"live-server-{port}", daemon=True)
    thread.start()
    live = LiveServer(f"http://127.0.0.1:{port}", settings, app, server, thread)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while True:
        if errors or not thread.is_alive():
            sock.close()
            raise RuntimeError(f"the live server did not start: {errors or 'its thread ended'}")
        if server.started:
            try:
                live.get("/", follow_redirects=False)  # any HTTP answer will do
                break
            except httpx.TransportError:
                pass
        if time.monotonic() > deadline:
            live.stop()
            raise RuntimeError(f"the live server did not answer within {SERVER_START_SECONDS} s")
        time.sleep(0.05)
    return live


def _prepare_demo_home(tmp_path_factory: pytest.TempPathFactory, home: Path) -> None:
    """Fill `home` with the demo datasets, as `civicport demo` would (setup_demo).

    Under pytest-xdist the first worker to get here loads them into a template home in the
    run's shared temporary folder, under a file lock, and every worker copies that (a copy
    of the SQLite file takes milliseconds; a load takes seconds of CPU). Each worker still
    has a database of its own, so what one worker's tests write no other sees.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        setup_demo(Settings(home=home, database_url=None))
        return
    shared = tmp_path_factory.getbasetemp().parent / "live-server-demo"
    shared.mkdir(exist_ok=True)
    template, ready = shared / "home", shared / "ready"
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not ready.exists():
            shutil.rmtree(template, ignore_errors=True)  # a worker that died halfway
            setup_demo(Settings(home=template, database_url=None))
            ready.touch()
    shutil.copytree(template, home)


@pytest.fixture(scope="session")
def live_server_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., LiveServer]]:
    """live_server_factory(**setting_overrides) -> a LiveServer on the shared demo database.

    The demo datasets are loaded once per session (setup_demo, as `civicport demo` does) into
    a fresh CIVICPORT_HOME on SQLite (see _prepare_demo_home); every server shares that home
    and differs only in the settings given (e.g. map_tile_url, site_name). Servers are cached
    by their overrides and stopped at the end of the session.
    """
    home = tmp_path_factory.mktemp("live-server") / "home"
    _prepare_demo_home(tmp_path_factory, home)
    base = Settings(home=home, database_url=None, site_name=SITE_NAME)
    servers: dict[tuple[tuple[str, Any], ...], LiveServer] = {}

    def make(**overrides: Any) -> LiveServer:
        key = tuple(sorted(overrides.items()))
        if key not in servers:
            servers[key] = _start_server(base.model_copy(update=overrides))
        return servers[key]

    yield make
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="session")
def live_server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    """The portal with the four demo datasets (food-insp, crne-prmt, pthl-kcmo, crsh-hfd1)."""
    return live_server_factory()


@pytest.fixture
def live_worker(live_server: LiveServer, tmp_path: Path) -> Iterator[Callable[[], None]]:
    """live_worker() starts a real `civicport worker` process on the live server's home, which
    runs what its pages queue (uploads, syncs); it is stopped (SIGTERM) after the test. The
    live server runs no jobs of its own unless its settings turn the embedded worker on."""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPORT_")}
        env |= {
            "CIVICPORT_HOME": str(live_server.settings.home),
            "CIVICPORT_CONFIG": str(tmp_path / "no-such-civicport.toml"),
        }
        with (tmp_path / "worker.log").open("wb") as log:
            command = [sys.executable, "-m", "civicport", "worker", "--workers", "1"]
            started.append(subprocess.Popen(command, env=env, stdout=log, stderr=log))

    yield start
    for process in started:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"browser tests need Debian's Chromium at {CHROMIUM} "
            "(apt-get install -y chromium; .ci/run installs it)"
        )
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    browser = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@dataclass
class BrowserActivity:
    """What the pages of one test did. A test may read it, or add to `allowed_hosts`
    ("host:port") before navigating when it configures a third-party host on purpose."""

    allowed_hosts: set[str]
    requests: list[str] = field(default_factory=list)  # every URL asked for, in order
    foreign: list[str] = field(default_factory=list)  # those to a host not allowed (aborted)
    page_errors: list[str] = field(default_factory=list)  # uncaught JavaScript errors
    console_errors: list[str] = field(default_factory=list)  # console.error and failed loads

    def is_foreign(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in LOCAL_SCHEMES and parts.netloc not in self.allowed_hosts


@pytest.fixture
def browser_activity(live_server: LiveServer) -> Iterator[BrowserActivity]:
    activity = BrowserActivity(allowed_hosts={live_server.netloc})
    yield activity
    problems = []
    if activity.foreign:
        hosts = sorted({urlsplit(u).netloc for u in activity.foreign})
        listed = "\n  ".join(activity.foreign[:10])
        problems.append(
            f"the page called {len(activity.foreign)} URL(s) on other hosts {hosts} "
            f"(the portal must call no third-party host unless configured to):\n  {listed}"
        )
    if activity.page_errors:
        problems.append("uncaught JavaScript errors:\n  " + "\n  ".join(activity.page_errors))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def page_factory(
    browser: Browser, live_server: LiveServer, browser_activity: BrowserActivity
) -> Iterator[Callable[..., Page]]:
    """page_factory(locale="es-ES", viewport=(360, 740), server=None, **context_options) -> a
    Page in a new browser context (defaults: en-US, 1280x800) whose base_url is the server
    (live_server unless another from live_server_factory is given), so page.goto("/") works.
    Other options go to Browser.new_context: color_scheme="dark", reduced_motion="reduce",
    java_script_enabled=False, extra_http_headers=... Every request is recorded in
    browser_activity; requests to any other host are aborted and fail the test."""
    activity = browser_activity
    contexts = []

    def on_request(request: Request) -> None:
        activity.requests.append(request.url)

    def block(route: Route) -> None:
        activity.foreign.append(route.request.url)
        route.abort("blockedbyclient")

    def watch(page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                activity.console_errors.append(f"{page.url}: {message.text}")

        def on_websocket(websocket: WebSocket) -> None:
            activity.requests.append(websocket.url)
            if activity.is_foreign(websocket.url):
                activity.foreign.append(websocket.url)

        page.on("pageerror", lambda error: activity.page_errors.append(f"{page.url}: {error}"))
        page.on("console", on_console)
        page.on("websocket", on_websocket)

    def make(
        locale: str = "en-US",
        viewport: tuple[int, int] = (1280, 800),
        server: LiveServer | None = None,
        **options: Any,
    ) -> Page:
        server = server or live_server
        activity.allowed_hosts.add(server.netloc)
        width, height = viewport
        context = browser.new_context(
            base_url=server.url,
            locale=locale,
            viewport={"width": width, "height": height},
            **options,
        )
        contexts.append(context)
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        context.on("request", on_request)
        context.on("page", watch)
        context.route(activity.is_foreign, block)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(page_factory: Callable[..., Page]) -> Page:
    """A desktop page: en-US, 1280x800, base_url = the live server."""
    return page_factory()


# --- accessibility -----------------------------------------------------------------------------


def run_axe(page: Page) -> dict[str, Any]:
    """axe-core's results for the page as it is now, WCAG 2.0/2.1 A and AA rules only."""
    if not AXE_JS.is_file():
        pytest.fail(f"{AXE_JS.relative_to(REPO)} is missing: run `npm ci` in {REPO}")
    if not page.evaluate("typeof window.axe === 'object'"):
        with contextlib.suppress(PlaywrightError):
            page.add_script_tag(path=AXE_JS)
        if not page.evaluate("typeof window.axe === 'object'"):
            # A Content-Security-Policy without 'unsafe-inline' refuses the injected tag;
            # evaluating through the DevTools protocol is not subject to it.
            page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;undefined")
    return page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )


def _describe(violation: dict[str, Any], limit: int = 3) -> str:
    nodes = violation.get("nodes", [])
    targets = []
    for node in nodes[:limit]:
        # a target is a list of selectors: one per frame or shadow root on the way down
        target = node.get("target", [])
        targets.append(" >> ".join(str(t) for t in target) if isinstance(target, list) else target)
    more = f" (+{len(nodes) - limit} more)" if len(nodes) > limit else ""
    return (
        f"- [{violation.get('impact')}] {violation['id']}: {violation.get('help')}\n"
        f"    at {'; '.join(targets)}{more}\n"
        f"    {violation.get('helpUrl', '')}"
    )


def assert_accessible(page: Page, context_name: str) -> dict[str, Any]:
    """Fail listing each serious or critical WCAG 2.1 A/AA violation axe-core finds on the page;
    returns the full axe results (minor and moderate findings included) otherwise."""
    results = run_axe(page)
    bad = [v for v in results["violations"] if v.get("impact") in AXE_FAILING_IMPACTS]
    if bad:
        listed = "\n".join(_describe(v) for v in bad)
        pytest.fail(
            f"{context_name} ({page.url}): {len(bad)} serious or critical accessibility "
            f"violation(s):\n{listed}",
            pytrace=False,
        )
    return results


@pytest.fixture(name="assert_accessible")
def assert_accessible_fixture() -> Callable[[Page, str], dict[str, Any]]:
    """The assert_accessible(page, context_name) helper, for tests (they import nothing)."""
    return assert_accessible
