"""Every door × every principal × every audience: who sees and changes what.

The doors are the app's own routes: `test_every_route_is_a_door` fails when a route has no entry
in DOORS, so a new way out cannot ship without saying what it shows to whom. The principals are
an anonymous reader, a viewer (city staff), a publisher of another department, the dataset's
owner, a collaborator (a publisher of another department added to the dataset) and an admin. The
audiences are private, internal, public, and a public dataset with a pending draft, whose draft
text must come out of no door but the preview, and only to those who may review it.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from civicport.auth.accounts import create_user, user_by_id
from civicport.auth.keys import create_key
from civicport.auth.sessions import SESSION_COOKIE, session_token
from civicport.catalog import drafts
from civicport.catalog.records import DatasetMetadata
from civicport.catalog.service import import_table
from civicport.catalog.store import set_collaborators
from civicport.datastore.rowids import format_row_id
from civicport.db.schema import users
from civicport.ingest.records import ColumnSpec, ParsedTable
from civicport.web.csrf import CSRF_COOKIE, CSRF_FIELD

PRINCIPALS = ("anonymous", "viewer", "other_publisher", "owner", "collaborator", "admin")
AUDIENCES = ("private", "internal", "public", "draft")
REVIEWERS = {"owner", "collaborator", "admin"}
PASSWORD = "correct horse battery"
# One word per dataset that appears nowhere else, in its title (searches, corrections).
UNIQUE_WORDS = {
    "private": "Marmoset",
    "internal": "Narwhal",
    "public": "Ocelot",
    "draft": "Pangolin",
}
# Words that exist only in the draft (its title and one of its rows): no door but the preview
# may ever show them.
DRAFT_MARKERS = ("Quetzalwrangle", "zebroidfee")
ROW = format_row_id(2)  # the second row's :id
COLUMNS = [ColumnSpec("permit", "Permit", "text"), ColumnSpec("kind", "Kind", "text")]
ROWS = [("P-1", "fence"), ("P-2", "deck"), ("P-3", "roof")]


def may_see(principal: str, audience: str) -> bool:
    if audience in ("public", "draft"):
        return True
    if principal == "anonymous":
        return False
    return audience == "internal" or principal in REVIEWERS


def may_change(principal: str) -> bool:
    return principal in REVIEWERS


@dataclass
class World:
    """The accounts, their credentials and one dataset per audience, on one database."""

    datasets: dict[str, str] = field(default_factory=dict)  # audience → id
    titles: dict[str, str] = field(default_factory=dict)  # audience → live title
    cookies: dict[str, dict[str, str]] = field(default_factory=dict)
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)


@pytest.fixture
def world(client: TestClient, app: FastAPI, engine: sa.Engine, settings) -> World:
    world = World()
    accounts = {
        "viewer": ("viewer", "Health"),
        "other_publisher": ("publisher", "Police"),
        "owner": ("publisher", "Health"),
        "collaborator": ("publisher", "Fire"),
        "admin": ("admin", None),
    }
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        for name, (role, department) in accounts.items():
            email = f"{name}@hartford.example"
            principal = create_user(
                conn, email=email, role=role, department=department, password=PASSWORD
            )
            ids[name] = principal.user_id
            hashed = conn.execute(
                sa.select(users.c.password_hash).where(users.c.id == principal.user_id)
            ).scalar_one()
            token = session_token(app.state.signing_key, principal.user_id, hashed)
            world.cookies[name] = {SESSION_COOKIE: token}
            world.keys[name] = create_key(conn, email=email)
    for audience in AUDIENCES:
        title = f"Permits {UNIQUE_WORDS[audience]}"
        table = ParsedTable(columns=COLUMNS, rows=iter(ROWS))
        metadata = DatasetMetadata(
            title=title,
            department="Health",
            audience="public" if audience == "draft" else audience,
        )
        result = import_table(engine, table, metadata=metadata, owner_id=ids["owner"])
        world.datasets[audience] = result.dataset_id
        world.titles[audience] = title
        with engine.begin() as conn:
            set_collaborators(
                conn, result.dataset_id, [ids["collaborator"]], dt.datetime.now(dt.UTC)
            )
    _prepare_draft(engine, settings, world.datasets["draft"], ids["owner"])
    return world


def _prepare_draft(engine: sa.Engine, settings, dataset_id: str, owner_id: int) -> None:
    """The owner (a publisher) renames the public dataset and adds a row: a draft, submitted."""
    with engine.connect() as conn:
        owner = user_by_id(conn, owner_id)
    table = ParsedTable(columns=COLUMNS, rows=iter([*ROWS, ("P-4", DRAFT_MARKERS[1])]))
    metadata = DatasetMetadata(
        title=f"Permits {DRAFT_MARKERS[0]}", department="Health", audience="public"
    )
    outcome = drafts.edit_dataset(
        engine, settings, owner, dataset_id, metadata=metadata, table=table
    )
    assert not outcome.applied  # a publisher's change to a public dataset waits for approval
    drafts.submit_draft(engine, owner, dataset_id)


# -- the doors -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What a door is asked about: a dataset's id, and a misspelling of the one word only its
    title holds (a search correction must not reveal the word to those who may not see it)."""

    id: str
    typo: str


