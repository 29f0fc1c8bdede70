"""The dataset page's chart: what to draw (from the URL), the SoQL that computes it, and the
Vega-Lite spec that draws it.

The numbers are computed on the server through the SoQL compiler (grouped, so a chart of a
million rows moves a few dozen values), embedded in the spec, and shown as a table too: the
table is what a screen reader or a browser without JavaScript gets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from civicport.catalog.records import CHART_AGGREGATES, CHART_KINDS, ColumnRecord, SavedChart
from civicport.datastore.types import NUMBER_TYPES, TIMESTAMP_TYPES
from civicport.web.grid import quote_field
from civicport.web.i18n import N_, PageInputError

GROUPABLE_TYPES = {"text", "checkbox", "url"} | NUMBER_TYPES | TIMESTAMP_TYPES
MOST_BARS = 30
MOST_SLICES = 12
MOST_POINTS = 500
HISTOGRAM_BINS = 20


@dataclass(frozen=True)
class ChartState:
    kind: str
    x: str  # field grouped by (or binned, for a histogram)
    aggregate: str = "count"
    y: str | None = None  # number field the aggregate reads; None for count


@dataclass
class ChartData:
    state: ChartState
    labels: list[str]
    values: list[float]
    x_title: str
    y_title: str
    bins: list[tuple[float, float]] = field(default_factory=list)  # histograms only
    temporal: bool = False  # labels are timestamps (a line chart by month)


def groupable(columns: Sequence[ColumnRecord]) -> list[ColumnRecord]:
    return [c for c in columns if c.soda_type in GROUPABLE_TYPES]


def numeric(columns: Sequence[ColumnRecord]) -> list[ColumnRecord]:
    return [c for c in columns if c.soda_type in NUMBER_TYPES]


CHART_PARAMS = ("chart", "x", "agg", "y")


def saved_chart_params(chart: SavedChart) -> dict[str, str]:
    """The query-string values that draw a saved chart."""
    return {"chart": chart.kind, "x": chart.x, "agg": chart.aggregate, "y": chart.y or ""}


def parse_chart_state(
    params: Mapping[str, str], columns: Sequence[ColumnRecord], preferred: Sequence[str]
) -> ChartState | None:
    """The chart the URL asks for, with defaults a first visit needs: a bar chart counting
    rows by the first category-like column (`preferred`, then any text column). None when the
    dataset has nothing to chart. Unknown kinds, columns or aggregates are InvalidQuery."""
    by_name = {c.field_name: c for c in columns}
    kind = params.get("chart") or "bar"
    if kind not in CHART_KINDS:
        raise PageInputError(N_("Unknown chart type '%(kind)s'"), kind=kind[:40])
    x = params.get("x") or _default_x(kind, columns, preferred)
    if x is None:
        return None
    column = by_name.get(x)
    if column is None or column.soda_type not in GROUPABLE_TYPES:
        raise PageInputError(N_("This dataset has no column '%(column)s' to chart"), column=x[:60])
    if kind == "histogram" and column.soda_type not in NUMBER_TYPES:
        raise PageInputError(
            N_("A histogram needs a number column; '%(column)s' is not"),
            column=column.display_name,
        )
    aggregate = params.get("agg") or "count"
    if aggregate not in CHART_AGGREGATES:
        raise PageInputError(N_("Unknown chart value '%(value)s'"), value=aggregate[:40])
    y = params.get("y") or None
    if aggregate == "count" or kind == "histogram":
        return ChartState(kind, x)
    if y is None or y not in by_name or by_name[y].soda_type not in NUMBER_TYPES:
        raise PageInputError(N_("This chart value needs a number column; choose one"))
    return ChartState(kind, x, aggregate, y)


def _default_x(kind: str, columns: Sequence[ColumnRecord], preferred: Sequence[str]) -> str | None:
    if kind == "histogram":
        candidates = [c.field_name for c in numeric(columns)]
    elif kind == "line":
        candidates = [c.field_name for c in columns if c.soda_type in TIMESTAMP_TYPES]
        candidates += list(preferred) + [c.field_name for c in groupable(columns)]
    else:
        candidates = list(preferred) + [c.field_name for c in groupable(columns)]
    return candidates[0] if candidates else None


def grouped_params(
    state: ChartState, columns: Sequence[ColumnRecord], where: str, search: str
) -> list[tuple[str, str]]:
    """SODA parameters computing a bar, line or pie chart's values."""
    by_name = {c.field_name: c for c in columns}
    x = quote_field(state.x)
    if state.kind == "line" and by_name[state.x].soda_type in TIMESTAMP_TYPES:
        x = f"date_trunc_ym({x})"
    value = "count(*)" if state.y is None else f"{state.aggregate}({quote_field(state.y)})"
    params = [("$select", f"{x} AS label, {value} AS value"), ("$group", x)]
    if state.kind == "line":
        params += [("$order", "label"), ("$limit", str(MOST_POINTS))]
    else:
        limit = MOST_SLICES if state.kind == "pie" else MOST_BARS
        params += [("$order", "value DESC, label"), ("$limit", str(limit))]
    return _with_filter(params, where, search)


