"""Security headers on every answer (pages, API, files), set in this one place, as plain ASGI.

- Content-Security-Policy: pages run only the portal's own scripts and reach only the portal.
  Scripts need 'unsafe-eval' because Vega compiles chart expressions with `new Function`
  (docs/decisions/0005); styles allow inline ones for the brand colour and for Leaflet and
  Vega, which style their elements. Images may also come from the map tile host when
  `map_tile_url` is set. No site may frame the portal, and forms post only to it.
- The API reference pages (/docs, /redoc) are FastAPI's Swagger UI and ReDoc, which load their
  code from a CDN and start it with an inline script: they get a policy naming those hosts.
- X-Frame-Options (for browsers that predate frame-ancestors), Referrer-Policy, nosniff, a
  Permissions-Policy that turns off powerful features nothing here uses, and HSTS when the
  portal's address is https.

A route may set any of these itself (the reset page sends a stricter Referrer-Policy): the
middleware only fills in what is missing.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civicport.config import Settings

HSTS_SECONDS = 365 * 24 * 3600
API_REFERENCE_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
# Where FastAPI's Swagger UI and ReDoc pages load their code, styles, icon and fonts from.
_API_REFERENCE_SOURCES = {
    "script-src": "'self' 'unsafe-inline' https://cdn.jsdelivr.net",
    "style-src": "'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com",
    "img-src": "'self' data: https://fastapi.tiangolo.com https://cdn.jsdelivr.net",
    "font-src": "'self' https://fonts.gstatic.com",
    "worker-src": "'self' blob:",
}


def tile_source(tile_url: str | None) -> str | None:
    """The CSP source of a tile URL template: its scheme and host, a subdomain placeholder
    ({s}.tile.example.org) becoming a wildcard.

    >>> tile_source("https://{s}.tile.example.org/{z}/{x}/{y}.png")
    'https://*.tile.example.org'
    """
    if not tile_url:
        return None
    parts = urlsplit(tile_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None  # a path on this site: 'self' covers it
    host = ".".join("*" if "{" in label else label for label in parts.netloc.split("."))
    return f"{parts.scheme}://{host}"


def content_security_policy(settings: Settings, *, api_reference: bool = False) -> str:
    """The Content-Security-Policy for pages (or for the API reference pages)."""
    images = " ".join(filter(None, ["'self' data:", tile_source(settings.map_tile_url)]))
    directives = {
        "default-src": "'self'",
        "script-src": "'self' 'unsafe-eval'",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": images,
        "connect-src": "'self'",
        "frame-ancestors": "'none'",
        "form-action": "'self'",
        "base-uri": "'self'",
        "object-src": "'none'",
    }
    if api_reference:
        directives.update(_API_REFERENCE_SOURCES)
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def security_headers(settings: Settings, *, api_reference: bool = False) -> dict[str, str]:
    """Every security header an answer gets, by name."""
    headers = {
        "Content-Security-Policy": content_security_policy(settings, api_reference=api_reference),
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Content-Type-Options": "nosniff",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    }
    if (settings.site_url or "").startswith("https://"):
        headers["Strict-Transport-Security"] = f"max-age={HSTS_SECONDS}"
    return headers


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP answer that does not set them itself."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.headers = list(security_headers(settings).items())
        self.api_reference_headers = list(security_headers(settings, api_reference=True).items())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = (
            self.api_reference_headers if scope["path"] in API_REFERENCE_PATHS else self.headers
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