@dataclass(frozen=True)
class Door:
    """How to knock on a route for one target, and what it must answer (see _failures).

    Kinds: `dataset` (200 to who may see it, 404 to others), `write` (API key: 401 / 404 /
    403 / 200), `listing` (names the dataset exactly when the reader may see it),
    `public_listing` (only public ones, whoever asks), `no_dataset` (names none), `manage`
    (a staff page about the dataset: 401 / 404 / 403 / 200), `preview` (the draft, to those who
    may review it), `staff_home` (lists what the person may change), `approvals` (drafts
    awaiting the person), `admin` (admins only; 404 to other staff), `form` (a POST with a valid
    CSRF token and nothing else, knocked only by those `allowed` does NOT admit: refused
    401 / 404 / 403 before anything changes).
    """

    urls: Callable[[Target], list[str]]
    kind: str
    method: str = "GET"
    body: bytes | None = None
    allowed: Callable[[str], bool] = lambda principal: False  # noqa: E731 -- form doors
    about_dataset: bool = True  # False: the target dataset plays no part in the answer
    about_draft: bool = False  # True: the dataset's draft, hidden (404) from non-reviewers
    refused: int = 403  # the answer to staff who may see the dataset but not do this
    done: int = 200  # the answer to those who may (a write that cannot apply here: its 4xx)


def _each(*templates: str) -> Callable[[Target], list[str]]:
    return lambda t: [u.format(id=t.id, typo=t.typo) for u in templates]


def _form(
    template: str, allowed: Callable[[str], bool] = may_change, **options: object
) -> list[Door]:
    return [Door(_each(template), "form", "POST", allowed=allowed, **options)]  # type: ignore[arg-type]


def _publishes(principal: str) -> bool:
    return principal in ("other_publisher", "owner", "collaborator", "admin")


def _reviews(principal: str) -> bool:
    """Who may know of the draft: those who may change the dataset or approve it."""
    return may_change(principal) or _approves(principal)


def _approves(principal: str) -> bool:
    return principal == "admin"  # nobody else in this world is an approver


