"""``GET /api/catalog/v1``: catalog search in the shape of Socrata's Discovery API (soda.md §8.3).

Pages are exact: `limit` results unless fewer remain, and `resultSetSize` is the total, so
sodapy's `datasets()` (which pages until it holds `resultSetSize` results) always ends.
"""

from __future__ import annotations

import re
import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from civicport.api.deps import EngineDep, PrincipalDep
from civicport.auth.policy import read_scope
from civicport.catalog.browse import CatalogQuery, search_catalog
from civicport.catalog.records import DatasetRecord

router = APIRouter(tags=["Discovery"])

CONTENT_TYPE = "application/json; charset=utf-8"
# Socrata refuses offset + limit beyond 10,000 (soda.md §8.3).
MAX_WINDOW = 10_000

# How the catalog names each type in `columns_datatype`.
CATALOG_TYPE_NAMES = {
    "text": "Text",
    "number": "Number",
    "double": "Number",
    "checkbox": "Checkbox",
    "floating_timestamp": "Calendar date",
    "fixed_timestamp": "Date & Time",
    "point": "Point",
    "multipoint": "MultiPoint",
    "line": "Line",
    "multiline": "MultiLine",
    "polygon": "Polygon",
    "multipolygon": "MultiPolygon",
    "url": "URL",
}
ASSET_TYPES = {"dataset", "datasets"}


@router.get(
    "/api/catalog/v1",
    summary="Search the catalog (Socrata Discovery API shape; sodapy datasets())",
    response_class=Response,
)
def catalog_search(
    request: Request,
    engine: EngineDep,
    principal: PrincipalDep,
    q: str | None = None,
    categories: Annotated[list[str], Query()] = [],  # noqa: B006 -- FastAPI copies defaults
    tags: Annotated[list[str], Query()] = [],  # noqa: B006
    ids: Annotated[list[str], Query()] = [],  # noqa: B006
    only: Annotated[list[str], Query()] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=0, le=MAX_WINDOW)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_WINDOW)] = 0,
) -> Response:
    """The datasets the caller may see (anonymous: the public ones) matching `q` (every word),
    any of `categories`, any of `tags`, and `ids`; `domains` and other Socrata parameters are
    accepted and ignored."""
    started = time.perf_counter()
    if only and not ASSET_TYPES & {o.lower() for o in only}:
        records: list[DatasetRecord] = []
        total = 0
    else:
        with engine.connect() as conn:
            query = CatalogQuery(
                q=q or "",
                categories=(*categories, *request.query_params.getlist("categories[]")),
                tags=(*tags, *request.query_params.getlist("tags[]")),
                scope=read_scope(conn, principal),
                ids=ids or None,
                limit=limit,
                offset=offset,
                facets=False,
            )
            page = search_catalog(conn, query)
            records, total = page.records, page.total
    base = str(request.base_url).rstrip("/")
    domain = request.url.netloc
    body = {
        "results": [result_json(r, base=base, domain=domain) for r in records],
        "resultSetSize": total,
        "timings": {"serviceMillis": round((time.perf_counter() - started) * 1000)},
        "warnings": [],
    }
    return Response(orjson.dumps(body), headers={"Content-Type": CONTENT_TYPE})


def _iso(record_time: Any) -> str:
    return record_time.strftime("%Y-%m-%dT%H:%M:%S.") + f"{record_time.microsecond // 1000:03d}Z"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "-"


def result_json(record: DatasetRecord, *, base: str, domain: str) -> dict[str, Any]:
    """One Discovery API result for a dataset."""
    owner = {
        "id": record.department or record.publisher or "city",
        "user_type": "interactive",
        "display_name": record.publisher or record.department or "",
    }
    updated = max(record.metadata_updated_at, record.data_updated_at)
    return {
        "resource": {
            "name": record.title,
            "id": record.id,
            "parent_fxf": [],
            "description": record.description,
            "attribution": record.attribution,
            "attribution_link": record.attribution_link,
            "contact_email": record.contact_email,
            "type": "dataset",
            "updatedAt": _iso(updated),
            "createdAt": _iso(record.created_at),
            "metadata_updated_at": _iso(record.metadata_updated_at),
            "data_updated_at": _iso(record.data_updated_at),
            "publication_date": _iso(record.created_at),
            "page_views": {
                "page_views_last_week": 0,
                "page_views_last_month": 0,
                "page_views_total": record.view_count,
            },
            "columns_name": [c.display_name for c in record.columns],
            "columns_field_name": [c.field_name for c in record.columns],
            "columns_datatype": [
                CATALOG_TYPE_NAMES.get(c.soda_type, c.soda_type) for c in record.columns
            ],
            "columns_description": [c.description for c in record.columns],
            "columns_format": [{} for _ in record.columns],
            "download_count": 0,
            "provenance": "official",
            "lens_view_type": "tabular",
            "lens_display_type": "table",
            "locked": False,
            "hide_from_data_json": False,
        },
        "classification": {
            "categories": [],
            "tags": [],
            "domain_category": record.category,
            "domain_tags": list(record.tags),
            "domain_metadata": _domain_metadata(record.custom_fields),
        },
        "metadata": {
            "domain": domain,
            "license": record.license_name,
            "is_public": record.audience == "public",
            "is_published": True,
            "is_hidden": False,
            "visible_to_anonymous": record.audience == "public",
        },
        "permalink": f"{base}/d/{record.id}",
        "link": f"{base}/{_slug(record.category or 'dataset')}/{_slug(record.title)}/{record.id}",
        "owner": owner,
        "creator": owner,
    }


def _domain_metadata(custom_fields: dict[str, Any]) -> list[dict[str, Any]]:
    """Custom fields {"Set": {"Key": value}} as Socrata lists them: key "Set_Key"."""
    items = []
    for set_name, fields in custom_fields.items():
        if isinstance(fields, dict):
            for key, value in fields.items():
                items.append({"key": f"{_slug(set_name)}_{_slug(key)}", "value": value})
        else:
            items.append({"key": _slug(set_name), "value": fields})
    return items
