"""Dataset descriptions and the portal's about text: Markdown in, safe HTML out.

markdown-it renders (raw HTML in the source is escaped, not passed through) and nh3 then keeps
only an allow-list of tags and attributes, so a description can never carry a script, a style
or an event handler onto a page.
"""

from __future__ import annotations

import functools
import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_ALLOWED_TAGS = {
    "p", "br", "hr", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "del",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}

_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


@functools.lru_cache(maxsize=2048)
def render_markdown(text: str) -> Markup:
    """Sanitized HTML for Markdown `text`. A heading `#` becomes h2 at most, so a description
    never competes with the page's own h1."""
    html = _renderer.render(text or "")
    html = re.sub(r"<(/?)h1>", r"<\1h2>", html)
    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener",
    )
    return Markup(clean)


def plain_summary(text: str, limit: int = 200) -> str:
    """The first words of Markdown `text` as plain text, for meta descriptions and cards."""
    plain = nh3.clean(_renderer.render(text or ""), tags=set())
    plain = re.sub(r"\s+", " ", plain).strip()
    plain = plain.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    if len(plain) <= limit:
        return plain
    return plain[: limit - 1].rsplit(" ", 1)[0] + "…"
