"""A minimal home page: the public datasets and links to their API endpoints.

A placeholder until the web UI (web/) arrives; it deliberately has no templates or assets.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from starlette.responses import HTMLResponse

from civicport.api.deps import ANONYMOUS_AUDIENCES, EngineDep, SettingsDep
from civicport.catalog.records import DatasetRecord
from civicport.catalog.store import search_datasets

router = APIRouter(tags=["Pages"])

PAGE_SIZE = 500


@router.get("/", summary="Home page: the public datasets", response_class=HTMLResponse)
def home(engine: EngineDep, settings: SettingsDep) -> HTMLResponse:
    """An HTML list of public datasets with links to their JSON, CSV and metadata endpoints."""
    with engine.connect() as conn:
        records, total = search_datasets(conn, audiences=ANONYMOUS_AUDIENCES, limit=PAGE_SIZE)
    site = escape(settings.site_name)
    items = "\n".join(_item(r) for r in records) or "<li>No public datasets yet.</li>"
    more = f"<p>Showing {len(records)} of {total}.</p>" if total > len(records) else ""
    return HTMLResponse(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{site}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>{site}</h1>
<p>{total} public dataset{"s" if total != 1 else ""}.
API: <a href="/api/catalog/v1">catalog</a>, <a href="/docs">documentation</a>.</p>
<ul>
{items}
</ul>{more}
</body></html>
"""
    )


def _item(record: DatasetRecord) -> str:
    i = escape(record.id)
    description = f"<br>{escape(record.description)}" if record.description else ""
    return (
        f"<li><strong>{escape(record.title)}</strong> ({i}){description}<br>"
        f'<a href="/resource/{i}.json">JSON</a> · <a href="/resource/{i}.csv">CSV</a> · '
        f'<a href="/resource/{i}.geojson">GeoJSON</a> · '
        f'<a href="/api/views/{i}.json">metadata</a> · '
        f'<a href="/api/views/{i}/rows.csv?accessType=DOWNLOAD">download</a></li>'
    )
