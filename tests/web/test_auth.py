"""Signing in and out, sessions, CSRF, the login rate limit, and default-deny for new routes.

Passwords are planted secrets (tests/leakcheck.py): they must never appear in a response or
a log line during these tests.
"""

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, FastAPI, Form
from sqlalchemy import select
from starlette.testclient import TestClient

from costtracker.auth.users import create_first_admin, set_password
from costtracker.clock import utcnow
from costtracker.settings import Settings, load_settings
from costtracker.store.models import AuditEntry, User, UserSession
from costtracker.web.app import create_app
from costtracker.web.auth import SESSION_COOKIE, access_config
from costtracker.web.deps import AdminDep
from tests.conftest import Db
from tests.leakcheck import planted
from tests.web.authhelp import (
    PASSWORD,
    add_user,
    login_form_token,
    session_csrf,
    sign_in,
    use_cheap_hashing,
)

ADMIN, VIEWER = "admin@example.com", "viewer@example.com"


def probe_router() -> APIRouter:
    """Routes a later issue might add: nothing in them asks for protection."""
    router = APIRouter()

    @router.get("/api/later")
    def later_api() -> dict[str, str]:
        return {"ok": "yes"}

    @router.get("/later-page")
    def later_page() -> dict[str, str]:
        return {"ok": "yes"}

    @router.post("/api/later")
    def later_write(payload: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"written": payload}

    @router.post("/later-form")
    def later_form(amount: Annotated[str, Form()]) -> dict[str, str]:
        return {"amount": amount}

    @router.get("/api/admin-only")
    def admin_only(principal: AdminDep) -> dict[str, str]:
        return {"admin": principal.name}

    return router


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_cheap_hashing(monkeypatch)


@pytest.fixture
def app(db: Db, make_settings: Callable[..., Settings]) -> FastAPI:
    app = create_app(make_settings(database_url=db.url))
    app.include_router(probe_router())
    add_user(db, ADMIN, "admin")
    add_user(db, VIEWER, "viewer")
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
        yield c


