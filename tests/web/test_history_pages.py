"""A dataset's versions in the browser: the history page, its downloads, the diff page, and
rolling back from the staff page with the CSRF-carrying form. On both databases, through the
ASGI app with signed-in sessions (the session cookie as auth.sessions signs it)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from civicport.auth.accounts import create_user
from civicport.auth.audit import AuditEvent, list_events
from civicport.auth.sessions import SESSION_COOKIE, session_token
from civicport.catalog.records import DatasetMetadata
from civicport.catalog.service import import_table
from civicport.catalog.versions import list_versions
from civicport.db.schema import users
from civicport.ingest.records import ColumnSpec, ParsedTable
from civicport.privacy.decisions import Choice
from civicport.web.csrf import CSRF_COOKIE, CSRF_FIELD
from civicport.web.routes.history import MOST_DIFF_ROWS

PERMITS = [("permit", "text"), ("kind", "text"), ("fee", "number")]
FIRST = [("P1", "fence", 50), ("P2", "deck", 120), ("P3", "roof", 300), ("P4", "shed", 80)]
# P2's fee changed, P3 removed, P5 added; P1 and P4 as they were.
SECOND = [("P1", "fence", 50), ("P2", "deck", 150), ("P4", "shed", 80), ("P5", "pool", 900)]
ACCEPT = {name: Choice("accept", "made-up permits") for name, _ in PERMITS}
CSRF = "history-csrf-token-0123456789"
# name → (role, department): "health" owns the datasets; "police" publishes for another department.
ACCOUNTS = {"health": ("publisher", "Health"), "police": ("publisher", "Police"),
            "viewer": ("viewer", "Health")}  # fmt: skip


@dataclass
class Staff:
    """The app's client and database, and one signed-in session per account."""

    client: TestClient
    engine: sa.Engine
    ids: dict[str, int] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)

    def as_(self, name: str | None) -> TestClient:
        """The client as `name` (None: anonymous), with the CSRF cookie every form needs."""
        self.client.cookies.clear()
        self.client.cookies.set(CSRF_COOKIE, CSRF)
        if name is not None:
            self.client.cookies.set(SESSION_COOKIE, self.sessions[name])
        return self.client

    def post(self, name: str | None, url: str, data: dict[str, str]) -> Response:
        form = {CSRF_FIELD: CSRF, **data}
        answer: Response = self.as_(name).post(url, data=form, follow_redirects=False)
        return answer

    def events(self, action: str) -> list[AuditEvent]:
        with self.engine.connect() as conn:
            return list_events(conn, action=action)


@pytest.fixture
def staff(client: TestClient, app: FastAPI, engine: sa.Engine) -> Staff:
    staff = Staff(client, engine)
    # No passwords: hashing one costs a third of a second, and a signed session cookie is all
    # these pages need.
    with engine.begin() as conn:
        for name, (role, department) in ACCOUNTS.items():
            email = f"{name}@city.example"
            principal = create_user(
                conn, email=email, role=role, department=department, password=None
            )
            hashed = conn.execute(
                sa.select(users.c.password_hash).where(users.c.id == principal.user_id)
            ).scalar_one()
            staff.ids[name] = principal.user_id
            staff.sessions[name] = session_token(app.state.signing_key, principal.user_id, hashed)
    return staff


def permits(
    staff: Staff,
    rows: Sequence[tuple[Any, ...]] = FIRST,
    *,
    audience: str = "public",
    key: str | None = "permit",
    columns: Sequence[tuple[str, str]] = PERMITS,
) -> str:
    """A Health dataset owned by the "health" publisher; returns its id."""
    result = import_table(
        staff.engine, _table(rows, columns),
        metadata=DatasetMetadata(title="Permits", department="Health", audience=audience),
        row_identifier=key, owner_id=staff.ids["health"], privacy_decisions=ACCEPT,
        decided_by="tests",
    )  # fmt: skip
    return result.dataset_id


