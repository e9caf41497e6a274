"""What each kind of principal may do."""

import pytest

from costtracker.auth.principal import Principal, Role, Scope
from costtracker.web.auth import decide

ADMIN = Principal(kind="user", name="a", role=Role.ADMIN)
VIEWER = Principal(kind="user", name="v", role=Role.VIEWER)
COLLECT = Principal(kind="token", name="t", scope=Scope.COLLECT)
READ = Principal(kind="token", name="r", scope=Scope.READ)
LINK = Principal(kind="link", name="report link", report_month="2026-01")


@pytest.mark.parametrize(
    ("principal", "collect", "read"),
    [
        (ADMIN, True, True),
        (VIEWER, False, True),
        (COLLECT, True, True),
        (READ, False, True),
        (LINK, False, True),
    ],
)
def test_scopes(principal: Principal, collect: bool, read: bool) -> None:
    assert principal.has_scope(Scope.COLLECT) is collect
    assert principal.has_scope(Scope.READ) is read


@pytest.mark.parametrize("principal", [ADMIN, VIEWER, COLLECT, READ, LINK])
def test_everyone_reads(principal: Principal) -> None:
    assert decide(principal, "GET", "/anything", lambda: False) is None


@pytest.mark.parametrize(
    ("principal", "wants_collect", "allowed"),
    [
        (ADMIN, False, True),
        (VIEWER, True, False),
        (COLLECT, True, True),
        (COLLECT, False, False),
        (READ, True, False),
        (LINK, True, False),
    ],
)
def test_writes(principal: Principal, wants_collect: bool, allowed: bool) -> None:
    refusal = decide(principal, "POST", "/api/x", lambda: wants_collect)
    assert (refusal is None) is allowed
    if refusal is not None:
        assert refusal.status == 403


def test_anyone_signed_in_may_sign_out() -> None:
    assert decide(VIEWER, "POST", "/logout", lambda: False) is None
    assert decide(READ, "POST", "/logout", lambda: False) is not None
