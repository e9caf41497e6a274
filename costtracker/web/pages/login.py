"""The login form, signing in and signing out.

The login form has no session yet, so its CSRF protection is a double submit: a random value
in a ``SameSite=Strict`` cookie scoped to ``/login`` and the same value in the form. Another
site can make a browser post the form but cannot read or set that cookie.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from costtracker.auth import audit
from costtracker.auth.sessions import end_session, start_session
from costtracker.auth.users import authenticate, count_users
from costtracker.web.auth import SESSION_COOKIE, access_config
from costtracker.web.deps import SessionDep, SettingsDep

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "costtracker_login_csrf"
FormField = Annotated[str, Form()]


def safe_next(target: str | None) -> str:
    """Only a path of this site (``/x``), never ``//evil.example`` or ``https://...``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(ord(char) < 32 for char in target) or target.startswith("/login"):
        return "/"
    return target


def is_https(request: Request, public_url: str) -> bool:
    return request.url.scheme == "https" or public_url.startswith("https://")


def render_form(
    request: Request,
    session: SessionDep,
    *,
    next_path: str,
    email: str = "",
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    minutes: int = 0,
) -> Response:
    """The form; ``error`` is ``wrong``, ``limited`` or ``expired`` (worded in the template, to be
    translatable)."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    context = {
        "next": next_path,
        "email": email,
        "error": error,
        "minutes": minutes,
        "login_csrf": token,
        "no_users": count_users(session) == 0,
    }
    response: Response = request.app.state.templates.TemplateResponse(
        request, "login.html", context, status_code=status, headers=headers
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/login")
def login_form(request: Request, session: SessionDep, next: str = "/") -> Response:
    principal = request.state.principal
    if principal is not None and principal.is_user:
        return RedirectResponse(safe_next(next), status_code=303)
    return render_form(request, session, next_path=safe_next(next))


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: FormField,
    password: FormField,
    csrf_token: FormField = "",
    next: FormField = "/",
) -> Response:
    next_path, address = safe_next(next), (request.client.host if request.client else None)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), csrf_token.encode("utf-8", "replace")):
        return render_form(request, session, next_path=next_path, email=email, error="expired", status=403)
    config = access_config(request.app)
    now = config.clock()
    wait = config.limiter.retry_after(session, email, address, now)
    if wait is not None:
        audit.record(session, "anonymous", "login.limited", email, ip=address)
        session.commit()
        return render_form(
            request,
            session,
            next_path=next_path,
            email=email,
            error="limited",
            status=429,
            headers={"Retry-After": str(wait)},
            minutes=max(1, round(wait / 60)),
        )
    user = authenticate(session, email, password)
    if user is None:
        config.limiter.failed(session, email, address, now)
        audit.record(session, "anonymous", "login.failed", email, ip=address)
        session.commit()
        return render_form(request, session, next_path=next_path, email=email, error="wrong", status=401)
    config.limiter.succeeded(session, user.email)
    if previous := request.cookies.get(SESSION_COOKIE):
        end_session(session, previous)  # a fresh session id at each sign-in (no fixation)
    raw = start_session(session, user, now=now, max_age=config.session_max_age)
    audit.record(session, user.email, "login", ip=address)
    session.commit()
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=int(config.session_max_age.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request, settings.public_url),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Ends this session (the middleware has checked its CSRF token)."""
    raw = request.cookies.get(SESSION_COOKIE)
    principal = request.state.principal
    if raw:
        end_session(session, raw)
    if principal is not None and principal.is_user:
        ip = request.client.host if request.client else None
        audit.record(session, principal.name, "logout", ip=ip)
    session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request, settings.public_url)
    )
    return response