def range_params(state: ChartState, where: str, search: str) -> list[tuple[str, str]]:
    """SODA parameters for a histogram's first step: the column's smallest and largest value."""
    x = quote_field(state.x)
    return _with_filter([("$select", f"min({x}) AS low, max({x}) AS high")], where, search)


def histogram_params(
    state: ChartState, low: float, high: float, where: str, search: str
) -> list[tuple[str, str]]:
    """SODA parameters counting the rows in each of HISTOGRAM_BINS equal bins of [low, high]."""
    bucket = f"width_bucket({quote_field(state.x)}, {low!r}, {high!r}, {HISTOGRAM_BINS})"
    params = [("$select", f"{bucket} AS bucket, count(*) AS value"), ("$group", bucket)]
    params.append(("$order", "bucket"))
    return _with_filter(params, where, search)


def histogram_bins(
    low: float, high: float, counts: Mapping[int, float]
) -> tuple[list[tuple[float, float]], list[float]]:
    """Bin edges and counts. width_bucket puts the largest value in bin N+1: it joins bin N."""
    width = (high - low) / HISTOGRAM_BINS or 1.0
    bins = [(low + i * width, low + (i + 1) * width) for i in range(HISTOGRAM_BINS)]
    values = [float(counts.get(i + 1, 0)) for i in range(HISTOGRAM_BINS)]
    values[-1] += float(counts.get(HISTOGRAM_BINS + 1, 0))
    return bins, values


def _with_filter(params: list[tuple[str, str]], where: str, search: str) -> list[tuple[str, str]]:
    filters = [("$where", where)] if where else []
    if search:
        filters.append(("$q", search))
    return filters + params


def vega_lite_spec(data: ChartData, description: str) -> dict[str, Any]:
    """A Vega-Lite spec drawing `data` (values inline: the page needs no second request)."""
    rows = [
        {"label": label, "value": value}
        for label, value in zip(data.labels, data.values, strict=True)
    ]
    spec: dict[str, Any] = {
        "description": description,
        "width": "container",
        "height": 320,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "data": {"values": rows},
    }
    value_axis = {"field": "value", "type": "quantitative", "title": data.y_title}
    kind = data.state.kind
    if kind == "pie":
        spec["mark"] = {"type": "arc", "tooltip": True}
        spec["encoding"] = {
            "theta": {"field": "value", "type": "quantitative"},
            "color": {"field": "label", "type": "nominal", "title": data.x_title, "sort": None},
        }
    elif kind == "line":
        spec["mark"] = {"type": "line", "point": True, "tooltip": True}
        spec["encoding"] = {
            "x": {"field": "label", "type": "temporal" if data.temporal else "ordinal",
                  "title": data.x_title, "sort": None, "axis": {"labelOverlap": True}},
            "y": value_axis,
        }  # fmt: skip
    elif kind == "histogram":
        spec["data"]["values"] = [
            {"start": start, "end": end, "value": value}
            for (start, end), value in zip(data.bins, data.values, strict=True)
        ]
        spec["mark"] = {"type": "bar", "tooltip": True}
        spec["encoding"] = {
            "x": {"field": "start", "type": "quantitative", "bin": {"binned": True},
                  "title": data.x_title},
            "x2": {"field": "end"},
            "y": value_axis,
        }  # fmt: skip
    else:
        spec["height"] = {"step": 22}
        spec["mark"] = {"type": "bar", "tooltip": True}
        spec["encoding"] = {
            "y": {"field": "label", "type": "nominal", "title": data.x_title, "sort": None},
            "x": value_axis,
        }
    return spec
