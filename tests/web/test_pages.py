"""The portal's pages over real HTTP (in-process ASGI) on both databases: what they show, what
they hide, and how they answer bad input."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from civicport.catalog.records import SavedChart
from civicport.config import Settings


class _Collector(HTMLParser):
    """Pulls the bits of a page the tests look at: JSON scripts and meta tags."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: dict[str, str] = {}
        self.meta: dict[str, str] = {}
        self._script: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("type", "").endswith("json"):
            self._script = values.get("id") or values["type"] or ""
        if tag == "meta":
            key = values.get("property") or values.get("name")
            if key:
                self.meta[key] = values.get("content") or ""

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self.scripts[self._script] = self.scripts.get(self._script, "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    return collector


def grid_rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


@pytest.fixture
def catalog(make_dataset) -> dict[str, str]:
    """Three public datasets and a private one, with distinct categories and departments."""
    return {
        "inspections": make_dataset(
            title="Restaurant Inspections",
            description="Scores from **health** inspections.\n\n<script>alert(1)</script>",
            category="Health",
            department="Health and Human Services",
            tags=("food",),
            license_name="Public Domain",
            license_url="https://creativecommons.org/publicdomain/zero/1.0/",
        ),
        "permits": make_dataset(
            [("permit", "text"), ("fee", "number")],
            [(f"P{i}", i * 10) for i in range(60)],
            title="Building Permits",
            category="Housing",
            department="Development Services",
        ),
        "crashes": make_dataset(
            [("street", "text"), ("injuries", "number")],
            [("Main St", 1), ("Park St", 0)],
            title="Crashes",
            category="Transportation",
        ),
        "private": make_dataset(title="Secret payroll", audience="private", category="Finance"),
    }


def test_home_lists_and_counts_only_what_a_reader_may_see(client: TestClient, catalog) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "3 datasets" in page.text
    for title in ("Restaurant Inspections", "Building Permits", "Crashes"):
        assert title in page.text
    assert 'Health <span class="count">(1)</span>' in page.text
    assert "Secret payroll" not in page.text
    assert "Finance" not in page.text
    assert catalog["private"] not in page.text


def test_home_about_text_and_colour_come_from_settings(settings: Settings, engine) -> None:
    from civicport.app import create_app

    custom = settings.model_copy(
        update={
            "site_name": "HartfordData",
            "site_about": "Run by **the city**. <b onclick=x>",
            "site_color": "#ffd700",
        }
    )
    with TestClient(create_app(custom)) as client:
        page = client.get("/").text
    assert "<title>HartfordData</title>" in page
    assert "<strong>the city</strong>" in page
    assert "<b onclick" not in page
    # Text on a light brand colour is black, so the header keeps its contrast.
    assert "--brand: #ffd700; --on-brand: #000000" in page


def test_catalog_search_tolerates_typos_and_plurals(client: TestClient, catalog) -> None:
    for query in ("restaraunt", "inspection", "restaurants inspections", "INSPECT"):
        page = client.get("/browse", params={"q": query})
        assert page.status_code == 200, query
        assert f"/d/{catalog['inspections']}" in page.text, query
        assert f"/d/{catalog['permits']}" not in page.text, query


def test_catalog_facets_filter_and_keep_state_in_the_url(client: TestClient, catalog) -> None:
    page = client.get("/browse").text
    assert "/browse?category=Housing" in page
    filtered = client.get("/browse", params={"category": "Housing"}).text
    assert "1 dataset" in filtered
    assert f"/d/{catalog['permits']}" in filtered
    assert f"/d/{catalog['crashes']}" not in filtered
    by_department = client.get("/browse", params={"department": "Development Services"}).text
    assert f"/d/{catalog['permits']}" in by_department
    assert f"/d/{catalog['inspections']}" not in by_department


def test_catalog_sorts_by_name(client: TestClient, catalog) -> None:
    page = client.get("/browse", params={"sort": "name"}).text
    positions = [page.index(f"/d/{catalog[k]}") for k in ("permits", "crashes", "inspections")]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    ("params", "status", "says"),
    [
        ({"q": "%%% ***"}, 200, "no letters or digits"),
        ({"q": "x" * 10_000}, 200, "Data catalog"),
        ({"page": "99"}, 404, "There is no page 99"),
        ({"page": "abc"}, 400, "is not a page number"),
        ({"page": "0"}, 400, "is not a page number"),
        ({"sort": "sideways"}, 400, "Unknown sort"),
    ],
)
def test_catalog_bad_input_gets_a_helpful_page(
    client: TestClient, catalog, params, status, says
) -> None:
    page = client.get("/browse", params=params)
    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    assert says in page.text
    assert "Traceback" not in page.text


def test_dataset_page_shows_metadata_dictionary_and_rows(client: TestClient, catalog) -> None:
    page = client.get(f"/d/{catalog['inspections']}")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Restaurant Inspections</h1>" in html
    assert "<strong>health</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert "Health and Human Services" in html
    assert 'href="https://creativecommons.org/publicdomain/zero/1.0/"' in html
    assert "<code>score</code>" in html  # the data dictionary
    assert len(grid_rows(html)) == 3
    assert "Joe&#39;s &#34;Diner&#34;" in html