def replace(
    staff: Staff,
    dataset_id: str,
    rows: Sequence[tuple[Any, ...]],
    *,
    columns: Sequence[tuple[str, str]] = PERMITS,
    made_by: str = "health@city.example",
) -> int:
    result = import_table(
        staff.engine, _table(rows, columns), metadata=None, dataset_id=dataset_id,
        mode="replace", made_by=made_by, privacy_decisions=ACCEPT, decided_by="tests",
    )  # fmt: skip
    return result.version


def _table(rows: Sequence[tuple[Any, ...]], columns: Sequence[tuple[str, str]]) -> ParsedTable:
    specs = [ColumnSpec(n, n.title(), t) for n, t in columns]
    return ParsedTable(columns=specs, rows=iter(rows))


def version_row(html: str, number: int) -> str:
    """The history table's row of one version."""
    match = re.search(rf'<tr id="version-{number}"[^>]*>(.*?)</tr>', html, re.S)
    assert match is not None, f"no row for version {number}"
    return match.group(1)


def alert(html: str) -> str:
    """The message of an error page or a refused form."""
    match = re.search(
        r'<(?:p|div) class="alert[^"]*" role="alert"[^>]*>(.*?)</(?:p|div)>', html, re.S
    )
    assert match is not None, "no alert on the page"
    return re.sub(r"<[^>]+>|\s+", " ", match.group(1)).strip()


def api_permits(client: TestClient, dataset_id: str) -> dict[str, str]:
    answer = client.get(f"/resource/{dataset_id}.json", params={"$order": "permit"})
    assert answer.status_code == 200, answer.text
    return {row["permit"]: row["fee"] for row in answer.json()}


# -- the history page -----------------------------------------------------------------------------


def test_history_lists_versions_newest_first_and_shows_the_author_to_writers_only(
    staff: Staff,
) -> None:
    dataset_id = permits(staff)
    replace(staff, dataset_id, SECOND)

    dataset_page = staff.as_(None).get(f"/d/{dataset_id}").text
    assert f'href="/d/{dataset_id}/history"' in dataset_page
    page = staff.as_(None).get(f"/d/{dataset_id}/history")
    assert page.status_code == 200
    html = page.text
    assert html.index('id="version-2"') < html.index('id="version-1"')
    newest, oldest = version_row(html, 2), version_row(html, 1)
    assert "current" in newest
    assert "current" not in oldest
    assert "Replaced: 1 row added, 1 row changed, 1 row removed" in newest
    assert "Created: 4 rows added" in oldest
    assert f'href="/api/views/{dataset_id}/rows.csv?version=1"' in oldest
    assert f'href="/d/{dataset_id}/diff?from=1&amp;to=2"' in newest
    assert "/diff?" not in oldest  # nothing kept before the first version
    # Who made a version is for those who may change the dataset.
    for anyone in (None, "viewer", "police"):
        shown = staff.as_(anyone).get(f"/d/{dataset_id}/history").text
        assert "health@city.example" not in shown.split("<main")[1], anyone
        assert "Made by" not in shown, anyone
        assert f"/manage/d/{dataset_id}/history" not in shown, anyone
    writer = staff.as_("health").get(f"/d/{dataset_id}/history").text
    assert "Made by" in writer
    assert "health@city.example" in version_row(writer, 2)
    assert f'href="/manage/d/{dataset_id}/history"' in writer


def test_the_download_link_gives_the_old_rows(staff: Staff) -> None:
    dataset_id = permits(staff)
    replace(staff, dataset_id, SECOND)
    html = staff.as_(None).get(f"/d/{dataset_id}/history").text
    link = re.search(r'href="([^"]+)"[^>]*>Download CSV', version_row(html, 1))
    assert link is not None
    download = staff.as_(None).get(link.group(1).replace("&amp;", "&"))
    assert download.status_code == 200, download.text
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [(r["Permit"], r["Fee"]) for r in rows] == [(p, str(f)) for p, _, f in FIRST]


