from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from costtracker.settings import Settings
from costtracker.web.app import create_app
from tests.conftest import Db

READ_TOKEN = "read-token-for-the-error-tests"


@pytest.fixture
def client(db: Db, make_settings: type[Settings]) -> Iterator[TestClient]:
    """Signed in with a read token: everything but /api/health, /login and /static is protected."""
    app = create_app(make_settings(database_url=db.url, report_secret_token=READ_TOKEN))
    bearer = {"Authorization": f"Bearer {READ_TOKEN}"}
    with TestClient(app, raise_server_exceptions=False, headers=bearer) as c:
        yield c


def test_health_reports_a_reachable_database(client: TestClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["reachable"] is True


def test_health_in_verbose_shows_the_schema_revision(client: TestClient) -> None:
    body = client.get("/api/health", params={"verbose": "true"}).json()
    assert body["database"]["revision"] == body["database"]["head"]


def test_health_is_degraded_without_a_database(make_settings: type[Settings]) -> None:
    app = create_app(make_settings(database_url="postgresql://nobody@127.0.0.1:1/none"))
    with TestClient(app) as client:
        response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"


def test_an_unknown_api_path_answers_404_json(client: TestClient) -> None:
    response = client.get("/api/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_an_unknown_page_answers_an_html_404(client: TestClient) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Not found" in response.text


def test_a_malformed_parameter_answers_400_naming_it(client: TestClient) -> None:
    response = client.get("/api/health", params={"verbose": "perhaps"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "verbose"
    assert "verbose" in error["message"]


def test_the_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/api/docs").status_code == 200
    assert "/api/health" in client.get("/api/openapi.json").json()["paths"]
