"""Fixtures shared by several test modules: services that are expensive to start, started once."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


def unavailable(what: str) -> None:
    """Skip with the reason; under CI=true a missing service is a failure, never a silent skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} (required under CI)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[object]:
    """One local Ray cluster per session: a head and one worker node (each 2 logical CPUs, a small
    object store); RAY_ADDRESS names it, so `make_sandbox("ray")` joins it."""
    before = {name: os.environ.get(name) for name in ("RAY_ADDRESS", "RAY_AUTH_MODE")}
    os.environ["RAY_AUTH_MODE"] = "disabled"  # before Ray is imported; runs the tests start inherit it
    try:
        import ray
    except ImportError:
        unavailable("ray is not installed: pip install 'archlab[ray]'")
    from ray_cluster import RayCluster, wait_for_nodes

    cluster = RayCluster.start()
    os.environ["RAY_ADDRESS"] = cluster.address
    try:
        cluster.add_node()
        ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
        wait_for_nodes(2)
        yield cluster
    finally:
        ray.shutdown()
        cluster.stop()
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _answering(variable: str, script: str) -> str:
    """The URL in `variable`, checked to answer."""
    url = os.environ.get(variable)
    if not url:
        unavailable(f"no PostgreSQL: set {variable} (`bash scripts/{script}` prints one)")
    try:
        import psycopg
    except ImportError:
        unavailable("psycopg is not installed: pip install 'archlab[postgres]'")
    try:
        psycopg.connect(url.replace("+psycopg", ""), connect_timeout=5).close()
    except psycopg.Error as exc:
        unavailable(f"PostgreSQL at {variable} does not answer: {exc}")
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test server's URL (ARCHLAB_TEST_POSTGRES_URL; `bash scripts/test-postgres` starts one and
    prints it), checked to answer."""
    return _answering("ARCHLAB_TEST_POSTGRES_URL", "test-postgres")


@pytest.fixture(scope="session")
def pgvector_url() -> str:
    """A server whose new databases have the pgvector extension (ARCHLAB_TEST_PGVECTOR_URL; `bash
    scripts/test-pgvector` starts one and prints it)."""
    url = _answering("ARCHLAB_TEST_PGVECTOR_URL", "test-pgvector")
    from sqlalchemy import create_engine

    from archlab.memory.pgvector_index import pgvector_state

    engine = create_engine(url)
    state = pgvector_state(engine)
    engine.dispose()
    if state != "installed":
        unavailable(f"the server at ARCHLAB_TEST_PGVECTOR_URL has pgvector {state}, not installed")
    return url


def _session_database(server_url: str) -> Iterator[str]:
    """A database of the session on a test server, migrated once; dropped at the end."""
    import uuid

    from sqlalchemy import create_engine, text

    from archlab.store import open_store

    name = f"archlab_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    open_store(url).dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _emptied(database_url: str) -> str:
    """The database with every table emptied (TRUNCATE is far cheaper than CREATE DATABASE on a busy machine)."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(database_url)
    with engine.begin() as conn:
        tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
        quoted = ", ".join(f'"{table}"' for table in tables)
        conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return database_url


@pytest.fixture(scope="session")
def postgres_database(postgres_url: str) -> Iterator[str]:
    yield from _session_database(postgres_url)


@pytest.fixture(scope="session")
def pgvector_database(pgvector_url: str) -> Iterator[str]:
    yield from _session_database(pgvector_url)


@pytest.fixture
def fresh_postgres_url(postgres_database: str) -> str:
    """The session's database on the test server, emptied."""
    return _emptied(postgres_database)


@pytest.fixture
def fresh_pgvector_url(pgvector_database: str) -> str:
    """The session's database on the pgvector server, emptied."""
    return _emptied(pgvector_database)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A new, empty store: SQLite in a temp dir, then the same tests on PostgreSQL."""
    if request.param == "postgres":
        return request.getfixturevalue("fresh_postgres_url")
    from archlab.store import sqlite_url

    return sqlite_url(tmp_path / "ws" / "archlab.db")
