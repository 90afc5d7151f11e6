"""The store's schema under Alembic, on SQLite and PostgreSQL: migrations match the models, a store
made by `create_all` before migrations existed upgrades in place, and a bad server is a StoreError."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlmodel import Session, SQLModel

from archlab.errors import StoreError
from archlab.store import Run, open_store
from archlab.store import records as store
from archlab.store.db import alembic_config


def revision(engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str:
    with create_engine("sqlite://").connect() as conn:
        return ScriptDirectory.from_config(alembic_config(conn)).get_current_head()


def test_the_migrations_build_exactly_the_models(store_url) -> None:
    engine = open_store(store_url)
    with engine.connect() as conn:
        drift = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    engine.dispose()
    # Not empty: a model changed without a revision. `python -m archlab.store.migrations "what changed"`.
    assert drift == []


def test_a_store_made_before_migrations_upgrades_in_place(store_url) -> None:
    open_store(store_url).dispose()  # the folder of a SQLite store; every table is dropped next
    legacy = create_engine(store_url)
    with legacy.begin() as conn:  # what open_store did before: every table, no revision
        for table in SQLModel.metadata.sorted_tables:
            conn.execute(text(f'DROP TABLE IF EXISTS "{table.name}" CASCADE' if legacy.dialect.name == "postgresql"
                              else f'DROP TABLE IF EXISTS "{table.name}"'))
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    SQLModel.metadata.create_all(legacy)
    with Session(legacy) as s:
        store.add_run(session=s, run=Run(id="old", task="mnist1d", space="seq1d"))
    assert "alembic_version" not in inspect(legacy).get_table_names()
    legacy.dispose()

    engine = open_store(store_url)
    assert revision(engine) == head()
    with Session(engine) as s:
        assert store.get_run(session=s, run_id="old").task == "mnist1d"  # the data is kept
    open_store(store_url).dispose()  # opening again: already at head, nothing to do
    engine.dispose()


@pytest.mark.postgres
def test_an_unreachable_server_is_a_store_error_without_the_password(postgres_url) -> None:
    bad = "postgresql+psycopg://archlab:hunter2@127.0.0.1:1/archlab"
    with pytest.raises(StoreError, match="cannot open the store") as err:
        open_store(bad)
    assert "hunter2" not in str(err.value)


def test_runs_starting_at_once_seed_the_memory_once(store_url) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from archlab.memory.concept_memory import ConceptMemory
    from archlab.memory.embedder import make_embedder
    from archlab.memory.seeds import ensure_seeded, seed_records

    engines = [open_store(store_url) for _ in range(3)]
    memories = [ConceptMemory(engine, make_embedder("hashing")) for engine in engines]
    with ThreadPoolExecutor(3) as pool:
        summaries = list(pool.map(ensure_seeded, memories))
    assert sum(s is not None for s in summaries) == 1  # one seeded, the others found it done
    assert memories[0].count() == len(seed_records())
    for engine in engines:
        engine.dispose()
