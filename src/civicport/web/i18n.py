"""Which language a page speaks, and its translations (gettext catalogs read with Babel).

The interface is translated; dataset content stays in the language it was published in. The
choice, strongest first: a `lang` query parameter (the language switch, and hreflang links),
the `civicport_lang` cookie the switch leaves, then the browser's Accept-Language.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from civicport.errors import InvalidQuery

DEFAULT_LANGUAGE = "en"
# Each language with its name in itself, as the switch shows it.
LANGUAGES = {"en": "English", "es": "Español"}
LANGUAGE_COOKIE = "civicport_lang"
TRANSLATIONS_DIR = Path(__file__).parent / "translations"


@dataclass(frozen=True)
class LanguageChoice:
    code: str
    # True when the request asked for it explicitly (?lang=): the response remembers it.
    explicit: bool


def choose_language(
    query_lang: str | None, cookie: str | None, accept: str | None
) -> LanguageChoice:
    """The language to answer in.

    >>> choose_language(None, None, "es-MX,es;q=0.9,en;q=0.8").code
    'es'
    """
    if query_lang in LANGUAGES:
        return LanguageChoice(query_lang, explicit=True)
    if cookie in LANGUAGES:
        return LanguageChoice(cookie, explicit=False)
    return LanguageChoice(_from_accept_language(accept or ""), explicit=False)


def _from_accept_language(header: str) -> str:
    preferred = []
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            preferred.append((quality, tag.strip().replace("_", "-")))
    tags = [tag for _, tag in sorted(preferred, key=lambda item: -item[0])]
    return negotiate_locale(tags, list(LANGUAGES), sep="-") or DEFAULT_LANGUAGE


@functools.cache
def translations(code: str) -> NullTranslations:
    """The interface strings for one language, read from its .po file once per process.

    Reading the .po directly (compiled to .mo in memory) means no build step can leave a
    stale or missing .mo file behind.
    """
    po_path = TRANSLATIONS_DIR / code / "LC_MESSAGES" / "messages.po"
    if not po_path.is_file():
        return NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=code)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


@functools.cache
def locale(code: str) -> Locale:
    return Locale.parse(code)


def N_(message: str) -> str:  # noqa: N802 (gettext's conventional name)
    """Mark `message` for translation where it is written; it is translated where shown."""
    return message


class PageInputError(InvalidQuery):
    """Bad input to a page (a filter, a page number, a chart choice), with its message kept as
    a template so each page can say it in the reader's language."""

    def __init__(self, template: str, **params: object) -> None:
        super().__init__(template % params)
        self.template = template
        self.params = params

    def translated(self, gettext: Callable[[str], str]) -> str:
        return gettext(self.template) % self.params
