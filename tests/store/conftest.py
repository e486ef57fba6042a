"""Store fixtures: a fresh PostgreSQL database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

POSTGRES_SERVER = os.environ.get(
    "EMBVER_TEST_POSTGRES", "postgresql+psycopg://{user}@127.0.0.1:5432"
)


def _admin_engine():  # -> sqlalchemy Engine connected to the `test` database, autocommit
    import sqlalchemy as sa

    problems = []
    for user in ("postgres", "root"):
        engine = sa.create_engine(
            f"{POSTGRES_SERVER.format(user=user)}/test", isolation_level="AUTOCOMMIT"
        )
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except Exception as exc:  # unreachable server, unknown role, missing driver
            problems.append(f"{user}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
            engine.dispose()
            continue
        return engine, user
    return None, "; ".join(problems)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped after the test."""
    import sqlalchemy as sa

    engine, user = _admin_engine()
    if engine is None:
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 (database `test`) is unreachable: {user}")
    name = f"embver_test_{uuid.uuid4().hex[:12]}"
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES_SERVER.format(user=user)}/{name}"
    finally:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
