"""Engine and sessions for the case store; SQLite by default, PostgreSQL in production."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import Engine, Row, bindparam, event, literal_column, make_url, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, create_engine

# SQLite appends each commit to its write-ahead log; copying the log back into the database
# file (a checkpoint, with an fsync) is done by default by the commit that takes the log
# past 1,000 pages, and that commit waits for it: 15-25 ms here, about one step write in a
# hundred (python -m bench.steps), and whichever request or step commits then waits. The
# worker and the API checkpoint in the background instead (`checkpointing`); a commit still
# checkpoints past this many pages (40 MB), should no process be doing so.
WAL_AUTOCHECKPOINT_PAGES = 10_000


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
            cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def checkpoint(engine: Engine) -> None:
    """Copy what SQLite's write-ahead log holds back into the database file, as far as no
    reader still needs it (PASSIVE: no writer or reader waits for it)."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


@asynccontextmanager
async def checkpointing(engine: Engine, every: float = 1.0) -> AsyncIterator[None]:
    """While the block runs, checkpoint the SQLite store every `every` seconds, on a thread
    (sqlite3 lets go of the GIL meanwhile); nothing for other databases."""
    if engine.dialect.name != "sqlite":
        yield
        return
    task = asyncio.create_task(_checkpoint_every(engine, every))
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def _checkpoint_every(engine: Engine, every: float) -> None:
    log = structlog.get_logger("db")
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(checkpoint, engine)
        except OperationalError as exc:  # another process's checkpoint, a locked file: next time
            log.debug("checkpoint skipped", error=type(exc).__name__)
        except Exception as exc:  # the store away for a moment: keep going, and say so
            log.warning("checkpoint failed", error=type(exc).__name__)


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


def read_row(session: Session, table: type[SQLModel], key: Any) -> Row[Any] | None:
    """A table's row by its primary key, as a read-only row (its columns as attributes,
    typed as the model types them), by a statement built once per table. `Session.get`
    builds its query and a model object each time: in the outbox, which reads a few rows
    for each notification it delivers, that was 60 % of its CPU (cProfile, bench.steps)."""
    row: Row[Any] | None = core_execute(session, _by_key(table), {"key": key}).first()
    return row


@functools.lru_cache(maxsize=64)
def _by_key(table: type[SQLModel]) -> Any:
    tbl = table.__table__  # type: ignore[attr-defined]
    (column,) = tbl.primary_key.columns
    return select(tbl).where(column == bindparam("key"))


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