def test_a_load_with_other_columns_is_not_offered_as_a_diff(staff: Staff) -> None:
    dataset_id = permits(staff)
    wider = [*PERMITS, ("ward", "number")]
    replace(staff, dataset_id, [(*row, 3) for row in SECOND], columns=wider)
    html = staff.as_(None).get(f"/d/{dataset_id}/history").text
    newest = version_row(html, 2)
    assert "/diff?" not in newest
    assert "The columns changed: download both versions to compare them." in newest
    answer = staff.as_(None).get(f"/d/{dataset_id}/diff", params={"from": 1, "to": 2})
    assert answer.status_code == 409
    assert "have different columns" in alert(answer.text)


def test_history_in_spanish(staff: Staff) -> None:
    dataset_id = permits(staff)
    replace(staff, dataset_id, SECOND)
    html = staff.as_(None).get(f"/d/{dataset_id}/history", params={"lang": "es"}).text
    assert "Historial de Permits" in html
    assert "Reemplazado: 1 fila añadida, 1 fila cambiada, 1 fila eliminada" in html
    assert "Creado: 4 filas añadidas" in html


# -- the diff page --------------------------------------------------------------------------------


def test_the_diff_page_shows_the_changed_value_and_the_added_and_removed_rows(
    staff: Staff,
) -> None:
    dataset_id = permits(staff)
    replace(staff, dataset_id, SECOND)
    page = staff.as_(None).get(f"/d/{dataset_id}/diff", params={"from": 1, "to": 2})
    assert page.status_code == 200, page.text
    html = page.text
    for count in ("1 row added", "1 row changed", "1 row removed"):
        assert f"<li>{count}</li>" in html
    assert '<th scope="col">Permit</th>' in html  # keyed by the row identifier
    rows = {
        key: (change, body)
        for change, key, body in re.findall(
            r'<tr class="diff-(\w+)">.*?<code>([^<]+)</code></th>(.*?)</tr>', html, re.S
        )
    }
    assert sorted(rows) == ["P2", "P3", "P5"]
    assert rows["P3"][0] == "removed"
    assert "roof" in rows["P3"][1]
    assert rows["P5"][0] == "added"
    assert "pool" in rows["P5"][1]
    change, cells = rows["P2"]
    assert change == "changed"
    assert re.search(r"<del>.*?120</del> → <ins>.*?150</ins>", cells)
    assert "deck" not in cells  # only the changed column is shown
    # The same two versions in either order, and a link to the whole diff as JSON.
    swapped = staff.as_(None).get(f"/d/{dataset_id}/diff", params={"from": 2, "to": 1})
    assert "What changed from version 1 to version 2" in swapped.text
    assert f'href="/api/views/{dataset_id}/diff.json?from=1&amp;to=2"' in html


def test_without_a_row_identifier_rows_are_keyed_by_a_hash(staff: Staff) -> None:
    dataset_id = permits(staff, key=None)
    replace(staff, dataset_id, SECOND)
    html = staff.as_(None).get(f"/d/{dataset_id}/diff", params={"from": 1, "to": 2}).text
    assert '<th scope="col">Row hash</th>' in html
    # A changed row without an identifier is one removed and one added.
    assert "<li>2 rows added</li>" in html
    assert "<li>2 rows removed</li>" in html
    assert len(re.findall(r"<code>[0-9a-f]{16}</code>", html)) == 4


def test_the_same_version_twice_differs_in_nothing(staff: Staff) -> None:
    dataset_id = permits(staff)
    html = staff.as_(None).get(f"/d/{dataset_id}/diff", params={"from": 1, "to": 1}).text
    assert "No rows differ between these two versions." in html


