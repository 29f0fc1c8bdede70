"""Build the ASGI application from explicit settings; nothing is created at import time.

    >>> app = create_app(load_settings())  # doctest: +SKIP
    >>> # uvicorn.run(app)

The lifespan makes the engine and brings the database schema up to date before the first
request, starts this process's share of the background jobs (jobs.consumer, unless the
embedded_worker setting is off), and stops both at shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles

from civicport import __version__
from civicport.api.audit import router as audit_router
from civicport.api.errors import install_error_handlers
from civicport.api.middleware import HeadAsGetMiddleware, SodaHeadersMiddleware
from civicport.api.security import SecurityHeadersMiddleware
from civicport.api.soda.discovery import router as discovery_router
from civicport.api.soda.producer import router as producer_router
from civicport.api.soda.resource import router as resource_router
from civicport.api.soda.views import router as views_router
from civicport.api.throttle import ThrottleMiddleware
from civicport.api.versions import router as versions_router
from civicport.config import Settings, signing_key
from civicport.db.engine import make_engine
from civicport.db.migrate import upgrade
from civicport.jobs.consumer import start_embedded
from civicport.web.errors import page_error
from civicport.web.pages import STATIC_DIR
from civicport.web.routes.account import router as account_pages
from civicport.web.routes.catalog import router as catalog_pages
from civicport.web.routes.dataset import router as dataset_pages
from civicport.web.routes.developers import router as developer_pages
from civicport.web.routes.developers import throttled_page
from civicport.web.routes.history import router as history_pages
from civicport.web.routes.manage import router as manage_pages
from civicport.web.routes.manage_audit import router as manage_audit_pages
from civicport.web.routes.manage_dataset import router as manage_dataset_pages
from civicport.web.routes.manage_runs import router as manage_run_pages
from civicport.web.routes.manage_sync import router as manage_sync_pages
from civicport.web.routes.manage_upload import router as manage_upload_pages
from civicport.web.routes.meta import router as meta_pages

# Level 5 compresses CSV ~6x at a fraction of level 9's CPU, which matters for big exports.
GZIP_LEVEL = 5
GZIP_MIN_BYTES = 1024


def create_app(settings: Settings) -> FastAPI:
    """The portal's web application for these settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        upgrade(engine)
        app.state.engine = engine
        app.state.signing_key = signing_key(settings)
        stop_jobs = start_embedded(settings)
        try:
            yield
        finally:
            stop_jobs()
            engine.dispose()

    app = FastAPI(
        title=settings.site_name,
        version=__version__,
        summary="Open data portal with a Socrata-compatible (SODA 2.1 / SoQL) read API.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app, page_errors=page_error)
    app.include_router(resource_router)
    app.include_router(producer_router)
    app.include_router(views_router)
    app.include_router(versions_router)
    app.include_router(discovery_router)
    app.include_router(audit_router)
    for pages in (catalog_pages, dataset_pages, history_pages, meta_pages, developer_pages):
        app.include_router(pages)
    app.include_router(account_pages)
    for pages in (manage_pages, manage_upload_pages, manage_dataset_pages, manage_audit_pages):
        app.include_router(pages)
    app.include_router(manage_sync_pages)
    app.include_router(manage_run_pages)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Outermost last: CORS and request ids are added to whatever GZip and the routes answer.
    app.add_middleware(ThrottleMiddleware, page=throttled_page)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES, compresslevel=GZIP_LEVEL)
    app.add_middleware(SodaHeadersMiddleware)
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
    return app
