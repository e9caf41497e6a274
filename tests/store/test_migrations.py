from sqlalchemy import inspect

from costtracker.store.db import make_engine
from costtracker.store.migrate import current_revision, downgrade, head_revision, upgrade
from costtracker.store.models import Base

EXPECTED = set(Base.metadata.tables)


def _round_trip(url: str) -> None:
    engine = make_engine(url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) >= EXPECTED
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert not EXPECTED & set(inspect(engine).get_table_names())
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= EXPECTED
    engine.dispose()


def test_it_migrates_sqlite_up_and_down(tmp_path: object) -> None:
    _round_trip(f"sqlite:///{tmp_path}/m.db")


def test_it_migrates_postgres_up_and_down(pg_schema_url: str) -> None:
    _round_trip(pg_schema_url)


def test_the_models_match_the_migrations(tmp_path: object) -> None:
    """Autogenerate finds nothing to add: every model change comes with its migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(f"sqlite:///{tmp_path}/c.db")
    upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
