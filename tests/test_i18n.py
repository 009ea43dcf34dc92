"""English and Italian: the language choice, <html lang>, complete catalogs, local formats."""

from datetime import date
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask_babel import format_date, format_decimal, refresh

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "translations" / "it" / "LC_MESSAGES" / "messages.po"


def test_accept_language_picks_italian_for_visitors(client):
    html = client.get("/login", headers={"Accept-Language": "it-IT,it;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="it">' in html
    assert "Accedi a Polso" in html


def test_unsupported_language_falls_back_to_english(client):
    html = client.get("/login", headers={"Accept-Language": "de-DE"}).get_data(as_text=True)
    assert '<html lang="en">' in html and "Sign in to Polso" in html


def test_switcher_changes_the_language_of_a_visitor(client):
    client.post("/language/it", data={"next": "/login"})
    html = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="it">' in html


def test_switcher_saves_the_choice_on_the_account(client, factory, auth, db):
    person = factory.person("p@example.com")
    auth.login("p@example.com")
    client.post("/language/it", data={"next": "/"})
    db.session.refresh(person)
    assert person.locale == "it"
    auth.logout()
    auth.login("p@example.com")
    assert '<html lang="it">' in client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_account_setting_beats_accept_language(client, factory, auth):
    factory.person("p@example.com", locale="en")
    auth.login("p@example.com")
    html = client.get("/", headers={"Accept-Language": "it"}).get_data(as_text=True)
    assert '<html lang="en">' in html


def test_switcher_ignores_unknown_languages_and_foreign_redirects(client):
    response = client.post("/language/xx", data={"next": "https://evil.example/"})
    assert response.headers["Location"] == "/"
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)


def test_dates_and_numbers_follow_the_locale(app):
    with app.test_request_context(headers={"Accept-Language": "it"}):
        refresh()  # the test's app context outlives each request; drop the cached locale
        assert format_date(date(2026, 3, 1), "long") == "1 marzo 2026"
        assert format_decimal(1234.5) == "1.234,5"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh()
        assert format_date(date(2026, 3, 1), "long") == "March 1, 2026"
        assert format_decimal(1234.5) == "1,234.5"


def _source_messages() -> set[str]:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]
    ids = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, keywords={"_": None, "gettext": None, "ngettext": (1, 2), "_l": None,
                                         "lazy_gettext": None},
        directory_filter=lambda d: not Path(d).name.startswith(".") and Path(d).name not in (
            "tests", "migrations", "bench", "node_modules"),
    ):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def test_italian_catalog_translates_every_message_in_the_code():
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    translated = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog
                  if m.id and m.string and not m.fuzzy
                  and all(m.string if isinstance(m.string, tuple) else [m.string])}
    missing = sorted(_source_messages() - translated)
    assert missing == [], f"{len(missing)} messages lack Italian: {missing[:10]}"