DOORS: dict[str, list[Door]] = {
    # The read API about one dataset: 200 to those who may see it, SODA's 404 to all others.
    # Writes need an API key: 401 without, 404 when the dataset is hidden, 403 when visible but
    # not writable. They are knocked on last (an empty upsert changes nothing).
    "/resource/{dataset_id}.{fmt}": [
        Door(
            _each("/resource/{id}.json", "/resource/{id}.csv", "/resource/{id}.geojson"), "dataset"
        ),
        Door(_each("/resource/{id}.json"), "write", "POST", b"[]"),
    ],  # fmt: skip
    "/resource/{dataset_id}": [Door(_each("/resource/{id}"), "dataset")],
    "/resource/{dataset_id}/{row_id}.{fmt}": [
        Door(
            _each("/resource/{id}/" + ROW + ".json", "/resource/{id}/" + ROW + ".geojson"),
            "dataset",
        )
    ],  # fmt: skip
    "/resource/{dataset_id}/{row_id}": [Door(_each("/resource/{id}/row-zzzz"), "write", "DELETE")],
    "/api/views/{dataset_id}.json": [Door(_each("/api/views/{id}.json"), "dataset")],
    "/api/views/{dataset_id}/rows.csv": [
        Door(
            _each(
                "/api/views/{id}/rows.csv?accessType=DOWNLOAD", "/api/views/{id}/rows.csv?version=1"
            ),
            "dataset",
        )
    ],  # fmt: skip
    "/api/views/{dataset_id}/versions.json": [
        Door(_each("/api/views/{id}/versions.json"), "dataset")
    ],
    "/api/views/{dataset_id}/diff.json": [
        Door(_each("/api/views/{id}/diff.json?from=1&to=1"), "dataset")
    ],
    # Every dataset here is at its first version: a writer's rollback to it is a 409.
    "/api/views/{dataset_id}/rollback.json": [
        Door(_each("/api/views/{id}/rollback.json?version=1"), "write", "POST", done=409)
    ],
    "/d/{dataset_id}": [
        Door(_each("/d/{id}", "/d/{id}?tab=chart", "/d/{id}?tab=map", "/d/{id}?tab=api"), "dataset")
    ],  # fmt: skip
    # A dataset's versions and the diff between two: as visible as the dataset itself.
    "/d/{dataset_id}/history": [Door(_each("/d/{id}/history"), "dataset")],
    "/d/{dataset_id}/diff": [Door(_each("/d/{id}/diff?from=1&to=1"), "dataset")],
    # Lists: a dataset is named and counted exactly when the reader may see it.
    "/api/catalog/v1": [
        Door(
            _each(
                "/api/catalog/v1",
                "/api/catalog/v1?q=permits",
                "/api/catalog/v1?q={typo}",
                "/api/catalog/v1?ids={id}",
            ),
            "listing",
        )
    ],  # fmt: skip
    "/": [Door(_each("/"), "listing")],
    "/browse": [
        Door(
            _each("/browse", "/browse?q=permits", "/browse?sort=views", "/browse?q={typo}"),
            "listing",
        )
    ],  # fmt: skip
    # For search engines: public datasets only, whoever asks.
    "/sitemap.xml": [Door(_each("/sitemap.xml"), "public_listing")],
    # Pages and forms that show no dataset: none of a dataset's words may appear on them.
    "/robots.txt": [Door(_each("/robots.txt"), "no_dataset")],
    "/developers": [Door(_each("/developers"), "no_dataset")],
    "/developers/tokens": [],  # a form post; tests/web/test_developers.py
    "/api/audit.{fmt}": [],  # admins' keys only; tests/api/test_audit_api.py
    # The API described: it must not carry a hidden dataset as an example either.
    "/openapi.json": [Door(_each("/openapi.json"), "no_dataset")],
    # Accounts: no dataset on any of them (their forms: tests/web/test_account.py).
    "/account": [Door(_each("/account"), "no_dataset")],
    "/account/sign-in": [Door(_each("/account/sign-in"), "no_dataset")],
    "/account/sign-out": [],
    "/account/forgot": [Door(_each("/account/forgot"), "no_dataset")],
    "/account/reset/{token}": [Door(_each("/account/reset/not-a-token"), "no_dataset")],
    "/account/keys": [],
    # A key id that is not the person's own is answered as unknown.
    "/account/keys/{key_id}/revoke": _form(
        "/account/keys/cpk_not_yours/revoke", about_dataset=False, refused=404
    ),
    # Staff pages (tests/web/test_manage.py walks their forms through).
    "/manage": [Door(_each("/manage"), "staff_home")],
    "/manage/new": [
        Door(_each("/manage/new"), "no_dataset"),
        *_form("/manage/new", _publishes, about_dataset=False),
    ],
    "/manage/uploads/{token}": [
        Door(_each("/manage/uploads/not-a-token"), "no_dataset"),
        # Only the uploader may open an upload: anyone else, as for a token that never was, 404.
        *_form("/manage/uploads/not-a-token", about_dataset=False, refused=404),
    ],
    "/manage/d/{dataset_id}": [Door(_each("/manage/d/{id}"), "manage")],
    "/manage/d/{dataset_id}/preview": [Door(_each("/manage/d/{id}/preview"), "preview")],
    "/manage/d/{dataset_id}/history": [Door(_each("/manage/d/{id}/history"), "manage")],
    "/manage/d/{dataset_id}/rollback": _form("/manage/d/{id}/rollback"),
    "/manage/d/{dataset_id}/replace": [
        Door(_each("/manage/d/{id}/replace"), "manage"),
        *_form("/manage/d/{id}/replace"),
    ],
    "/manage/d/{dataset_id}/metadata": _form("/manage/d/{id}/metadata"),
    "/manage/d/{dataset_id}/audience": _form("/manage/d/{id}/audience"),
    "/manage/d/{dataset_id}/collaborators": _form("/manage/d/{id}/collaborators"),
    "/manage/d/{dataset_id}/privacy": _form("/manage/d/{id}/privacy"),
    "/manage/d/{dataset_id}/draft/submit": _form("/manage/d/{id}/draft/submit", about_draft=True),
    "/manage/d/{dataset_id}/draft/discard": _form("/manage/d/{id}/draft/discard", about_draft=True),
    "/manage/d/{dataset_id}/approve": _form("/manage/d/{id}/approve", _approves, about_draft=True),
    "/manage/d/{dataset_id}/reject": _form("/manage/d/{id}/reject", _approves, about_draft=True),
    # A dataset's source, schedule, load rules and runs (tests/web/test_manage_sync.py).
    "/manage/d/{dataset_id}/source": [
        Door(_each("/manage/d/{id}/source"), "manage"),
        *_form("/manage/d/{id}/source"),
    ],
    "/manage/d/{dataset_id}/source/remove": _form("/manage/d/{id}/source/remove"),
    "/manage/d/{dataset_id}/sync": _form("/manage/d/{id}/sync"),
    "/manage/d/{dataset_id}/rules": _form("/manage/d/{id}/rules"),
    # A run is not a dataset's door: one that does not exist is 404 to every staff member, and
    # no dataset is named (tests/web/test_manage_runs.py: who may see which run).
    "/manage/runs/{run_id}": [Door(_each("/manage/runs/999999"), "no_dataset")],
    "/manage/runs/{run_id}.json": [Door(_each("/manage/runs/999999.json"), "no_dataset")],
    "/manage/approvals": [Door(_each("/manage/approvals"), "approvals")],
    "/manage/audit": [Door(_each("/manage/audit"), "admin")],
    "/manage/audit.csv": [Door(_each("/manage/audit.csv"), "admin")],
}
FRAMEWORK_ROUTES = {"/docs", "/docs/oauth2-redirect", "/redoc", "/static"}


