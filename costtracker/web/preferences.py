"""A reader's preferences, set by plain links and kept in cookies: ``?lang=fr`` and ``?theme=dark``.

They are preferences, not credentials: any page takes them (viewers too, with no form and no
CSRF token), and the server renders with them, so the page is in the right language and theme
from its first paint with no script at all (the CSP allows none inline). Without a theme cookie
the page follows the system's (``prefers-color-scheme``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from costtracker.web.i18n import COOKIE as LANGUAGE_COOKIE
from costtracker.web.i18n import LANGUAGES

THEME_COOKIE = "costtracker_theme"
THEMES = ("dark", "light", "system")
CHOICES = {"lang": (LANGUAGE_COOKIE, tuple(LANGUAGES)), "theme": (THEME_COOKIE, THEMES)}
ONE_YEAR = 365 * 24 * 3600


def theme_of(conn: HTTPConnection) -> str | None:
    """``dark`` or ``light`` when chosen, None to follow the system."""
    chosen = conn.scope.get("state", {}).get("theme") or conn.cookies.get(THEME_COOKIE)
    return chosen if chosen in ("dark", "light") else None


class PreferencesMiddleware:
    """Takes ``?lang=`` and ``?theme=`` on any page: for this request, and in a cookie for the next."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = _choices(scope) if scope["type"] == "http" else {}
        if not chosen:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        for name, value in chosen.items():
            state["locale" if name == "lang" else name] = value

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in chosen.items():
                    cookie = CHOICES[name][0]
                    age = 0 if value == "system" else ONE_YEAR
                    headers.append("set-cookie", f"{cookie}={value}; Path=/; Max-Age={age}; SameSite=Lax")
            await send(message)

        await self.app(scope, receive, send_with_cookies)


def _choices(scope: Scope) -> dict[str, str]:
    if scope["path"].startswith(("/static/", "/api/")):
        return {}
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    found = {}
    for name, (_cookie, allowed) in CHOICES.items():
        values = query.get(name, [])
        if values and values[-1] in allowed:
            found[name] = values[-1]
    return found


@pass_context
def page_theme(context: Context) -> str | None:
    request = context.get("request")
    return theme_of(request) if request is not None else None


def install_preferences(app: Any) -> None:
    """The switches on every page of ``app``, and ``page_theme()`` in its templates."""
    app.add_middleware(PreferencesMiddleware)
    env: Environment = app.state.templates.env
    env.globals["page_theme"] = page_theme
