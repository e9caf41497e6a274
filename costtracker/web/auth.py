"""Default-deny access control for every request, and the dependencies routes use to ask for more.

``AccessMiddleware`` runs before routing, so a route, router or mount added later is protected
without doing anything. For each request it:

1. resolves the principal: ``Authorization: Bearer`` (or ``?token=`` under ``/api``), else the
   session cookie, else a signed report link on ``/report/<month>...`` (GET/HEAD only), and
   stores it (or None) on ``request.state.principal``;
2. lets the public allow-list through (``/api/health``, ``/login``, ``/static/...``);
3. answers anonymous requests with a JSON 401 under ``/api``, a redirect to ``/login`` for
   pages;
4. lets any method other than GET/HEAD/OPTIONS through only for admins, for a ``collect``
   token on a route that declares ``require_scope("collect")``, and for signing out; viewers,
   ``read`` tokens and links get 403;
5. checks the CSRF token of cookie-authenticated writes (:mod:`costtracker.web.csrf`);
6. writes an audit entry for every successful write.

Stricter routes add ``Depends(require_admin)`` (admin pages and reads, e.g. the audit log) or
``Depends(require_scope("collect"))``; both are exported from :mod:`costtracker.web.deps`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import iter_route_contexts
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from costtracker.auth import audit
from costtracker.auth.principal import Principal
from costtracker.auth.principal import Scope as TokenScope
from costtracker.auth.ratelimit import LoginLimiter
from costtracker.auth.sessions import session_principal
from costtracker.auth.signing import check_report_link, resolve_secret_key
from costtracker.auth.tokens import token_principal
from costtracker.clock import utcnow
from costtracker.errors import AuthError, Forbidden
from costtracker.settings import Settings
from costtracker.web import csrf
from costtracker.web.errors import error_response

log = logging.getLogger(__name__)

SESSION_COOKIE = "costtracker_session"
PUBLIC_PATHS = frozenset({"/api/health", "/login"})
PUBLIC_PREFIXES = ("/static/",)
SELF_SERVICE = frozenset({("POST", "/logout")})  # any signed-in user, viewers included
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REPORT_PATH = re.compile(
    r"/report/(?P<month>\d{4}-\d{2})(?:\.[A-Za-z0-9]+)?(?:/[A-Za-z0-9_-]+(?:\.[A-Za-z0-9]+)?)*/?", re.ASCII
)


@dataclass
class AccessConfig:
    """What the access layer needs, kept on ``app.state.access`` (tests replace ``clock``)."""

    secret_key: str
    session_max_age: timedelta
    limiter: LoginLimiter
    clock: Callable[[], datetime] = field(default=utcnow)


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str


def access_config(app: Any) -> AccessConfig:
    config: AccessConfig = app.state.access
    return config


# --- who is asking ------------------------------------------------------------------------


def presented_token(conn: HTTPConnection) -> str | None:
    """The bearer token, from the header or (under /api, for the seed's cron lines) ``?token=``."""
    scheme, _, value = conn.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if conn.url.path.startswith("/api/"):
        return conn.query_params.get("token") or None
    return None


def link_principal(conn: HTTPConnection, secret_key: str, now: datetime) -> Principal | Refusal | None:
    """A signed report link grants GET/HEAD on that month's report and its exports, nothing else."""
    match = REPORT_PATH.fullmatch(conn.url.path)
    if match is None or conn.scope.get("method", "GET") not in ("GET", "HEAD"):
        return None
    expires, sig = conn.query_params.get("expires"), conn.query_params.get("sig")
    if expires is None or sig is None:
        return None
    month = match.group("month")
    problem = check_report_link(secret_key, month, expires, sig, now=now)
    if problem == "expired":
        return Refusal(403, "link_expired", "this report link has expired; ask for a new one")
    if problem is not None:
        return Refusal(403, "link_invalid", "this report link is not valid")
    return Principal(kind="link", name="report link", report_month=month)


def resolve(conn: HTTPConnection) -> Principal | Refusal | None:
    """Who is asking (None: nobody), or why the credentials presented are refused."""
    config = access_config(conn.app)
    settings: Settings = conn.app.state.settings
    now = config.clock()
    raw = presented_token(conn)
    cookie = conn.cookies.get(SESSION_COOKIE)
    if raw is not None or cookie:
        with conn.app.state.sessions() as session:
            if raw is not None:
                principal = token_principal(session, raw, settings, now)
                return principal or Refusal(401, "unauthorized", "this token is unknown or was revoked")
            assert cookie is not None
            principal = session_principal(session, cookie, now=now)
            if principal is not None:
                return principal
    return link_principal(conn, config.secret_key, now)


# --- what it may do ---------------------------------------------------------------------------


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def decide(principal: Principal, method: str, path: str, wants_collect: Callable[[], bool]) -> Refusal | None:
    """None when ``principal`` may send ``method`` to ``path``, else the refusal."""
    if method in SAFE_METHODS:
        return None
    if principal.is_user and (method, path) in SELF_SERVICE:
        return None
    if principal.is_admin:
        return None
    if principal.kind == "token" and principal.scope == TokenScope.COLLECT and wants_collect():
        return None
    if principal.kind == "token":
        return Refusal(403, "forbidden", f"a token of scope {principal.scope} cannot do this")
    return Refusal(403, "forbidden", "your account can read but not change anything; ask an admin")


def route_wants(app: Any, scope: Scope, wanted: TokenScope) -> bool:
    """Whether the route ``scope`` goes to declares ``require_scope(wanted)``."""
    for context in iter_route_contexts(app.routes):
        match, _ = context.matches(scope)
        if match == Match.FULL:
            return _declares(_dependant(context), wanted)
    return False


def _dependant(context: Any) -> Any:
    """The route's dependency tree (router-level dependencies included when FastAPI has them)."""
    return getattr(context, "dependant", None) or getattr(context.original_route, "dependant", None)


def _declares(dependant: Any, wanted: TokenScope) -> bool:
    if dependant is None:
        return False
    call = getattr(dependant, "call", None)
    if isinstance(call, ScopeRequirement) and call.scope == wanted:
        return True
    return any(_declares(child, wanted) for child in getattr(dependant, "dependencies", []))


# --- the middleware ----------------------------------------------------------------------------


class AccessMiddleware:
    """Resolves the principal and refuses what it may not do, before any route runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(PUBLIC_PREFIXES):  # static files: no need to know who asks
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        found = await run_in_threadpool(resolve, conn)
        principal = found if isinstance(found, Principal) else None
        scope.setdefault("state", {})["principal"] = principal
        path, method = scope["path"], scope.get("method", "GET")
        if is_public(path):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await self._websocket(principal, scope, receive, send)
            return
        refusal = found if isinstance(found, Refusal) else None
        if principal is not None and refusal is None:
            refusal = decide(
                principal, method, path, lambda: route_wants(conn.app, scope, TokenScope.COLLECT)
            )
        if refusal is not None:
            await self._refuse(refusal, scope, receive, send)
            return
        if principal is None:
            await _anonymous(scope, receive, send)
            return
        await self._allowed(principal, scope, receive, send)

    async def _allowed(self, principal: Principal, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method not in SAFE_METHODS and principal.csrf_token is not None:
            ok, receive = await csrf.check(scope, receive, principal.csrf_token)
            if not ok:
                message = "the form is stale or came from elsewhere; reload the page and try again"
                await self._refuse(Refusal(403, "csrf_failed", message), scope, receive, send)
                return
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, send_noting_status)
        if method not in SAFE_METHODS and status < 400 and scope["path"] != "/logout":
            await run_in_threadpool(_audit_request, HTTPConnection(scope), principal, status)

    async def _refuse(self, refusal: Refusal, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        headers = {"WWW-Authenticate": "Bearer"} if refusal.status == 401 else None
        response = error_response(request, refusal.status, refusal.code, refusal.message, headers=headers)
        await response(scope, receive, send)

    async def _websocket(
        self, principal: Principal | None, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if principal is None or principal.kind == "link":
            await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)


async def _anonymous(scope: Scope, receive: Receive, send: Send) -> None:
    """JSON 401 under /api and for writes; pages go to the login form and come back after."""
    request = Request(scope, receive)
    response: Response
    if request.url.path.startswith("/api") or scope["method"] not in ("GET", "HEAD"):
        message = "sign in, or send a token: Authorization: Bearer <token>"
        response = error_response(
            request, 401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"}
        )
    else:
        # a credential in a URL is never copied into another one
        query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
        target = request.url.path + (f"?{query}" if query else "")
        response = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=302)
    await response(scope, receive, send)


def _audit_request(conn: HTTPConnection, principal: Principal, status: int) -> None:
    """Every successful write leaves a trace (method, path, status; never the body)."""
    try:
        with conn.app.state.sessions() as session:
            target = f"{conn.scope['method']} {conn.url.path}"
            ip = conn.client.host if conn.client else None
            audit.record(session, principal.name, "request", target, details={"status": status}, ip=ip)
            session.commit()
    except Exception:
        log.exception("could not write the audit entry of %s %s", conn.scope["method"], conn.url.path)


# --- dependencies for stricter routes ------------------------------------------------------


def current_principal(request: Request) -> Principal:
    """The principal the middleware resolved (a route can only run with one)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise AuthError("sign in required")
    return principal


def require_admin(request: Request) -> Principal:
    """Users with the admin role only (tokens and links never are admins)."""
    principal = current_principal(request)
    if not principal.is_admin:
        raise Forbidden("only an admin can do this")
    return principal


class ScopeRequirement:
    """``Depends(require_scope("collect"))``: tokens of that scope, and admins, pass.

    The middleware also looks for it: a ``collect`` token may only write to routes that declare
    it, so adding a write route never hands it to machines by accident.
    """

    def __init__(self, scope: TokenScope) -> None:
        self.scope = scope

    def __call__(self, request: Request) -> Principal:
        principal = current_principal(request)
        if not principal.has_scope(self.scope):
            raise Forbidden(f"this needs an admin or a token of scope {self.scope}")
        return principal


def require_scope(scope: str) -> ScopeRequirement:
    return ScopeRequirement(TokenScope(scope))


# --- wiring ------------------------------------------------------------------------------


def install_access(app: FastAPI) -> None:
    """Access control, the login pages, security headers and template helpers, on ``app``."""
    from costtracker.web.headers import SecurityHeadersMiddleware
    from costtracker.web.i18n import install_i18n
    from costtracker.web.pages import login

    settings: Settings = app.state.settings
    app.state.access = AccessConfig(
        secret_key=resolve_secret_key(settings),
        session_max_age=timedelta(hours=settings.session_max_age_hours),
        limiter=LoginLimiter(settings.login_max_attempts, timedelta(seconds=settings.login_window_seconds)),
    )
    install_i18n(app.state.templates.env)
    app.state.templates.env.globals["csrf_field"] = csrf.csrf_field
    app.include_router(login.router)
    app.add_middleware(AccessMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, docs_path=app.docs_url)  # outermost
