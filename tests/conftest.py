"""Fixtures shared by the whole suite: a clean environment and real databases.

``db`` runs a test on SQLite *and* on the PostgreSQL server (127.0.0.1:5432, database
``test``), each test in its own freshly migrated SQLite file or PostgreSQL schema, so no test
sees another's data. Without PostgreSQL the postgres half skips with a clear reason, except
under ``CI=true`` where a missing server is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from costtracker.settings import Settings, env_names
from costtracker.store.db import make_engine, session_factory
from costtracker.store.migrate import upgrade
from tests.leakcheck import watching

PG_ADMIN_URL = os.environ.get("COSTTRACKER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _our_variable(name: str) -> bool:
    known = {n.upper() for field in Settings.model_fields.values() for n in env_names(field)}
    upper = name.upper().removesuffix("_FILE")
    return (
        upper in known
        or upper.startswith("COSTTRACKER_")
        or bool(re.match(r"OPENAI_(ADMIN|API)_KEY_", upper))
    )


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's own keys, .env or costtracker.toml."""
    for name in list(os.environ):
        if _our_variable(name) and name != "COSTTRACKER_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def no_secret_leaks(
    request: pytest.FixtureRequest, clean_environment: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Planted and configured secrets never reach a log line or a response (tests/leakcheck.py)."""
    if request.node.get_closest_marker("leaks_secrets"):
        yield
        return
    with watching(monkeypatch) as watch:
        yield
    watch.fail_on_leaks()


def _pg_admin_engine() -> Engine:
    return create_engine(
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    try:
        engine = _pg_admin_engine()
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true but {PG_ADMIN_URL} is not reachable: {exc}")
        return False
    return True


@pytest.fixture
def pg_schema_url(postgres_available: bool) -> Iterator[str]:
    """A URL whose connections live in a new, empty schema, dropped afterwards."""
    if not postgres_available:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}; set COSTTRACKER_TEST_POSTGRES_URL")
    schema = f"ct_test_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is much faster)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@dataclass
class Db:
    """A migrated database for one test."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """An *empty-or-migrated* database URL on each backend (see ``db`` for a migrated one)."""
    if request.param == "sqlite":
        target = tmp_path / "ledger.db"
        shutil.copy(sqlite_template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_schema_url")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Db]:
    engine = make_engine(db_url)
    yield Db(db_url, engine, session_factory(engine))
    engine.dispose()


@pytest.fixture
def make_settings(tmp_path: Path) -> Any:
    """Build Settings for a test without reading any file."""

    def build(**values: Any) -> Settings:
        values.setdefault("data_dir", tmp_path / "data")
        return Settings(_env_file=None, **values)

    return build
