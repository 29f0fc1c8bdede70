"""``/d/{id}``: a dataset's page — description, metadata, data dictionary, and views of its rows
(table, chart, map, API) that follow the reader's filter.

With the header `X-Fragment: view` only the views are rendered: the page's script swaps them in
place when the reader filters, sorts, pages or changes tab, so the URL still says everything.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, BackgroundTasks, Request
from starlette.responses import HTMLResponse

from civicport.api.deps import EngineDep, PrincipalDep, SettingsDep
from civicport.auth.policy import can_write, visible_dataset
from civicport.catalog.freshness import freshness
from civicport.catalog.records import CHART_AGGREGATES, CHART_KINDS, DatasetRecord
from civicport.catalog.store import count_view
from civicport.config import Settings
from civicport.datastore.types import GEOMETRY_TYPES, TIMESTAMP_TYPES
from civicport.errors import InvalidQuery
from civicport.web import chart as charts
from civicport.web.examples import api_examples
from civicport.web.grid import (
    PAGE_SIZE,
    GridState,
    parse_grid_state,
    soda_params,
    where_clause,
)
from civicport.web.i18n import PageInputError
from civicport.web.markdown import plain_summary
from civicport.web.pages import base_url, gettext_for, render_page, url_with
from civicport.web.routes.manage_runs import last_failed_run
from civicport.web.rows import QueryResult, run_query
from civicport.web.seo import dataset_json_ld

router = APIRouter(tags=["Pages"])

TABS = ("data", "chart", "map", "api")
# The aggregates' names as the chart form shows them (translated where they are shown).
AGGREGATE_NAMES = {"sum": "Sum", "avg": "Average", "min": "Smallest", "max": "Largest"}
MAP_MOST_POINTS = 5000


@dataclass
class View:
    """Everything the views of a dataset show for one reader's state."""

    tab: str
    state: GridState
    soda: list[tuple[str, str]] = field(default_factory=list)
    result: QueryResult | None = None
    matching: int | None = None
    error: str | None = None
    chart: charts.ChartData | None = None
    chart_spec: str | None = None
    chart_soda: list[tuple[str, str]] = field(default_factory=list)

    @property
    def first_row(self) -> int:
        return (self.state.page - 1) * PAGE_SIZE + 1

    @property
    def pages(self) -> int:
        return max(1, -(-(self.matching or 0) // PAGE_SIZE))


@router.get("/d/{dataset_id}", response_class=HTMLResponse, include_in_schema=False)
def dataset_page(
    dataset_id: str,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    background: BackgroundTasks,
) -> HTMLResponse:
    with engine.connect() as conn:
        record = visible_dataset(conn, dataset_id, principal)
        # Who may change the dataset sees when its last sync or upload failed.
        failure = last_failed_run(conn, record.id) if can_write(principal, record) else None
        response = render_dataset(request, conn, record, settings, last_failure=failure)
    if request.headers.get("x-fragment") != "view":
        background.add_task(_count_view, engine, record.id)
    return response


def render_dataset(
    request: Request,
    conn: sa.Connection,
    record: DatasetRecord,
    settings: Settings,
    *,
    template: str = "dataset.html",
    **extra: Any,
) -> HTMLResponse:
    """The page of `record` (`template`, which may extend dataset.html) — or with the header
    `X-Fragment: view` only its views — for the reader's state: 400 for bad input, 404 past
    the last page. The draft preview renders a draft's record with it, so that it looks
    exactly as the published page will."""
    view = _build_view(conn, record, request, settings)
    status = 400 if view.error else (404 if _past_last_page(view) else 200)
    fragment = request.headers.get("x-fragment") == "view"
    values = _page_values(request, settings, record, view)
    return render_page(
        request,
        "dataset_view.html" if fragment else template,
        status_code=status,
        **values,
        **extra,
    )


def _page_values(
    request: Request, settings: Settings, record: DatasetRecord, view: View
) -> dict[str, Any]:
    """What the dataset templates show besides the record and the view."""
    links = _links(request, settings, record, view)
    saved_charts = [
        (chart.title, url_with(request, f"/d/{record.id}", tab="chart",
                               **charts.saved_chart_params(chart)))
        for chart in record.charts
    ]  # fmt: skip
    return {
        "dataset": record,
        "freshness": freshness(record, dt.datetime.now(dt.UTC)),
        "view": view,
        "tabs": _tabs(record),
        "geometry_column": _geometry_column(record),
        "links": links,
        "summary": plain_summary(record.description),
        "json_ld": dataset_json_ld(record, base_url(request, settings)),
        "chart_kinds": CHART_KINDS,
        "chart_aggregates": CHART_AGGREGATES,
        "groupable": charts.groupable(record.columns),
        "numeric": charts.numeric(record.columns),
        "saved_charts": saved_charts,
        "examples": api_examples(links["endpoint"], view.soda, links["host"], record.id),
        "site_map": {
            "tile_url": settings.map_tile_url,
            "attribution": settings.map_tile_attribution,
        },
    }


def _count_view(engine: sa.Engine, dataset_id: str) -> None:
    with engine.begin() as conn:
        count_view(conn, dataset_id)


def _past_last_page(view: View) -> bool:
    return view.tab == "data" and view.matching is not None and view.state.page > view.pages


def _tabs(record: DatasetRecord) -> tuple[str, ...]:
    return TABS if _geometry_column(record) else tuple(t for t in TABS if t != "map")


def _geometry_column(record: DatasetRecord) -> str | None:
    return next((c.field_name for c in record.columns if c.soda_type in GEOMETRY_TYPES), None)


def _build_view(
    conn: sa.Connection, record: DatasetRecord, request: Request, settings: Settings
) -> View:
    """Parse the reader's state and run what the current tab shows; bad input becomes the
    view's error message (the page still renders, with status 400)."""
    tab = request.query_params.get("tab") or "data"
    if tab not in _tabs(record):
        tab = "data"
    view = View(tab=tab, state=GridState())
    try:
        view.state = parse_grid_state(request.query_params.multi_items())
        view.soda = soda_params(view.state, record.columns)
        if tab == "data":
            _run_grid(conn, record, settings, view)
        elif tab == "chart":
            _run_chart(conn, record, request, settings, view)
    except PageInputError as exc:
        view.error = exc.translated(gettext_for(request))
    except InvalidQuery as exc:
        view.error = exc.message  # the SoQL compiler's own words, as the API gives them
    return view


def _run_grid(conn: sa.Connection, record: DatasetRecord, settings: Settings, view: View) -> None:
    view.result = run_query(conn, record, view.soda, settings)
    if not view.state.is_filtered:
        view.matching = record.row_count
        return
    unpaged = [(k, v) for k, v in view.soda if k in ("$where", "$q")]
    counted = run_query(conn, record, [*unpaged, ("$select", "count(*) AS n")], settings)
    view.matching = int(counted.raw[0][0] or 0)


def _run_chart(
    conn: sa.Connection,
    record: DatasetRecord,
    request: Request,
    settings: Settings,
    view: View,
) -> None:
    preferred = record.summary_dimensions or ()
    params: Mapping[str, str] = request.query_params
    if record.charts and not any(name in params for name in charts.CHART_PARAMS):
        params = charts.saved_chart_params(record.charts[0])  # the publisher's first chart
    state = charts.parse_chart_state(params, record.columns, preferred)
    if state is None:
        return
    where = where_clause(view.state, record.columns)
    search = view.state.search
    titles = {c.field_name: c.display_name for c in record.columns}
    _ = gettext_for(request)
    x_title = titles[state.x]
    y_title = _("Number of rows")
    if state.y is not None:
        aggregate = _(AGGREGATE_NAMES[state.aggregate])
        y_title = _("%(aggregate)s of %(column)s") % {
            "aggregate": aggregate,
            "column": titles[state.y],
        }
    data = charts.ChartData(state, [], [], x_title, y_title)
    if state.kind == "histogram":
        view.chart_soda = _histogram(conn, record, settings, data, where, search)
    else:
        view.chart_soda = charts.grouped_params(state, record.columns, where, search)
        result = run_query(conn, record, view.chart_soda, settings)
        data.labels.extend(row[0] or "(empty)" for row in result.rows)
        data.values.extend(float(raw[1] or 0) for raw in result.raw)
        data.temporal = result.columns[0].soda_type in TIMESTAMP_TYPES
    view.chart = data
    spec = charts.vega_lite_spec(data, f"{y_title} / {x_title}: {record.title}")
    view.chart_spec = json.dumps(spec).replace("<", "\\u003c")


def _histogram(
    conn: sa.Connection,
    record: DatasetRecord,
    settings: Settings,
    data: charts.ChartData,
    where: str,
    search: str,
) -> list[tuple[str, str]]:
    """Fill `data` with a histogram's bins (none when the column is all null); the SODA
    parameters of its counting query."""
    bounds = run_query(conn, record, charts.range_params(data.state, where, search), settings).raw
    low, high = bounds[0] if bounds else (None, None)
    if low is None or high is None:
        return []
    low, high = float(low), float(high)
    if high <= low:  # one value only: one bin of width 1 (equal bounds make no buckets)
        high = low + 1.0
    params = charts.histogram_params(data.state, low, high, where, search)
    counted = run_query(conn, record, params, settings).raw
    bins, values = charts.histogram_bins(
        low, high, {int(b): float(n) for b, n in counted if b is not None}
    )
    data.bins.extend(bins)
    data.values.extend(values)
    data.labels.extend(f"{start:g} – {end:g}" for start, end in bins)
    return params


def _links(
    request: Request, settings: Settings, record: DatasetRecord, view: View
) -> dict[str, Any]:
    """Downloads and API addresses for the dataset and for the reader's current view."""
    base = base_url(request, settings)
    everything = str(max(record.row_count, 1))
    filtered = [(k, v) for k, v in view.soda if k in ("$where", "$q", "$order")]
    endpoint = f"{base}/resource/{record.id}.json"
    page_query = urlencode(view.soda)
    return {
        "endpoint": endpoint,
        "csv_all": f"/api/views/{record.id}/rows.csv?accessType=DOWNLOAD",
        "json_all": f"/resource/{record.id}.json?" + urlencode({"$limit": everything}),
        "geojson_all": f"/resource/{record.id}.geojson?" + urlencode({"$limit": everything}),
        "csv_view": _resource(record.id, "csv", [*filtered, ("$limit", everything)]),
        "json_view": _resource(record.id, "json", [*filtered, ("$limit", everything)]),
        "geojson_view": _resource(record.id, "geojson", [*filtered, ("$limit", everything)]),
        "view_url": endpoint + (f"?{page_query}" if page_query else ""),
        "chart_url": _resource(record.id, "json", view.chart_soda, base=base),
        "map_url": _resource(
            record.id,
            "geojson",
            [*[(k, v) for k, v in filtered if k != "$order"], ("$limit", str(MAP_MOST_POINTS))],
        ),
        "host": base.split("://", 1)[-1],
        "soda": view.soda,
    }


def _resource(dataset_id: str, fmt: str, params: list[tuple[str, str]], base: str = "") -> str:
    query = urlencode(params)
    return f"{base}/resource/{dataset_id}.{fmt}" + (f"?{query}" if query else "")
