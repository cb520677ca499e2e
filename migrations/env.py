"""Alembic environment: runs against the connection docent passes in, or the configured URL."""

from alembic import context
from sqlalchemy import create_engine

from app.config import get_settings
from app.db.models import Base

config = context.config
target_metadata = Base.metadata
# The alembic command line has no URL of its own: it migrates the database docent is configured for.
if not config.get_main_option("sqlalchemy.url"):
    config.set_main_option("sqlalchemy.url", get_settings().resolved_database_url)


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as new_connection:
        _migrate(new_connection)


def _migrate(connection) -> None:
    # batch mode lets later migrations alter SQLite tables, which lack ALTER COLUMN.
    context.configure(
        connection=connection, target_metadata=target_metadata, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations()
