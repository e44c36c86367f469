"""The back office in English and French: Babel's catalogues, one Jinja2 environment each.

The source strings are English, in the templates (`{{ _("...") }}`) and the pages' code;
`locales/fr/LC_MESSAGES/messages.po` translates them (`pybabel extract -F babel.cfg` lists
what is new). The .po files are read at start-up and compiled in memory: there is no .mo
to build or to forget to commit. A person gets the language of their `lang` cookie (the
switch in the navigation bar), else the best of their browser's Accept-Language.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

HERE = Path(__file__).parent
LANGUAGES = ("en", "fr")
DEFAULT = "en"
COOKIE = "lang"


def translations(language: str) -> NullTranslations:
    po = HERE / "locales" / language / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def environments(filters: dict[str, Callable[..., object]]) -> dict[str, Environment]:
    """One autoescaping environment per language, its gettext installed."""
    found = {}
    for language in LANGUAGES:
        env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"], default=True),
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        catalogue = translations(language)
        env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
        env.globals["plain_gettext"] = catalogue.gettext  # for the pages' own code
        env.filters.update(filters)
        env.globals["language"] = language
        found[language] = env
    return found


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The person's language: their choice, else their browser's, else English."""
    if cookie in LANGUAGES:
        return cookie
    wanted = []
    for part in (accept_language or "").split(","):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        if tag:
            wanted.append((weight, tag.replace("-", "_")))
    preferred = [tag for _, tag in sorted(wanted, key=lambda w: -w[0])]
    try:
        best = Locale.negotiate(preferred, list(LANGUAGES), sep="_")
    except (UnknownLocaleError, ValueError):
        best = None
    return best.language if best is not None else DEFAULT
