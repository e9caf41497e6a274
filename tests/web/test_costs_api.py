"""/api/costs, /api/costs/daily, /api/costs/workspace and /api/overview on a collected ledger:
the same answers as the CLI and as each other, and 400s that name the bad parameter."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from costtracker.settings import Settings
from costtracker.web.app import create_app
from tests.conftest import Db
from tests.web.authhelp import add_token
from tests.web.collected import FAILED_WORKSPACE, collect_everything, collected_period


@pytest.fixture
def settings(db: Db, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return collect_everything(db, monkeypatch)


@pytest.fixture
def client(db: Db, settings: Settings) -> Iterator[TestClient]:
    token = add_token(db, "read")
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def get(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(path, params={k: v for k, v in params.items() if v is not None})
    assert response.status_code == 200, response.text
    return response.json()


CLI_RUNS = """
import json, sys
from typer.testing import CliRunner
from costtracker.cli import app
outputs = []
for args in json.loads(sys.stdin.read()):
    result = CliRunner().invoke(app, ["costs", "--json", *args])
    outputs.append({"code": result.exit_code, "stdout": result.stdout})
print(json.dumps(outputs))
"""


def cli_costs(*calls: dict[str, str]) -> list[Any]:
    """``costtracker costs --json`` for each set of options, in one child process (the CLI opens its
    own database connections, as it does for a user)."""
    args = [[part for name, value in call.items() for part in (f"--{name}", value)] for call in calls]
    child = subprocess.run(
        [sys.executable, "-c", CLI_RUNS], input=json.dumps(args), capture_output=True, text=True, timeout=300
    )
    assert child.returncode == 0, child.stderr
    outputs = json.loads(child.stdout)
    assert all(out["code"] == 0 for out in outputs), outputs
    return [json.loads(out["stdout"]) for out in outputs]


def month_before() -> str:
    return f"{collected_period().start:%Y-%m}"


SCOPES = [
    {"provider": "openai"},
    {"provider": "openai", "workspace": "Edugami"},
    {"provider": "openai", "workspace": FAILED_WORKSPACE},
    {"provider": "anthropic"},
    {"provider": "deepgram"},
    {"provider": "mistral"},
]


def test_it_answers_costs_exactly_as_the_cli_prints_them(client: TestClient) -> None:
    period = collected_period()
    ranges = [
        {"month": month_before()},
        {"start": (period.start + timedelta(days=9)).isoformat(), "end": period.end.isoformat()},
        {},  # the default of both: the month to date
    ]
    project = get(client, "/api/projects", provider="openai", workspace="Storygami")[0]
    one_project = {"provider": "openai", "workspace": "Storygami", "project": project["id"]}
    calls = [scope | chosen for scope in [*SCOPES, one_project] for chosen in ranges]
    answers = [get(client, "/api/costs", **call) for call in calls]
    assert answers == cli_costs(*calls)
    assert answers[-1]["project"] == project["name"]


BAD = [
    ({"provider": "nope"}, "provider"),
    ({}, "provider"),
    ({"provider": "openai", "start": "2026-02-10", "end": "2026-02-01"}, "end"),
    ({"provider": "openai", "start": "2026-13-01", "end": "2026-12-31"}, "start"),
    ({"provider": "openai", "start": "2026-01-01", "end": "yesterday"}, "end"),
    ({"provider": "openai", "start": "2026-01-01"}, "end"),
    ({"provider": "openai", "start": "2020-01-01", "end": "2026-01-01"}, "end"),
    ({"provider": "openai", "month": "2026-1"}, "month"),
    ({"provider": "openai", "month": "2026-01", "start": "2026-01-01", "end": "2026-01-31"}, "month"),
    ({"provider": "openai", "workspace": "nowhere"}, "workspace"),
    ({"provider": "openai", "project": "no-such-project"}, "project"),
    ({"provider": "openai", "refresh": "perhaps"}, "refresh"),
]


def test_a_bad_parameter_is_a_400_that_names_it(client: TestClient) -> None:
    """Unknown provider, end before start, malformed date, over 5 years... on every route that takes it."""
    for params, param in BAD:
        for path in ("/api/costs", "/api/costs/daily", "/api/costs/workspace", "/api/overview"):
            if not takes(path, params, param):
                continue
            response = client.get(path, params=params)
            assert response.status_code == 400, (path, params, response.text)
            error = response.json()["error"]
            assert error["param"] == param, (path, error)
            assert error["message"].startswith(param), error
    for path, params in (("/api/workspaces", {"provider": "nope"}), ("/api/projects", {"provider": "nope"})):
        assert client.get(path, params=params).json()["error"]["param"] == "provider"
    response = client.get("/api/projects", params={"provider": "openai", "workspace": "nowhere"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "workspace"


def takes(path: str, params: dict[str, str], param: str) -> bool:
    if path == "/api/overview":
        return param not in ("provider", "workspace", "project")
    if path == "/api/costs/daily":
        return params != {}  # no provider: every provider
    if path == "/api/costs/workspace":
        return param != "project"
    return True


def test_the_daily_series_needs_a_provider_for_a_workspace(client: TestClient) -> None:
    response = client.get("/api/costs/daily", params={"workspace": "Edugami"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "provider"


def test_a_revoked_workspace_is_a_failure_with_its_reason_not_a_zero(client: TestClient) -> None:
    month = month_before()
    provider = get(client, "/api/costs", provider="openai", month=month)
    assert provider["status"] == "partial"
    assert any(FAILED_WORKSPACE in reason for reason in provider["reasons"]), provider["reasons"]
    failed = get(client, "/api/costs", provider="openai", workspace=FAILED_WORKSPACE, month=month)
    assert failed["status"] == "partial" and failed["last_updated"] is None
    assert failed["breakdown"] == []
    healthy = get(client, "/api/costs", provider="openai", workspace="Edugami", month=month)
    assert healthy["status"] == "complete" and Decimal(healthy["total"]) > 0


def test_the_daily_series_adds_up_to_the_total(client: TestClient) -> None:
    for scope in ({"provider": "anthropic"}, {"provider": "openai", "workspace": "Edugami"}):
        total = get(client, "/api/costs", **scope, month=month_before())["total"]
        series = get(client, "/api/costs/daily", **scope, month=month_before())
        assert series["bucket"] == "day" and len(series["periods"]) >= 28
        (only,) = series["series"]
        assert sum(Decimal(a) for a in only["amounts"] if a is not None) == Decimal(total)


def test_a_long_period_is_drawn_per_month_and_never_collected_months_are_null(client: TestClient) -> None:
    period = collected_period()
    start = date(period.start.year - 1, period.start.month, 1)
    series = get(
        client, "/api/costs/daily", provider="anthropic", start=start.isoformat(), end=period.end.isoformat()
    )
    assert series["bucket"] == "month"
    (only,) = series["series"]
    assert only["amounts"][0] is None  # a year before anything was collected: unknown, not 0
    known = [Decimal(a) for a in only["amounts"] if a is not None]
    total = get(
        client, "/api/costs", provider="anthropic", start=start.isoformat(), end=period.end.isoformat()
    )
    assert sum(known) == Decimal(total["total"])


def test_every_provider_has_a_series_when_none_is_chosen(client: TestClient) -> None:
    series = get(client, "/api/costs/daily", month=month_before())
    assert {s["provider"] for s in series["series"]} >= {"openai", "anthropic", "deepgram"}


def test_a_workspace_total_adds_up_its_projects(client: TestClient) -> None:
    body = get(client, "/api/costs/workspace", provider="openai", workspace="Edugami", month=month_before())
    assert body["summary"]["workspace"] == "Edugami"
    assert sum(Decimal(p["total"]) for p in body["projects"]) == Decimal(body["summary"]["total"])
    assert body["summary"] == get(
        client, "/api/costs", provider="openai", workspace="Edugami", month=month_before()
    )
    names = {p["name"] for p in body["projects"]}
    assert names <= {p["name"] for p in get(client, "/api/projects", provider="openai", workspace="Edugami")}


def test_the_overview_gives_each_provider_what_costs_gives(client: TestClient) -> None:
    for params in ({"month": month_before()}, {}):
        overview = get(client, "/api/overview", **params)
        known = Decimal(0)
        for row in overview["providers"]:
            single = get(client, "/api/costs", provider=row["key"], **params)
            for field in ("total", "status", "reasons", "by_provenance", "unpriced_lines", "last_updated"):
                assert row[field] == single[field], (row["key"], field)
            known += Decimal(row["total"] or 0)
        assert Decimal(overview["total"]) == known
        assert overview["status"] == "partial"  # Memoways failed
        assert any(r.startswith("OpenAI: ") and FAILED_WORKSPACE in r for r in overview["reasons"])