def test_dataset_page_is_described_for_search_engines_and_sharing(
    client: TestClient, catalog
) -> None:
    dataset_id = catalog["inspections"]
    collector = parse(client.get(f"/d/{dataset_id}").text)
    assert collector.meta["og:title"] == "Restaurant Inspections"
    assert collector.meta["description"].startswith("Scores from health inspections")
    ld = json.loads(collector.scripts["application/ld+json"])
    assert ld["@type"] == "Dataset"
    assert ld["name"] == "Restaurant Inspections"
    assert ld["url"].endswith(f"/d/{dataset_id}")
    assert ld["license"] == "https://creativecommons.org/publicdomain/zero/1.0/"
    assert {d["encodingFormat"] for d in ld["distribution"]} == {"text/csv", "application/json"}


def test_grid_filters_sorts_and_pages_through_soql(client: TestClient, catalog) -> None:
    dataset_id = catalog["permits"]
    filtered = client.get(f"/d/{dataset_id}", params={"f.fee": ">=500"}).text
    assert len(grid_rows(filtered)) == 10
    assert "Rows 1–10 of 10" in filtered
    assert "$where=`fee` &gt;= 500" in filtered
    second = client.get(f"/d/{dataset_id}", params={"page": "2"}).text
    assert "Rows 26–50 of 60" in second
    assert ">P25<" in grid_rows(second)[0]
    descending = client.get(f"/d/{dataset_id}", params={"sort": "fee", "desc": "1"}).text
    assert ">P59<" in grid_rows(descending)[0]
    assert 'aria-sort="descending"' in descending
    text = client.get(f"/d/{dataset_id}", params={"f.permit": "p5"}).text
    assert {re.search(r">(P\d+)<", row).group(1) for row in grid_rows(text)} == {
        "P5",
        *{f"P5{i}" for i in range(10)},
    }


def test_filtered_download_links_return_the_filtered_rows(client: TestClient, catalog) -> None:
    dataset_id = catalog["permits"]
    page = client.get(f"/d/{dataset_id}", params={"f.fee": "<30", "sort": "fee"}).text
    link = re.search(r'href="(/resource/[^"]+\.csv\?[^"]+)"', page).group(1)
    csv = client.get(link.replace("&amp;", "&")).text
    assert csv.splitlines() == ['"permit","fee"', '"P0","0"', '"P1","10"', '"P2","20"']


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"f.nope": "1"}, "no column &#39;nope&#39;"),
        ({"where": "nope > 1"}, "nope"),
        ({"where": "fee >"}, "This view cannot be shown"),
        ({"f.fee": "lots"}, "is not a number"),
        ({"sort": "nope"}, "no column &#39;nope&#39; to sort by"),
        ({"page": "-3"}, "is not a page number"),
        ({"tab": "chart", "chart": "radar"}, "Unknown chart type"),
        ({"tab": "chart", "x": "nope"}, "no column &#39;nope&#39; to chart"),
        ({"tab": "chart", "chart": "histogram", "x": "permit"}, "needs a number column"),
        ({"tab": "chart", "x": "permit", "agg": "median"}, "Unknown chart value"),
        ({"tab": "chart", "x": "permit", "agg": "sum"}, "needs a number column; choose one"),
    ],
)
def test_bad_views_answer_400_with_the_reason(client: TestClient, catalog, params, says) -> None:
    page = client.get(f"/d/{catalog['permits']}", params=params)
    assert page.status_code == 400
    assert says in page.text
    assert "Clear the filters" in page.text
    assert "<h1>Building Permits</h1>" in page.text


def test_grid_page_past_the_end_is_404_with_a_way_back(client: TestClient, catalog) -> None:
    page = client.get(f"/d/{catalog['permits']}", params={"page": "9"})
    assert page.status_code == 404
    assert "There is no page 9: this table has 3." in page.text
    assert "page=3" in page.text  # the way to the last page
    assert "<h1>Building Permits</h1>" in page.text


def test_fragment_request_renders_only_the_views(client: TestClient, catalog) -> None:
    fragment = client.get(
        f"/d/{catalog['permits']}", params={"f.fee": "10"}, headers={"X-Fragment": "view"}
    ).text
    assert "<html" not in fragment
    assert "<h1>" not in fragment
    assert len(grid_rows(fragment)) == 1


def test_chart_tab_computes_values_on_the_server(client: TestClient, catalog) -> None:
    page = client.get(
        f"/d/{catalog['permits']}",
        params={
            "tab": "chart",
            "chart": "bar",
            "x": "permit",
            "agg": "sum",
            "y": "fee",
            "f.fee": ">=570",
        },
    ).text
    spec = json.loads(parse(page).scripts["chart-spec"])
    assert spec["mark"]["type"] == "bar"
    assert sorted((v["label"], v["value"]) for v in spec["data"]["values"]) == [
        ("P57", 570.0),
        ("P58", 580.0),
        ("P59", 590.0),
    ]
    assert '<th scope="row">P59</th>' in page  # the same numbers as a table


