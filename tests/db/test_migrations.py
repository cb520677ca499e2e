"""The Alembic migrations create exactly the tables the models describe."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.db.models import Base
from app.db.session import alembic_config, create_db_engine, upgrade_database


def test_upgrade_matches_models(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'docent.db'}")
    upgrade_database(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_upgrade_twice_is_harmless(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'docent.db'}")
    upgrade_database(engine)
    upgrade_database(engine)
    assert set(inspect(engine).get_table_names()) >= {"collections", "documents", "chunks", "ingestion_jobs"}


def test_downgrade_removes_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'docent.db'}"
    engine = create_db_engine(url)
    upgrade_database(engine)
    command.downgrade(alembic_config(url), "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
