"""Languages: English (the source strings) and French, chosen per request.

``{{ _("Sign in") }}`` and ``{% trans %}`` work in every template and translate into the
language of the request being rendered: a ``?lang=fr`` switch (kept in a cookie), else the
cookie, else the browser's ``Accept-Language``, else English. The French catalogue is
``translations/fr/LC_MESSAGES/messages.po``, compiled in memory with Babel on first use, so
nothing is downloaded or built at run time. Templates rendered without a request (e-mails,
PDFs) are in English unless their context names a ``locale``.
"""

from __future__ import annotations

import gettext
from functools import cache
from io import BytesIO
from pathlib import Path
from urllib.parse import urlencode

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from starlette.requests import HTTPConnection

LANGUAGES = {"en": "English", "fr": "Français"}
DEFAULT = "en"
COOKIE = "costtracker_lang"
TRANSLATIONS = Path(__file__).parent / "translations"


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """The catalogue of ``locale`` (English: the strings as written)."""
    po = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT or not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def translate(locale: str, message: str) -> str:
    return translations(locale).gettext(message)


def negotiate(accept_language: str) -> str:
    """The first of our languages in an ``Accept-Language`` header, by the weights it gives."""
    ranked = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        ranked.append((-weight, position, tag.strip().lower().split("-")[0]))
    for _, _, language in sorted(ranked):
        if language in LANGUAGES:
            return language
    return DEFAULT


def locale_of(conn: HTTPConnection) -> str:
    """The request's language: its ``?lang=`` switch, its cookie, or its browser's preference."""
    chosen = conn.scope.get("state", {}).get("locale")
    if chosen in LANGUAGES:
        return str(chosen)
    cookie = conn.cookies.get(COOKIE)
    if cookie in LANGUAGES:
        return str(cookie)
    return negotiate(conn.headers.get("accept-language", ""))


def _context_locale(context: Context) -> str:
    request = context.get("request")
    if request is not None:
        return locale_of(request)
    return str(context.get("locale") or DEFAULT)


@pass_context
def _gettext(context: Context, message: str) -> str:
    return translations(_context_locale(context)).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(_context_locale(context)).ngettext(singular, plural, n)


@pass_context
def page_locale(context: Context) -> str:
    return _context_locale(context)


def with_choice(conn: HTTPConnection, name: str, value: str) -> str:
    """This page's path and query with ``name=value`` (a ``?lang=`` or ``?theme=`` switch)."""
    query = [(k, v) for k, v in conn.query_params.multi_items() if k not in ("lang", "theme")]
    return conn.url.path + "?" + urlencode([*query, (name, value)])


def install_i18n(env: Environment) -> None:
    """Make ``_``, ``gettext``, ``ngettext`` and ``{% trans %}`` follow each request's language."""
    if "jinja2.ext.InternationalizationExtension" not in env.extensions:
        env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["page_locale"] = page_locale
    env.globals["languages"] = LANGUAGES
    env.globals["with_choice"] = with_choice
