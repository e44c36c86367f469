"""Every text of the back office has its French translation (a new one fails here)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

WEB = Path(__file__).parents[2] / "adapters" / "web"
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def extracted() -> set[str]:
    found = extract_from_dir(WEB, METHODS, options_map=OPTIONS, keywords={"_": None})
    return {message for _file, _line, message, _comments, _context in found}


def test_every_text_is_translated_into_french() -> None:
    with (WEB / "locales/fr/LC_MESSAGES/messages.po").open("rb") as source:
        catalogue = read_po(source, locale="fr")
    texts = extracted()
    assert len(texts) > 100
    untranslated = sorted(t for t in texts if not (catalogue.get(t) and catalogue.get(t).string))
    assert untranslated == []


def test_the_french_catalogue_has_no_fuzzy_or_stale_guess() -> None:
    with (WEB / "locales/fr/LC_MESSAGES/messages.po").open("rb") as source:
        catalogue = read_po(source, locale="fr")
    assert [m.id for m in catalogue if m.id and m.fuzzy] == []