def route_paths(routes) -> set[str]:
    """Every path the app answers, also inside included routers (which recent FastAPI keeps
    as router objects instead of copying their routes)."""
    paths = set()
    for route in routes:
        included = getattr(route, "original_router", None)
        paths |= route_paths(included.routes) if included else {route.path}
    return paths


def test_every_route_is_a_door(app: FastAPI) -> None:
    routes = route_paths(app.routes) - FRAMEWORK_ROUTES
    assert routes - set(DOORS) == set(), "routes without a door entry"
    assert set(DOORS) - routes == set(), "door entries without a route"


# -- the matrix ------------------------------------------------------------------------------


def test_door_matrix(client: TestClient, world: World) -> None:
    doors = [door for entries in DOORS.values() for door in entries]
    doors.sort(key=lambda door: door.method != "GET")  # reads first: writes may change rows
    failures: list[str] = []
    for door in doors:
        for audience in AUDIENCES:
            target = Target(world.datasets[audience], _typo(UNIQUE_WORDS[audience]))
            for url in door.urls(target):
                for principal in PRINCIPALS:
                    if door.kind == "form" and door.allowed(principal):
                        continue
                    response = _knock(client, world, principal, door, url)
                    where = f"{door.method} {url} as {principal} ({audience})"
                    failures += [f"{where}: {problem}" for problem in
                                 _failures(door, principal, audience, world, response)]  # fmt: skip
    assert failures == [], "\n".join(failures)


ASKED_BY_ID = ("dataset", "write", "form", "manage", "preview")
CSRF = "matrix-csrf-token"  # the double-submit check compares the cookie with the field