def test_histogram_counts_every_row_once(client: TestClient, catalog) -> None:
    page = client.get(
        f"/d/{catalog['permits']}", params={"tab": "chart", "chart": "histogram", "x": "fee"}
    ).text
    spec = json.loads(parse(page).scripts["chart-spec"])
    values = spec["data"]["values"]
    assert len(values) == 20
    assert sum(v["value"] for v in values) == 60
    assert values[0]["start"] == 0
    assert values[-1]["end"] == pytest.approx(590)


def test_histogram_of_a_single_value_is_one_bin(client: TestClient, catalog) -> None:
    params = {"tab": "chart", "chart": "histogram", "x": "fee", "f.fee": "100"}
    page = client.get(f"/d/{catalog['permits']}", params=params)
    assert page.status_code == 200
    values = json.loads(parse(page.text).scripts["chart-spec"])["data"]["values"]
    assert sum(v["value"] for v in values) == 1


def test_map_tab_points_at_geojson_of_the_current_filter(client: TestClient, catalog) -> None:
    dataset_id = catalog["inspections"]
    page = client.get(f"/d/{dataset_id}", params={"tab": "map", "f.score": ">80"}).text
    url = re.search(r'data-geojson-url="([^"]+)"', page).group(1).replace("&amp;", "&")
    features = client.get(url).json()["features"]
    assert [f["properties"]["name"] for f in features] == ['Joe\'s "Diner"']
    assert 'data-tile-url=""' in page  # no third-party tiles unless configured
    no_map = client.get(f"/d/{catalog['permits']}").text
    assert "?tab=map" not in no_map


def test_api_tab_gives_copyable_examples_of_the_current_view(client: TestClient, catalog) -> None:
    dataset_id = catalog["permits"]
    page = client.get(f"/d/{dataset_id}", params={"tab": "api", "f.fee": ">100"}).text
    assert f"/resource/{dataset_id}.json?%24where=%60fee%60+%3E+100" in page
    assert "from sodapy import Socrata" in page
    call = f"client.get(&#39;{dataset_id}&#39;, where=&#39;`fee` &gt; 100&#39;, limit=&#39;25&#39;)"
    assert call in page
    assert "await fetch(" in page
    assert "curl --get" in page


def test_unknown_dataset_is_a_404_page(client: TestClient) -> None:
    page = client.get("/d/abcd-2345")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text


def test_unknown_address_is_a_page_for_browsers_and_json_for_programs(client: TestClient) -> None:
    browser = client.get("/no/such/page", headers={"Accept": "text/html"})
    assert browser.status_code == 404
    assert "Page not found" in browser.text
    program = client.get("/resource/abcd-2345.json", headers={"Accept": "text/html"})
    assert program.status_code == 404
    assert program.json()["code"] == "dataset.missing"


def test_sitemap_lists_public_datasets_only(client: TestClient, catalog) -> None:
    sitemap = client.get("/sitemap.xml")
    assert sitemap.headers["content-type"].startswith("application/xml")
    for key in ("inspections", "permits", "crashes"):
        assert f"/d/{catalog[key]}</loc>" in sitemap.text
    assert catalog["private"] not in sitemap.text
    assert "Sitemap: http://testserver/sitemap.xml" in client.get("/robots.txt").text


def test_views_are_counted_and_rank_most_viewed(client: TestClient, catalog) -> None:
    for _ in range(3):
        client.get(f"/d/{catalog['crashes']}")
    page = client.get("/browse", params={"sort": "views"}).text
    assert page.index(f"/d/{catalog['crashes']}") < page.index(f"/d/{catalog['permits']}")
    view = client.get(f"/api/views/{catalog['crashes']}.json").json()
    assert view["viewCount"] == 3


def test_saved_charts_are_offered_first_and_make_a_chart_type(
    client: TestClient, make_dataset
) -> None:
    charted = make_dataset(
        [("ward", "text"), ("fee", "number")],
        [("1", 10), ("1", 20), ("2", 5)],
        title="Fees by ward",
        charts=(
            SavedChart("Total fees by ward", "bar", "ward", "sum", "fee"),
            SavedChart("Fees", "histogram", "fee"),
        ),
    )
    plain = make_dataset([("ward", "text")], [("1",)], title="Wards")
    page = client.get(f"/d/{charted}", params={"tab": "chart"}).text
    assert "Charts from the publisher" in page
    assert "Total fees by ward" in page
    spec = json.loads(parse(page).scripts["chart-spec"])
    assert sorted((v["label"], v["value"]) for v in spec["data"]["values"]) == [
        ("1", 30.0),
        ("2", 5.0),
    ]
    catalog = client.get("/browse").text
    assert "type=chart" in catalog
    charts_only = client.get("/browse", params={"type": "chart"}).text
    assert f"/d/{charted}" in charts_only
    assert f"/d/{plain}" not in charts_only
