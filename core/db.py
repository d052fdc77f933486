"""Engine and sessions for the case store; SQLite by default, PostgreSQL in production."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, literal_column, make_url
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
    dialect = session.get_bind().dialect.name
    mod: Any = postgresql if dialect == "postgresql" else sqlite
    tbl = table.__table__  # type: ignore[attr-defined]
    stmt = (
        mod.insert(tbl)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict_columns)
        .returning(literal_column("1"))
    )
    # RETURNING, not rowcount: psycopg reports -1 for this statement under SQLAlchemy 2.1.
    return session.execute(stmt).first() is not None
