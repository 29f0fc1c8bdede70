"""Pages speak English or Spanish: chosen by ?lang=, then the cookie the switch leaves, then
Accept-Language; translations are complete; dataset content is never translated."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from civicport.web.i18n import LANGUAGE_COOKIE, TRANSLATIONS_DIR, choose_language

WEB_DIR = Path(TRANSLATIONS_DIR).parent
BABEL_CFG = WEB_DIR.parents[2] / "babel.cfg"


def test_language_choice_order() -> None:
    assert choose_language("es", "en", "en-US").code == "es"
    assert choose_language("es", None, None).explicit
    assert choose_language(None, "es", "en-US").code == "es"
    assert choose_language(None, None, "es-MX,es;q=0.9,en;q=0.8").code == "es"
    assert choose_language(None, None, "fr-FR,fr;q=0.9").code == "en"
    assert choose_language("xx", "yy", "garbage;;q=zz").code == "en"


def test_accept_language_gives_spanish_pages(client: TestClient, make_dataset) -> None:
    dataset_id = make_dataset(title="Restaurant Inspections", description="Inspection scores.")
    home = client.get("/", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert '<html lang="es">' in home.text
    assert "Buscar en los datos" in home.text
    assert home.headers["content-language"] == "es"
    page = client.get(f"/d/{dataset_id}", headers={"Accept-Language": "es"}).text
    assert "Descargar" in page
    # Content stays as published.
    assert "Restaurant Inspections" in page
    assert "Inspection scores." in page


def test_switch_remembers_the_choice(client: TestClient) -> None:
    switched = client.get("/browse", params={"lang": "es"})
    assert switched.cookies.get(LANGUAGE_COOKIE) == "es"
    again = client.get("/browse", headers={"Accept-Language": "en"})
    assert "Catálogo de datos" in again.text
    back = client.get("/browse", params={"lang": "en"})
    assert "Data catalog" in back.text


def test_every_interface_string_has_a_spanish_translation() -> None:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    extracted = {msg for _, _, msg, _, _ in extract_from_dir(str(WEB_DIR), method_map)}
    po_path = TRANSLATIONS_DIR / "es" / "LC_MESSAGES" / "messages.po"
    catalog = read_po(io.BytesIO(po_path.read_bytes()), locale="es")
    missing = []
    for message in extracted:
        key = message if isinstance(message, str) else message[0]
        entry = catalog.get(key)
        translated = entry is not None and (
            all(entry.string) if isinstance(entry.string, tuple | list) else entry.string
        )
        if not translated:
            missing.append(key)
    assert not missing, f"untranslated: {sorted(missing)}"


def test_bad_input_is_explained_in_the_readers_language(client: TestClient, make_dataset) -> None:
    dataset_id = make_dataset([("fee", "number")], [(1,)], title="Permits")
    page = client.get(f"/d/{dataset_id}", params={"f.fee": "mucho", "lang": "es"})
    assert page.status_code == 400
    assert "Filtro de «Fee»: «mucho» no es un número" in page.text
    catalog = client.get("/browse", params={"page": "x", "lang": "es"})
    assert "«x» no es un número de página" in catalog.text
