"""Rendering a page: the Jinja2 environment and what every template can use.

Templates receive plain values (records, dataclasses, dicts) and these helpers: `_`/`ngettext`
in the page's language, `fmt` for numbers and dates, `url_with` to change the current query
string, `static` for asset URLs, and `site` for the portal's name, about text and colours.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from civicport import __version__
from civicport.api.deps import current_principal
from civicport.auth.principal import Principal
from civicport.auth.sessions import SESSION_COOKIE
from civicport.config import Settings
from civicport.web import csrf
from civicport.web.formatting import Formatter
from civicport.web.i18n import (
    LANGUAGE_COOKIE,
    LANGUAGES,
    LanguageChoice,
    choose_language,
    locale,
    translations,
)
from civicport.web.markdown import plain_summary, render_markdown

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600

_environment = Environment(
    loader=FileSystemLoader(WEB_DIR / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
_environment.filters["markdown"] = render_markdown


@dataclass(frozen=True)
class Site:
    """What every page shows of the portal itself."""

    name: str
    about: Markup
    logo_url: str | None
    color: str
    on_color: str  # text colour on `color`: black or white, whichever contrasts more

    @classmethod
    def from_settings(cls, settings: Settings) -> Site:
        return cls(
            name=settings.site_name,
            about=render_markdown(settings.site_about),
            logo_url=settings.site_logo_url,
            color=settings.site_color,
            on_color=readable_text_color(settings.site_color),
        )


def readable_text_color(background: str) -> str:
    """'#000000' or '#ffffff', whichever has the higher WCAG contrast ratio on `background`.

    >>> readable_text_color("#1d4f91"), readable_text_color("#ffd700")
    ('#ffffff', '#000000')
    """
    luminance = _relative_luminance(background)
    on_black = (luminance + 0.05) / 0.05
    on_white = 1.05 / (luminance + 0.05)
    return "#000000" if on_black >= on_white else "#ffffff"


def _relative_luminance(color: str) -> float:
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def base_url(request: Request, settings: Settings) -> str:
    """The portal's public address without a trailing slash."""
    return (settings.site_url or str(request.base_url)).rstrip("/")


def url_with(request: Request, path: str | None = None, **changes: Any) -> str:
    """The current URL (or `path`) with query parameters changed; None or '' removes one.
    A tuple or list value sets a repeated parameter."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    for name, value in changes.items():
        if isinstance(value, list | tuple):
            items += [(name, str(v)) for v in value if v not in (None, "")]
        elif value not in (None, ""):
            items.append((name, str(value)))
    query = urlencode(items)
    return (path or request.url.path) + (f"?{query}" if query else "")


def static_url(path: str) -> str:
    # The version in the query string lets browsers cache assets until the next release.
    return f"/static/{path}?v={__version__}"


def request_language(request: Request) -> LanguageChoice:
    return choose_language(
        request.query_params.get("lang"),
        request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
    )


def gettext_for(request: Request) -> Callable[[str], str]:
    """The interface strings' translator for this request, for text built outside templates."""
    return translations(request_language(request).code).gettext


def sign_in_url(request: Request) -> str:
    """The sign-in page, bringing the person back to this page (when it is one they can GET)."""
    if request.method not in ("GET", "HEAD") or request.url.path.startswith("/account/"):
        return "/account/sign-in"
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/account/sign-in?" + urlencode({"next": here})


def _page_principal(request: Request) -> Principal | None:
    """Who is signed in, as the route's PrincipalDep found it, else from the session cookie: the
    header shows it on every page. A request sending an API key (a program) is left as the route
    found it, and a page is still rendered when the database cannot say (an error page)."""
    if hasattr(request.state, "principal") or "authorization" in request.headers:
        return getattr(request.state, "principal", None)
    if SESSION_COOKIE not in request.cookies:
        return None
    try:
        return current_principal(request)
    except sa.exc.SQLAlchemyError:
        log.warning("could not read the session of a page request", exc_info=True)
        return None


def render_page(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    """The HTML answer for `template` in the language the request chose."""
    settings: Settings = request.app.state.settings
    choice = request_language(request)
    strings = translations(choice.code)
    form_token = csrf.FormToken(request)
    context = {
        "request": request,
        "site": Site.from_settings(settings),
        "lang": choice.code,
        "languages": LANGUAGES,
        "_": strings.gettext,
        "ngettext": strings.ngettext,
        "fmt": Formatter(locale(choice.code)),
        "url_with": lambda path=None, **changes: url_with(request, path, **changes),
        "static": static_url,
        "plain": plain_summary,
        "base_url": base_url(request, settings),
        # Who is signed in (None: nobody), for the header and the route's own use.
        "principal": _page_principal(request),
        # The hidden field every POST form carries (web/csrf.py).
        "csrf_token": form_token,
        "sign_in_url": sign_in_url(request),
        **values,
    }
    html = _environment.get_template(template).render(context)
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    response.headers["Content-Language"] = choice.code
    response.headers["Vary"] = "Accept-Language, Cookie"
    if context["principal"] is not None:
        # What a signed-in person sees is theirs: no shared cache may keep it.
        response.headers.setdefault("Cache-Control", "private, no-store")
    if form_token.used or csrf.token_was_made(request):
        # A page with a form carries this browser's token: no shared cache may keep it.
        response.headers.setdefault("Cache-Control", "private, no-store")
        csrf.set_cookie(request, response)
    if choice.explicit:
        response.set_cookie(
            LANGUAGE_COOKIE, choice.code, max_age=LANGUAGE_COOKIE_SECONDS, samesite="lax"
        )
    return response
