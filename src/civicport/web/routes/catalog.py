"""``/`` and ``/browse``: the home page and the catalog search, both lists of what the reader
may see (the access policy's read scope) and nothing else, counts included."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from civicport.api.deps import EngineDep, PrincipalDep
from civicport.auth.policy import read_scope
from civicport.catalog.browse import CatalogQuery, search_catalog
from civicport.catalog.freshness import FACET_STATUSES, scope_freshness
from civicport.web.grid import parse_page
from civicport.web.i18n import N_, PageInputError
from civicport.web.pages import gettext_for, render_page

router = APIRouter(tags=["Pages"])

CATALOG_PAGE_SIZE = 20
HOME_LIST_SIZE = 6
# A search box is for words; longer input is cut here, before it reaches the page or the query.
LONGEST_QUERY = 200
SORTS = ("relevance", "updated", "views", "name")
FACETS = ("category", "tag", "department", "type")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, engine: EngineDep, principal: PrincipalDep) -> HTMLResponse:
    with engine.connect() as conn:
        scope = read_scope(conn, principal)
        recent = search_catalog(
            conn, CatalogQuery(scope=scope, sort="updated", limit=HOME_LIST_SIZE)
        )
        popular = search_catalog(
            conn,
            CatalogQuery(scope=scope, sort="views", limit=HOME_LIST_SIZE, facets=False),
        )
    return render_page(
        request,
        "home.html",
        total=recent.total,
        categories=recent.facets.categories,
        recent=recent.records,
        popular=popular.records,
    )


@router.get("/browse", response_class=HTMLResponse, include_in_schema=False)
def browse(request: Request, engine: EngineDep, principal: PrincipalDep) -> HTMLResponse:
    params = request.query_params
    q = (params.get("q") or "")[:LONGEST_QUERY]
    facets = FACETS + (("freshness",) if principal is not None else ())  # a staff facet
    chosen = {facet: tuple(params.getlist(facet)) for facet in facets}
    sort = params.get("sort") or ("relevance" if q.strip() else "name")
    values = {"q": q, "chosen": chosen, "sort": sort, "sorts": SORTS, "page": None}
    try:
        page_number = parse_page(params.get("page"))
        if sort not in SORTS:
            raise PageInputError(N_("Unknown sort '%(sort)s'"), sort=sort[:40])
    except PageInputError as exc:
        error = exc.translated(gettext_for(request))
        return render_page(request, "catalog.html", status_code=400, error=error, **values)
    with engine.connect() as conn:
        scope = read_scope(conn, principal)
        statuses = (
            scope_freshness(conn, scope, dt.datetime.now(dt.UTC)) if principal is not None else {}
        )
        wanted = chosen.get("freshness")
        query = CatalogQuery(
            q=q,
            categories=chosen["category"],
            tags=chosen["tag"],
            departments=chosen["department"],
            types=chosen["type"],
            scope=scope,
            sort=sort,
            limit=CATALOG_PAGE_SIZE,
            offset=(page_number - 1) * CATALOG_PAGE_SIZE,
            ids=[i for i, status in statuses.items() if status in wanted] if wanted else None,
        )
        page = search_catalog(conn, query)
    # Counted over every dataset the person may see: freshness is not a column SQL can group.
    values["freshness_counts"] = [
        (status, n)
        for status in FACET_STATUSES
        if (n := sum(s == status for s in statuses.values()))
    ]
    pages = max(1, -(-page.total // CATALOG_PAGE_SIZE))
    status = 404 if page_number > pages else 200
    values.update(page=page, page_number=page_number, pages=pages, page_size=CATALOG_PAGE_SIZE)
    return render_page(request, "catalog.html", status_code=status, **values)
