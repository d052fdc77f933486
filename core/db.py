"""Engine and sessions for the case store; SQLite by default, PostgreSQL in production."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, event, literal_column, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, create_engine


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A transaction: committed when the block ends normally, rolled back otherwise."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def insert_ignore(
    session: Session,
    table: type[SQLModel],
    values: Mapping[str, Any],
    conflict_columns: Sequence[str] | None = None,
) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on both dialects; True when a row was written.

    Without `conflict_columns` any unique constraint counts as the conflict."""
    stmt = _insert_ignoring(
        session.get_bind().dialect.name, table, tuple(values), tuple(conflict_columns or ())
    )
    # RETURNING, not rowcount: psycopg reports -1 for this statement under SQLAlchemy 2.1.
    return core_execute(session, stmt, dict(values)).first() is not None


def core_execute(session: Session, stmt: Any, params: Mapping[str, Any] | None = None) -> Any:
    """A Core statement in the session's transaction, on its connection: the ORM's execute
    path (its compile state, events and options) is for ORM statements, and was 3 % of the
    worker's samples under make bench (py-spy). What the session holds unflushed goes first,
    as its own execute would have done."""
    session.flush()
    return session.connection().execute(stmt, params)


@functools.lru_cache(maxsize=64)
def _insert_ignoring(
    dialect: str, table: type[SQLModel], columns: tuple[str, ...], conflict: tuple[str, ...]
) -> Any:
    """The statement, built once per table and shape, its values bound at each execution:
    building it with `.values(**row)` at every step stood out in the worker's profile under
    load (py-spy, make bench)."""
    mod: Any = postgresql if dialect == "postgresql" else sqlite
    tbl = table.__table__  # type: ignore[attr-defined]
    return (
        mod.insert(tbl)
        .values({c: bindparam(c, type_=tbl.c[c].type) for c in columns})
        .on_conflict_do_nothing(index_elements=list(conflict) or None)
        .returning(literal_column("1"))
    )