def test_a_long_diff_shows_its_first_rows_and_links_the_json(staff: Staff) -> None:
    many = MOST_DIFF_ROWS + 7
    dataset_id = permits(staff, [(f"P{i:04}", "fence", i) for i in range(many)])
    replace(staff, dataset_id, [(f"P{i:04}", "fence", i + 1) for i in range(many)])
    html = staff.as_(None).get(f"/d/{dataset_id}/diff", params={"from": 1, "to": 2}).text
    assert f"<li>{many} rows changed</li>" in html
    assert html.count('<tr class="diff-changed">') == MOST_DIFF_ROWS
    assert f"The first {MOST_DIFF_ROWS} of {many} differing rows are shown." in html
    assert f'href="/api/views/{dataset_id}/diff.json?from=1&amp;to=2">All of them as JSON' in html


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({}, 400, "from is missing: give it a version number, like from=3."),
        ({"from": "1"}, 400, "to is missing: give it a version number, like to=3."),
        ({"from": "one", "to": "2"}, 400, "from: 'one' is not a version number (1, 2, 3, …)"),
        ({"from": "1", "to": "-2"}, 400, "to: '-2' is not a version number (1, 2, 3, …)"),
        ({"from": "²", "to": "1"}, 400, "from: '²' is not a version number (1, 2, 3, …)"),
        ({"from": "9" * 20, "to": "1"}, 400, "is not a version number"),
        ({"from": "1", "to": "9"}, 400, "has no version 9; versions 1 to 2 are kept"),
    ],
)
def test_bad_diff_input_is_the_error_page_with_the_reason(
    staff: Staff, params: dict[str, str], status: int, message: str
) -> None:
    dataset_id = permits(staff)
    replace(staff, dataset_id, SECOND)
    answer = staff.as_(None).get(f"/d/{dataset_id}/diff", params=params)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert message in alert(answer.text).replace("&#39;", "'")


def test_a_private_datasets_history_is_404_to_those_who_may_not_see_it(staff: Staff) -> None:
    dataset_id = permits(staff, audience="private")
    replace(staff, dataset_id, SECOND)
    for path in (f"/d/{dataset_id}/history", f"/d/{dataset_id}/diff?from=1&to=2"):
        for outsider in (None, "viewer", "police"):
            answer = staff.as_(outsider).get(path)
            assert answer.status_code == 404, (path, outsider)
            assert "Permits" not in answer.text
            assert "have different" not in answer.text
        assert staff.as_("health").get(path).status_code == 200, path
    # The version number is checked only once the dataset may be seen.
    hidden = staff.as_(None).get(f"/d/{dataset_id}/diff", params={"from": "x"})
    assert hidden.status_code == 404


# -- rolling back ---------------------------------------------------------------------------------