class Clock:
    """An injectable clock: tests move time instead of sleeping."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    clock = Clock()
    access_config(app).clock = clock
    return clock


def attempt(client: TestClient, email: str, password: str, **extra: str) -> Any:
    form = {"email": email, "password": password, "csrf_token": login_form_token(client), **extra}
    return client.post("/login", data=form)


def actions(db: Db) -> list[tuple[str, str]]:
    with db.sessions() as session:
        return [(e.actor, e.action) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


# --- the login page and signing in -----------------------------------------------------------


def test_the_login_page_is_public_and_protected_against_csrf(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.text and 'type="password"' in page.text
    assert "costtracker_login_csrf" in page.headers["set-cookie"]


def test_it_signs_in_with_a_safe_session_cookie(client: TestClient, db: Db) -> None:
    response = attempt(client, ADMIN, PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http on a developer machine
    assert ("admin@example.com", "login") in actions(db)


def test_the_session_cookie_is_secure_behind_https(app: FastAPI) -> None:
    with TestClient(app, base_url="https://costs.example.com", follow_redirects=False) as client:
        response = attempt(client, ADMIN, PASSWORD)
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "Secure" in cookie


def test_the_session_cookie_is_secure_when_the_public_url_is_https(
    db: Db, make_settings: Callable[..., Settings]
) -> None:
    app = create_app(make_settings(database_url=db.url, public_url="https://costs.example.com"))
    add_user(db, ADMIN)
    with TestClient(app, follow_redirects=False) as client:
        response = attempt(client, ADMIN, PASSWORD)
    assert "Secure" in response.headers["set-cookie"]


@pytest.mark.parametrize("email", [ADMIN, "nobody@example.com"])
def test_a_wrong_password_or_e_mail_gets_the_same_answer(client: TestClient, db: Db, email: str) -> None:
    response = attempt(client, email, planted("wrong"))
    assert response.status_code == 401
    assert "Wrong e-mail or password." in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert ("anonymous", "login.failed") in actions(db)


def test_the_e_mail_is_not_case_sensitive(client: TestClient) -> None:
    assert attempt(client, "Admin@Example.COM", PASSWORD).status_code == 303


def test_a_login_without_its_csrf_cookie_is_refused(app: FastAPI) -> None:
    with TestClient(app, follow_redirects=False) as other:
        token = login_form_token(other)
    with TestClient(app, follow_redirects=False) as client:  # another browser: no cookie
        response = client.post("/login", data={"email": ADMIN, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    ("asked", "landing"),
    [
        ("/report/2026-01", "/report/2026-01"),
        ("/runs?last=5", "/runs?last=5"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/login", "/"),
    ],
)
def test_it_returns_to_the_page_asked_for_and_only_within_the_site(
    client: TestClient, asked: str, landing: str
) -> None:
    assert attempt(client, ADMIN, PASSWORD, next=asked).headers["location"] == landing


def test_an_anonymous_page_visit_goes_to_the_login_and_comes_back(client: TestClient) -> None:
    response = client.get("/later-page?x=1")
    assert response.status_code == 302
    assert response.headers["location"] == "/login?next=%2Flater-page%3Fx%3D1"


def test_a_signed_in_user_visiting_the_login_page_goes_on(client: TestClient, db: Db) -> None:
    sign_in(client, db, VIEWER)
    assert client.get("/login?next=/later-page").headers["location"] == "/later-page"


# --- the rate limit --------------------------------------------------------------------------


def test_ten_wrong_passwords_lock_the_login_until_the_window_passes(
    client: TestClient, db: Db, clock: Clock
) -> None:
    for _ in range(10):
        assert attempt(client, ADMIN, planted("guess")).status_code == 401
    limited = attempt(client, ADMIN, PASSWORD)  # even the right password waits
    assert limited.status_code == 429
    assert "Too many failed sign-in attempts" in limited.text
    assert "15 minute" in limited.text
    assert int(limited.headers["retry-after"]) > 0
    clock.now += timedelta(seconds=901)
    assert attempt(client, ADMIN, PASSWORD).status_code == 303
    assert ("anonymous", "login.limited") in actions(db)


def test_the_limit_is_configurable(db: Db, make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(database_url=db.url, login_max_attempts=2, login_window_seconds=60))
    add_user(db, ADMIN)
    with TestClient(app, follow_redirects=False) as client:
        assert attempt(client, ADMIN, planted("a")).status_code == 401
        assert attempt(client, ADMIN, planted("b")).status_code == 401
        assert attempt(client, ADMIN, PASSWORD).status_code == 429


def test_a_correct_login_clears_the_count(client: TestClient) -> None:
    for _ in range(9):
        attempt(client, ADMIN, planted("guess"))
    assert attempt(client, ADMIN, PASSWORD).status_code == 303
    client.cookies.clear()
    for _ in range(9):
        assert attempt(client, ADMIN, planted("guess")).status_code == 401


# --- sessions --------------------------------------------------------------------------------


def test_the_header_shows_who_is_signed_in(client: TestClient, db: Db) -> None:
    csrf = sign_in(client, db, VIEWER)
    page = client.get("/")
    assert VIEWER in page.text and "viewer" in page.text
    assert f'<meta name="csrf-token" content="{csrf}">' in page.text
    assert 'action="/logout"' in page.text


def test_sign_out_needs_the_csrf_token_and_ends_the_session(client: TestClient, db: Db) -> None:
    csrf = sign_in(client, db, VIEWER)
    assert client.post("/logout").status_code == 403
    response = client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    with db.sessions() as session:
        assert session.scalars(select(UserSession)).all() == []
    assert (VIEWER, "logout") in actions(db)


def test_a_cookie_kept_after_sign_out_is_refused(client: TestClient, db: Db) -> None:
    csrf = sign_in(client, db, ADMIN)
    cookie = client.cookies[SESSION_COOKIE]
    client.post("/logout", data={"csrf_token": csrf})
    client.cookies.set(SESSION_COOKIE, cookie)
    assert client.get("/later-page").status_code == 302


def test_a_session_expires(client: TestClient, db: Db, clock: Clock) -> None:
    sign_in(client, db, ADMIN)
    assert client.get("/later-page").status_code == 200
    clock.now += timedelta(hours=168, seconds=1)
    assert client.get("/later-page").status_code == 302


def test_a_disabled_user_can_neither_sign_in_nor_keep_a_session(client: TestClient, db: Db) -> None:
    sign_in(client, db, VIEWER)
    with db.sessions() as session:
        session.scalars(select(User).where(User.email == VIEWER)).one().disabled = True
        session.commit()
    assert client.get("/later-page").status_code == 302
    assert attempt(client, VIEWER, PASSWORD).status_code == 401


def test_a_password_change_ends_the_sessions(client: TestClient, db: Db) -> None:
    sign_in(client, db, VIEWER)
    with db.sessions() as session:
        set_password(session, VIEWER, planted("new"), actor="test")
        session.commit()
    assert client.get("/later-page").status_code == 302


# --- default deny, roles and CSRF on routes added later --------------------------------------


def test_a_route_added_later_is_protected_without_asking(client: TestClient) -> None:
    assert client.get("/api/later").status_code == 401
    assert client.get("/api/later").json()["error"]["code"] == "unauthorized"
    assert client.get("/later-page").status_code == 302
    assert client.post("/api/later", json={}).status_code == 401
    assert client.post("/later-form", data={"amount": "1"}).status_code == 401


def test_a_viewer_reads_but_cannot_write(client: TestClient, db: Db) -> None:
    csrf = sign_in(client, db, VIEWER)
    assert client.get("/api/later").status_code == 200
    refused = client.post("/api/later", json={}, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert client.post("/later-form", data={"amount": "1", "csrf_token": csrf}).status_code == 403


def test_admin_only_reads_refuse_viewers(client: TestClient, db: Db) -> None:
    sign_in(client, db, VIEWER)
    assert client.get("/api/admin-only").status_code == 403
    client.cookies.clear()
    sign_in(client, db, ADMIN)
    assert client.get("/api/admin-only").json() == {"admin": ADMIN}


def test_a_script_write_from_a_page_needs_the_csrf_header(client: TestClient, db: Db) -> None:
    csrf = sign_in(client, db, ADMIN)
    refused = client.post("/api/later", json={"a": 1})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    assert client.post("/api/later", json={"a": 1}, headers={"X-CSRF-Token": "nope"}).status_code == 403
    accepted = client.post("/api/later", json={"a": 1}, headers={"X-CSRF-Token": csrf})
    assert accepted.json() == {"written": {"a": 1}}


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_a_form_write_carries_the_token_in_a_field_and_reaches_the_route_intact(
    client: TestClient, db: Db, encoding: str
) -> None:
    csrf = sign_in(client, db, ADMIN)
    fields = {"amount": "12.50", "csrf_token": csrf}
    if encoding == "multipart":
        response = client.post("/later-form", data=fields, files={"note": ("n.txt", b"x")})
    else:
        response = client.post("/later-form", data=fields)
    assert response.status_code == 200, response.text
    assert response.json() == {"amount": "12.50"}
    assert client.post("/later-form", data={"amount": "1"}).status_code == 403


def test_every_successful_write_is_audited(client: TestClient, db: Db) -> None:
    csrf = sign_in(client, db, ADMIN)
    client.post("/api/later", json={}, headers={"X-CSRF-Token": csrf})
    client.post("/api/later", json={})  # refused: not audited as a write
    with db.sessions() as session:
        writes = session.scalars(select(AuditEntry).where(AuditEntry.action == "request")).all()
    assert [(w.actor, w.target, w.details) for w in writes] == [(ADMIN, "POST /api/later", {"status": 200})]


# --- the first admin, the demo admin ----------------------------------------------------------


def test_the_first_admin_comes_from_the_environment_at_start(
    db: Db, make_settings: Callable[..., Settings]
) -> None:
    password = planted("first")
    settings = make_settings(database_url=db.url, admin_email="Boss@Example.com", admin_password=password)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        assert attempt(client, "boss@example.com", password).status_code == 303
    with TestClient(create_app(settings)):  # a second start changes nothing
        pass
    with db.sessions() as session:
        assert [(u.email, u.role) for u in session.scalars(select(User))] == [("boss@example.com", "admin")]


def test_the_first_admin_password_may_come_from_a_file(
    db: Db, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = planted("from-file")
    (tmp_path / "pw").write_text(password + "\n")
    monkeypatch.setenv("COSTTRACKER_DATABASE_URL", db.url)
    monkeypatch.setenv("COSTTRACKER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COSTTRACKER_ADMIN_EMAIL", ADMIN)
    monkeypatch.setenv("COSTTRACKER_ADMIN_PASSWORD_FILE", str(tmp_path / "pw"))
    settings = load_settings(_env_file=None)
    create_first_admin(settings, db.sessions)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        assert attempt(client, ADMIN, password).status_code == 303


def test_the_first_admin_is_skipped_without_a_password(
    db: Db, make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    create_first_admin(make_settings(database_url=db.url, admin_email=ADMIN), db.sessions)
    assert "without COSTTRACKER_ADMIN_PASSWORD" in caplog.text
    with db.sessions() as session:
        assert session.scalars(select(User)).all() == []


def test_the_login_page_says_how_to_create_the_first_user(
    db: Db, make_settings: Callable[..., Settings]
) -> None:
    with TestClient(create_app(make_settings(database_url=db.url))) as client:
        assert "costtracker user add" in client.get("/login").text


def test_the_session_csrf_helper_matches_the_page(client: TestClient, db: Db) -> None:
    sign_in(client, db, ADMIN)
    assert session_csrf(client, db) in client.get("/").text
