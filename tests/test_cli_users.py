"""``costtracker user ...`` and ``costtracker token ...``, in process on both databases, and once
as a real subprocess."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from costtracker.auth.passwords import verify_password
from costtracker.cli import app
from costtracker.store.models import ApiToken, AuditEntry, User, UserSession
from tests.conftest import Db
from tests.leakcheck import planted
from tests.web.authhelp import use_cheap_hashing

PASSWORD = planted("cli-password")


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_cheap_hashing(monkeypatch)


@pytest.fixture
def cli(db: Db, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setenv("COSTTRACKER_DATABASE_URL", db.url)
    monkeypatch.setenv("COSTTRACKER_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> Any:
        return runner.invoke(app, list(args), input=stdin)

    return run


def users(db: Db) -> dict[str, User]:
    with db.sessions() as session:
        return {u.email: u for u in session.scalars(select(User))}


def audit(db: Db) -> list[tuple[str, str, str | None]]:
    with db.sessions() as session:
        return [
            (e.actor, e.action, e.target) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def test_user_add_reads_the_password_from_stdin(cli: Any, db: Db) -> None:
    result = cli(
        "user", "add", "Ops@Example.com", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "added ops@example.com (admin)" in result.stdout
    user = users(db)["ops@example.com"]
    assert user.role == "admin"
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, PASSWORD)
    assert ("cli", "user.add", "ops@example.com") in audit(db)


def test_user_add_asks_for_the_password_twice(cli: Any, db: Db) -> None:
    result = cli("user", "add", "v@example.com", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert users(db)["v@example.com"].role == "viewer"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["user", "add", "v@example.com", "--role", "owner"], PASSWORD, "must be one of admin, viewer"),
        (["user", "add", "not-an-email"], PASSWORD, "is not an e-mail address"),
        (["user", "add", "v@example.com"], "short", "at least 8 characters"),
    ],
)
def test_user_add_explains_what_is_wrong(cli: Any, db: Db, args: list[str], stdin: str, message: str) -> None:
    result = cli(*args, "--password-stdin", stdin=stdin + "\n")
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert users(db) == {}


def test_a_user_cannot_be_added_twice(cli: Any) -> None:
    cli("user", "add", "v@example.com", "--password-stdin", stdin=PASSWORD)
    result = cli("user", "add", "V@example.com", "--password-stdin", stdin=PASSWORD)
    assert result.exit_code == 1
    assert "already exists" in result.stderr


def test_user_list_shows_roles(cli: Any) -> None:
    assert "no users yet" in cli("user", "list").stdout
    cli("user", "add", "a@example.com", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    cli("user", "add", "v@example.com", "--password-stdin", stdin=PASSWORD)
    lines = cli("user", "list").stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [["a@example.com", "admin"], ["v@example.com", "viewer"]]


def test_user_passwd_changes_the_password_and_ends_sessions(cli: Any, db: Db) -> None:
    cli("user", "add", "v@example.com", "--password-stdin", stdin=PASSWORD)
    with db.sessions() as session:
        user = session.scalars(select(User)).one()
        session.add(UserSession(token_hash="x", user_id=user.id, csrf_token="y", expires_at=user.created_at))
        session.commit()
    new = planted("new-password")
    result = cli("user", "passwd", "v@example.com", "--password-stdin", stdin=new)
    assert result.exit_code == 0, result.output
    assert verify_password(users(db)["v@example.com"].password_hash, new)
    with db.sessions() as session:
        assert session.scalars(select(UserSession)).all() == []
    assert ("cli", "user.passwd", "v@example.com") in audit(db)


def test_user_passwd_of_nobody_fails_before_asking(cli: Any) -> None:
    result = cli("user", "passwd", "nobody@example.com")
    assert result.exit_code == 1
    assert "no user 'nobody@example.com'" in result.stderr


def test_user_remove_keeps_the_last_admin(cli: Any, db: Db) -> None:
    cli("user", "add", "a@example.com", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    cli("user", "add", "v@example.com", "--password-stdin", stdin=PASSWORD)
    refused = cli("user", "remove", "a@example.com")
    assert refused.exit_code == 1
    assert "last admin" in refused.stderr
    assert cli("user", "remove", "v@example.com").exit_code == 0
    assert set(users(db)) == {"a@example.com"}
    assert ("cli", "user.remove", "v@example.com") in audit(db)
    assert cli("user", "remove", "v@example.com").exit_code == 1


def test_token_create_prints_the_token_once_and_stores_its_hash(cli: Any, db: Db) -> None:
    result = cli("token", "create", "--name", "nightly", "--scope", "collect")
    assert result.exit_code == 0, result.output
    raw = result.stdout.strip()
    assert raw.startswith("ct_") and "\n" not in raw
    assert "will not be shown again" in result.stderr
    with db.sessions() as session:
        token = session.scalars(select(ApiToken)).one()
    assert (token.name, token.scope) == ("nightly", "collect")
    assert raw not in token.token_hash
    listing = cli("token", "list").stdout
    assert "nightly" in listing and "collect" in listing and token.prefix in listing
    assert raw not in listing
    assert ("cli", "token.create", "nightly") in audit(db)


def test_token_create_refuses_an_unknown_scope_or_a_taken_name(cli: Any) -> None:
    assert "must be one of collect, read" in cli("token", "create", "--name", "x", "--scope", "all").stderr
    cli("token", "create", "--name", "x")
    assert "already named 'x'" in cli("token", "create", "--name", "x").stderr


def test_token_revoke_by_name_or_id(cli: Any, db: Db) -> None:
    cli("token", "create", "--name", "a")
    cli("token", "create", "--name", "b")
    assert cli("token", "revoke", "a").exit_code == 0
    assert "revoked token #2 'b'" in cli("token", "revoke", "2").stdout
    with db.sessions() as session:
        assert all(t.revoked_at is not None for t in session.scalars(select(ApiToken)))
    assert "revoked" in cli("token", "list").stdout
    assert ("cli", "token.revoke", "a") in audit(db)
    missing = cli("token", "revoke", "nope")
    assert missing.exit_code == 1 and "no token" in missing.stderr


def test_a_name_reused_after_revocation_revokes_the_active_one(cli: Any, db: Db) -> None:
    cli("token", "create", "--name", "ci")
    cli("token", "revoke", "ci")
    cli("token", "create", "--name", "ci")
    assert "revoked token #2" in cli("token", "revoke", "ci").stdout


def test_an_unmigrated_database_is_explained(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COSTTRACKER_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["user", "list"])
    assert result.exit_code == 1
    assert "costtracker db upgrade" in result.stderr


def test_the_real_command_adds_and_lists_users(tmp_path: Path) -> None:
    env = {**os.environ, "COSTTRACKER_DATA_DIR": str(tmp_path)}

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "costtracker", *args]
        return subprocess.run(command, input=stdin, capture_output=True, text=True, env=env, timeout=120)

    assert run("db", "upgrade").returncode == 0
    added = run("user", "add", "ops@example.com", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    assert added.returncode == 0, added.stderr
    assert "ops@example.com" in run("user", "list").stdout
    again = run("user", "add", "ops@example.com", "--password-stdin", stdin=PASSWORD)
    assert again.returncode == 1
    assert "already exists" in again.stderr and "Traceback" not in again.stderr


def test_check_warns_when_no_secret_key_is_set(cli: Any) -> None:
    result = cli("check")
    assert "COSTTRACKER_SECRET_KEY: not set" in result.stdout


def test_check_refuses_a_placeholder_secret_key(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSTTRACKER_SECRET_KEY", "change-me")
    result = cli("check")
    assert result.exit_code == 1
    assert "COSTTRACKER_SECRET_KEY: is a placeholder" in result.stdout