def test_rollback_through_the_confirm_step_restores_the_rows(staff: Staff) -> None:
    dataset_id = permits(staff)
    replace(staff, dataset_id, SECOND)
    manage = staff.as_("health").get(f"/manage/d/{dataset_id}").text
    assert f'href="/manage/d/{dataset_id}/history"' in manage

    history = staff.as_("health").get(f"/manage/d/{dataset_id}/history")
    assert history.status_code == 200
    assert "Roll back to this version" in version_row(history.text, 1)
    assert "Roll back to this version" not in version_row(history.text, 2)  # the current one
    assert 'method="post"' not in history.text.split("<main")[1]  # nothing posts before confirming

    confirm = staff.as_("health").get(f"/manage/d/{dataset_id}/history", params={"confirm": 1})
    assert confirm.status_code == 200
    assert "Roll back to version 1?" in confirm.text
    assert "The 4 rows of version 1" in confirm.text
    assert f'action="/manage/d/{dataset_id}/rollback"' in confirm.text
    assert 'name="version" value="1"' in confirm.text
    assert api_permits(staff.client, dataset_id) == {
        "P1": "50",
        "P2": "150",
        "P4": "80",
        "P5": "900",
    }

    done = staff.post("health", f"/manage/d/{dataset_id}/rollback", {"version": "1"})
    assert done.status_code == 303
    assert done.headers["location"] == f"/manage/d/{dataset_id}/history?done=3"
    after = staff.as_("health").get(done.headers["location"]).text
    assert "Rolled back: version 3 is now current, with the rows of version 1" in after
    assert "Rolled back to version 1: 1 row added, 1 row changed, 1 row removed" in version_row(
        after, 3
    )
    assert api_permits(staff.client, dataset_id) == {
        "P1": "50",
        "P2": "120",
        "P3": "300",
        "P4": "80",
    }
    with staff.engine.connect() as conn:
        newest = list_versions(conn, dataset_id)[0]
    assert (newest.version, newest.operation, newest.made_by) == (
        3,
        "rollback",
        "health@city.example",
    )
    events = staff.events("dataset.rollback")
    assert [(e.actor, e.dataset_id, e.detail) for e in events] == [
        ("health@city.example", dataset_id, {"to": 1, "version": 3})
    ]


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"version": "2"}, 409, "is already the current one"),
        ({"version": "7"}, 400, "has no version 7; versions 1 to 2 are kept"),
        ({"version": "first"}, 400, "version: 'first' is not a version number"),
        ({}, 400, "version is missing"),
    ],
)
def test_a_refused_rollback_says_why_and_changes_nothing(
    staff: Staff, form: dict[str, str], status: int, message: str
) -> None:
    dataset_id = permits(staff)
    replace(staff, dataset_id, SECOND)
    answer = staff.post("health", f"/manage/d/{dataset_id}/rollback", form)
    assert answer.status_code == status
    assert message in alert(answer.text).replace("&#39;", "'")
    assert 'id="version-2"' in answer.text  # the history page, as the dataset still is
    with staff.engine.connect() as conn:
        assert [v.version for v in list_versions(conn, dataset_id)] == [2, 1]
    assert staff.events("dataset.rollback") == []


@pytest.mark.parametrize(
    ("confirm", "message"),
    [
        ("2", "Version 2 is the current one already: choose an earlier version."),
        ("5", "has no version 5"),
        ("x", "confirm: 'x' is not a version number"),
    ],
)
def test_the_confirm_step_refuses_what_cannot_be_rolled_back_to(
    staff: Staff, confirm: str, message: str
) -> None:
    dataset_id = permits(staff)
    replace(staff, dataset_id, SECOND)
    answer = staff.as_("health").get(f"/manage/d/{dataset_id}/history", params={"confirm": confirm})
    assert answer.status_code == 400
    assert message in alert(answer.text).replace("&#39;", "'")
    assert f'action="/manage/d/{dataset_id}/rollback"' not in answer.text


@pytest.mark.parametrize(
    ("who", "audience", "status"),
    [
        (None, "public", 401),
        ("viewer", "public", 403),
        ("police", "public", 403),  # a publisher of another department
        ("police", "private", 404),
        ("viewer", "private", 404),
    ],
)
def test_who_may_not_change_the_dataset_cannot_roll_it_back(
    staff: Staff, who: str | None, audience: str, status: int
) -> None:
    dataset_id = permits(staff, audience=audience)
    replace(staff, dataset_id, SECOND)
    assert staff.as_(who).get(f"/manage/d/{dataset_id}/history").status_code == status
    answer = staff.post(who, f"/manage/d/{dataset_id}/rollback", {"version": "1"})
    assert answer.status_code == status
    with staff.engine.connect() as conn:
        assert [v.version for v in list_versions(conn, dataset_id)] == [2, 1]
    assert staff.events("dataset.rollback") == []


def test_a_rollback_without_the_csrf_token_is_refused(staff: Staff) -> None:
    dataset_id = permits(staff)
    replace(staff, dataset_id, SECOND)
    client = staff.as_("health")
    client.cookies.delete(CSRF_COOKIE)
    answer = client.post(
        f"/manage/d/{dataset_id}/rollback", data={CSRF_FIELD: CSRF, "version": "1"},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 403
    with staff.engine.connect() as conn:
        assert len(list_versions(conn, dataset_id)) == 2
