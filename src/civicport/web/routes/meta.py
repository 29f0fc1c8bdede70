"""``/sitemap.xml`` and ``/robots.txt``: how crawlers find the public datasets."""

from __future__ import annotations

from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from starlette.responses import Response

from civicport.api.deps import EngineDep, SettingsDep
from civicport.catalog.browse import CatalogQuery, search_catalog
from civicport.catalog.search import PUBLIC_SCOPE
from civicport.web.pages import base_url

router = APIRouter(tags=["Pages"])

# The sitemap protocol's limit per file; a city is far below it.
SITEMAP_MOST_URLS = 50_000


@router.get("/sitemap.xml", include_in_schema=False)
def sitemap(request: Request, engine: EngineDep, settings: SettingsDep) -> Response:
    """Every dataset an anonymous reader may see, with when it last changed."""
    base = base_url(request, settings)
    with engine.connect() as conn:
        page = search_catalog(
            conn,
            CatalogQuery(scope=PUBLIC_SCOPE, sort="name", limit=SITEMAP_MOST_URLS, facets=False),
        )
    urls = [
        f"<url><loc>{escape(base)}/</loc></url>",
        f"<url><loc>{escape(base)}/browse</loc></url>",
    ]
    for record in page.records:
        modified = max(record.data_updated_at, record.metadata_updated_at).date().isoformat()
        urls.append(
            f"<url><loc>{escape(base)}/d/{record.id}</loc><lastmod>{modified}</lastmod></url>"
        )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + "\n".join(urls)
        + "\n</urlset>\n"
    )
    return Response(body, media_type="application/xml")


@router.get("/robots.txt", include_in_schema=False)
def robots(request: Request, settings: SettingsDep) -> Response:
    # Query results and exports are for people and programs, not for crawlers to walk.
    base = base_url(request, settings)
    body = f"User-agent: *\nDisallow: /resource/\nDisallow: /api/\nSitemap: {base}/sitemap.xml\n"
    return Response(body, media_type="text/plain")
