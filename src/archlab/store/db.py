"""Opening the store: SQLite (WAL) by default, PostgreSQL (`postgresql+psycopg://...`) for teams.

The schema is Alembic's (`migrations/`): opening a store upgrades it to the newest revision. A store
made before migrations existed (by `create_all`) has no revision yet; the baseline creates only the
tables and indexes it lacks, so it upgrades in place.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlmodel import create_engine

from archlab.errors import StoreError
from archlab.store import agent_log, chat_log, concepts, evidence, grammars, models, retrieval_log, steering  # noqa: F401 - registers the tables

# The concept memory's pgvector mirrors (archlab.memory.pgvector_index) are made on first use, one per
# embedding model, and never by a migration.
PGVECTOR_PREFIX = "concept_pgvector_"


def migrated(name: str | None, type_: str, parent_names: object = None) -> bool:
    """Alembic's include_name: every table but the pgvector mirrors, which no revision makes."""
    return not (type_ == "table" and (name or "").startswith(PGVECTOR_PREFIX))


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


MIGRATIONS = Path(__file__).with_name("migrations")


def open_store(url: str) -> Engine:
    """An engine on a store at the newest schema revision; a broken URL, file or server raises StoreError."""
    try:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args=_connect_args(url), pool_pre_ping=not url.startswith("sqlite"))
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        migrate(engine)
    except (SQLAlchemyError, OSError, CommandError, ImportError) as exc:
        raise StoreError(f"cannot open the store at {redact(url)}: {_redact_in(str(exc), url)}") from exc
    return engine


def migrate(engine: Engine) -> None:
    """Upgrade the store to the newest revision (nothing to do, the usual case, costs one query).

    Processes opening one store at once (a run starting while the web app opens it) upgrade it one at a
    time, each looking again under the lock (PostgreSQL: env.py's advisory lock; SQLite: a lock file)."""
    if _at_head(engine):
        return
    with exclusive(engine, "migrate"), engine.begin() as conn:
        cfg = alembic_config(conn)
        if MigrationContext.configure(conn).get_current_revision() != _head(cfg):
            command.upgrade(cfg, "head")


def _at_head(engine: Engine) -> bool:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() == _head(alembic_config(conn))


def _head(cfg: Config) -> str | None:
    return ScriptDirectory.from_config(cfg).get_current_head()


@contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[None]:
    """One process at a time in this section, across every process using the store (runs starting at
    once on one store must not all seed it). PostgreSQL: an advisory lock; SQLite: a lock file beside it."""
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield  # one process owns an in-memory store; other servers: the unique keys still hold
        return
    with open(f"{database}.{name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def alembic_config(conn: Connection) -> Config:
    """Alembic's settings without an alembic.ini: the packaged scripts, run on this connection."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def redact(url: str) -> str:
    """The URL without its password, for messages and `archlab doctor`."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.partition("://")[0] + "://..."


def _redact_in(message: str, url: str) -> str:
    password = _password(url)
    return message.replace(password, "***") if password else message


def _password(url: str) -> str | None:
    try:
        return make_url(url).password
    except ArgumentError:
        return None


def _connect_args(url: str) -> dict:
    if url.startswith("sqlite"):
        # The CLI's progress display and the graph share the engine across threads.
        return {"check_same_thread": False, "timeout": 30}
    if url.startswith("postgresql"):
        # Timestamps are stored without a zone and read back as UTC, as SQLite does, whatever the server's zone.
        return {"options": "-c timezone=UTC"}
    return {}


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers (archlab runs, a report) work while a run writes.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