def _knock(client: TestClient, world: World, principal: str, door: Door, url: str):
    client.cookies.clear()
    headers: dict[str, str] = {}
    body = door.body
    if door.kind == "write":
        if principal != "anonymous":
            key_id, secret = world.keys[principal]
            token = base64.b64encode(f"{key_id}:{secret}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
    elif principal != "anonymous":
        client.cookies.update(world.cookies[principal])
    if door.kind == "form":
        client.cookies.set(CSRF_COOKIE, CSRF)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = f"{CSRF_FIELD}={CSRF}".encode()
    return client.request(door.method, url, headers=headers, content=body, follow_redirects=False)


def _failures(door: Door, principal: str, audience: str, world: World, response) -> list[str]:
    text = response.text
    status = response.status_code
    problems = []
    if status >= 500:
        problems.append(f"answered {status}")
    expected = _expected_status(door, principal, audience)
    if expected is not None and status != expected and not _row_missing(door, expected, response):
        problems.append(f"answered {status}, expected {expected}")
    shows_draft = status == 200 and (
        (door.kind in ("manage", "preview") and may_change(principal))
        or (door.kind == "approvals" and _approves(principal))
    )
    if door.kind == "preview" and shows_draft and audience == "draft":
        problems += [f"the draft's '{m}' is missing" for m in DRAFT_MARKERS if m not in text]
    elif not shows_draft:
        problems += [f"the draft's '{m}' leaked" for m in DRAFT_MARKERS if m in text]
    listed = _listed(door, principal, audience)
    if listed is None:
        return problems
    words = [world.titles[audience], UNIQUE_WORDS[audience]]
    if door.kind not in ASKED_BY_ID:  # a door asked about an id may say which id it was
        words.append(world.datasets[audience])
    for word in words:
        if word in text and not listed:
            problems.append(f"'{word}' leaked")
        elif word not in text and listed and door.kind != "public_listing":
            problems.append(f"'{word}' missing")
    return problems


def _expected_status(door: Door, principal: str, audience: str) -> int | None:
    """The status a door must answer; None when any non-error answer will do."""
    seen = may_see(principal, audience)
    staff = principal != "anonymous"
    if door.kind == "dataset":
        return 200 if seen else 404
    if door.kind in ("write", "form", "manage"):
        if not staff:
            return 401
        if door.about_dataset and not seen:
            return 404
        if door.about_draft and not (audience == "draft" and _reviews(principal)):
            return 404
        allowed = door.allowed(principal) if door.kind == "form" else may_change(principal)
        return door.done if allowed else door.refused
    if door.kind == "preview":
        if not staff:
            return 401
        return 200 if audience == "draft" and may_change(principal) else 404
    if door.kind in ("staff_home", "approvals"):
        return 200 if staff else 401
    if door.kind == "admin":
        return 200 if principal == "admin" else (401 if not staff else 404)
    return None


def _listed(door: Door, principal: str, audience: str) -> bool | None:
    """Whether the door's answer must name the dataset (True), must not (False), or may
    (None: an admin's audit log names whatever was done)."""
    if door.kind == "listing":
        return may_see(principal, audience)
    if door.kind == "public_listing":
        return audience in ("public", "draft")
    if door.kind == "staff_home":
        return may_change(principal)
    if door.kind == "approvals":
        return _approves(principal) and audience == "draft"
    if door.kind == "admin" and principal == "admin":
        return None
    if door.kind in ("dataset", "manage", "preview", "write"):
        return None if may_see(principal, audience) else False
    return False


def _row_missing(door: Door, expected: int | None, response) -> bool:
    """A permitted DELETE of a row that is not there answers the row's 404, not the dataset's."""
    return (
        door.method == "DELETE"
        and expected == 200
        and response.status_code == 404
        and response.json()["code"] != "dataset.missing"
    )


def _typo(word: str) -> str:
    """The word with two letters swapped: one edit away, so search corrects it."""
    return (word[:2] + word[3] + word[2] + word[4:]).lower()


def test_counts_include_only_what_each_reader_may_see(client: TestClient, world: World) -> None:
    """Hidden means not counted either: the catalog API's total, the home page's and the
    catalog page's counts are those of the datasets the reader may see."""
    for principal in PRINCIPALS:
        client.cookies.clear()
        if principal != "anonymous":
            client.cookies.update(world.cookies[principal])
        visible = sum(may_see(principal, audience) for audience in AUDIENCES)
        label = f"{visible} dataset" + ("" if visible == 1 else "s")
        catalog = client.get("/api/catalog/v1", params={"q": "permits"}).json()
        assert catalog["resultSetSize"] == visible, principal
        assert label in client.get("/").text, principal
        assert label in client.get("/browse").text, principal
