"""``costtracker user ...`` and ``costtracker token ...``: accounts and machine tokens.

Whoever can run the CLI on the server is trusted (they can read the database anyway), so these
commands need no login; each change is written to the audit log with the actor ``cli``.
Heavy imports stay inside the commands so ``costtracker --help`` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from costtracker.errors import CostTrackerError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

user_app = typer.Typer(help="People who sign in to the web app (roles: admin, viewer).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for machines (cron, CI, scripts).", no_args_is_help=True)

ACTOR = "cli"
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input")
]


@contextmanager
def store() -> Iterator[Session]:
    """One transaction on the configured database; errors become a message and exit 1."""
    from sqlalchemy.exc import SQLAlchemyError

    from costtracker.cli import fail, settings_or_exit
    from costtracker.store.db import make_engine, session_factory, transaction

    engine = make_engine(settings_or_exit().effective_database_url)
    try:
        with transaction(session_factory(engine)) as session:
            yield session
    except CostTrackerError as exc:
        raise fail(exc.message) from None
    except SQLAlchemyError as exc:
        raise fail(f"database error ({type(exc).__name__}); has `costtracker db upgrade` been run?") from None
    finally:
        engine.dispose()


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="E-mail, used to sign in")],
    role: Annotated[str, typer.Option(help="admin (everything) or viewer (read only)")] = "viewer",
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a user; the password is asked twice (or read from standard input)."""
    from costtracker.auth.users import add_user, parse_role

    with store() as session:
        parsed = parse_role(role)
        user = add_user(session, email, read_password(password_stdin), parsed, actor=ACTOR)
        typer.echo(f"added {user.email} ({user.role})")


@user_app.command("list")
def user_list() -> None:
    """List users with their role and last sign-in."""
    from costtracker.auth.users import list_users

    with store() as session:
        users = list_users(session)
        if not users:
            typer.echo("no users yet; add one with: costtracker user add EMAIL --role admin")
        for user in users:
            state = "  (disabled)" if user.disabled else ""
            typer.echo(f"{user.email:<40} {user.role:<7} last sign-in {when(user.last_login_at)}{state}")


@user_app.command("remove")
def user_remove(email: Annotated[str, typer.Argument(help="E-mail of the user")]) -> None:
    """Remove a user and end their sessions (the last admin cannot be removed)."""
    from costtracker.auth.users import remove_user

    with store() as session:
        remove_user(session, email, actor=ACTOR)
    typer.echo(f"removed {email.strip().lower()}")


@user_app.command("passwd")
def user_passwd(
    email: Annotated[str, typer.Argument(help="E-mail of the user")], password_stdin: PasswordStdin = False
) -> None:
    """Set a new password; the user's open sessions end."""
    from costtracker.auth.users import get_user, set_password

    with store() as session:
        get_user(session, email)  # say "no such user" before asking for a password
        set_password(session, email, read_password(password_stdin), actor=ACTOR)
    typer.echo(f"password of {email.strip().lower()} changed; their sessions were ended")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option("--name", help="What uses it, e.g. nightly-cron")],
    scope: Annotated[
        str, typer.Option("--scope", help="collect (read and start collections) or read")
    ] = "read",
) -> None:
    """Create a token and print it once: only its hash is kept."""
    from costtracker.auth.tokens import create_token, parse_scope

    with store() as session:
        token, raw = create_token(session, name, parse_scope(scope), actor=ACTOR)
        token_id, token_scope = token.id, token.scope
    typer.echo(raw)
    typer.echo(
        f"token #{token_id} {name!r} (scope {token_scope}) created; copy it now, it will not be shown "
        "again.\nSend it as: Authorization: Bearer <token>",
        err=True,
    )


@token_app.command("list")
def token_list() -> None:
    """List tokens (their first characters only) with scope and last use."""
    from costtracker.auth.tokens import list_tokens

    with store() as session:
        tokens = list_tokens(session)
        if not tokens:
            typer.echo("no tokens yet; create one with: costtracker token create --name NAME --scope read")
        for token in tokens:
            state = f"revoked {when(token.revoked_at)}" if token.revoked_at else "active"
            typer.echo(
                f"#{token.id:<4} {token.name:<30} {token.scope:<8} {token.prefix}…  "
                f"last used {when(token.last_used_at)}  {state}"
            )


@token_app.command("revoke")
def token_revoke(
    id_or_name: Annotated[str, typer.Argument(metavar="ID|NAME", help="Token id or name")],
) -> None:
    """Revoke a token: the next request that uses it is refused."""
    from costtracker.auth.tokens import revoke_token
    from costtracker.clock import utcnow

    with store() as session:
        token = revoke_token(session, id_or_name, actor=ACTOR, now=utcnow())
        token_id, token_name = token.id, token.name
    typer.echo(f"revoked token #{token_id} {token_name!r}")
