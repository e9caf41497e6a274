"""Who is asking, and what that allows.

A principal is resolved once per request (see :mod:`costtracker.web.auth`) and kept on
``request.state.principal`` so routes and templates can show the user and hide what a viewer
may not do.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal


class Role(enum.StrEnum):
    ADMIN = "admin"  # everything: settings, manual entries, users, tokens
    VIEWER = "viewer"  # read only


class Scope(enum.StrEnum):
    COLLECT = "collect"  # read, and start collections
    READ = "read"  # read only


Kind = Literal["user", "token", "link"]


@dataclass(frozen=True)
class Principal:
    """A signed-in user, an API token, or a signed report link (read-only, one month)."""

    kind: Kind
    name: str  # e-mail, token name, or "report link"
    role: Role | None = None
    scope: Scope | None = None
    user_id: int | None = None
    token_id: int | None = None
    csrf_token: str | None = None  # only for browser sessions
    report_month: str | None = None  # only for signed links

    @property
    def is_admin(self) -> bool:
        return self.kind == "user" and self.role == Role.ADMIN

    @property
    def is_user(self) -> bool:
        return self.kind == "user"

    def has_scope(self, scope: Scope) -> bool:
        """Admins hold every scope; a collect token also reads; viewers and links only read."""
        if self.is_admin or scope == Scope.READ:
            return True
        return self.kind == "token" and self.scope == scope
