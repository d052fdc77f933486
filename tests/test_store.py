"""The case store: migrations on SQLite and PostgreSQL, seed idempotency, principals."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, delete, func, inspect, text
from sqlmodel import Session, col, select

from core.db import checkpointing, make_engine
from models.enums import OrgKind
from models.tables import (
    LIST_FILTERS,
    ApiPrincipal,
    Case,
    Mediator,
    Organization,
    RouteDecisionRow,
)
from store.migrate import alembic_config, downgrade, upgrade
from store.principals import hash_token
from store.seed import ORGS, seed
from tests.helpers import bare_case_row

TABLES = {
    "organizations",
    "mediators",
    "cases",
    "parties",
    "case_events",
    "notifications",
    "audit_log",
    "api_principals",
    "idempotency_keys",
    "alembic_version",
}


def test_migrations_create_every_table_and_run_twice(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)  # a second run is a no-op
    eng = make_engine(db_url)
    try:
        insp = inspect(eng)
        assert TABLES <= set(insp.get_table_names())
        uniques = {tuple(u["column_names"]) for u in insp.get_unique_constraints("case_events")}
        assert ("case_id", "seq") in uniques
        # Every filter of GET /cases has an index in the list's order (0004).
        indexes = {i["name"]: i["column_names"] for i in insp.get_indexes("cases")}
        for column in LIST_FILTERS:
            assert indexes[f"ix_cases_{column}_listing"] == [column, "created_at", "id"]
        with eng.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == ScriptDirectory.from_config(alembic_config(db_url)).get_current_head()
    finally:
        eng.dispose()


def test_migrations_downgrade_and_upgrade_again(db_url: str) -> None:
    upgrade(db_url)
    downgrade(db_url, "base")
    eng = make_engine(db_url)
    try:
        assert "cases" not in inspect(eng).get_table_names()
    finally:
        eng.dispose()
    upgrade(db_url)


def test_migration_0013_forgets_the_routing_answers_of_closed_cases_only(db_url: str) -> None:
    upgrade(db_url)
    downgrade(db_url, "0012")
    eng = make_engine(db_url)
    now = datetime.now(UTC)
    try:
        with Session(eng) as s:
            for cid, status in (("mig-closed", "closed"), ("mig-open", "in_mediation")):
                s.add(bare_case_row(cid, status))
                s.add(RouteDecisionRow(case_id=cid, seq=2, decision={}, created_at=now))
            s.commit()
        upgrade(db_url)
        with Session(eng) as s:
            kept = s.exec(select(RouteDecisionRow.case_id)).all()
            assert kept == ["mig-open"]  # an open case may yet be routed again at that step
            s.execute(delete(RouteDecisionRow))
            s.execute(delete(Case).where(col(Case.id).in_(["mig-closed", "mig-open"])))
            s.commit()
    finally:
        eng.dispose()


def _counts(engine: Engine) -> tuple[int, int]:
    with Session(engine) as s:
        return (
            s.exec(select(func.count()).select_from(Organization)).one(),
            s.exec(select(func.count()).select_from(Mediator)).one(),
        )


def test_seed_is_idempotent_and_covers_the_design(engine: Engine) -> None:
    before = _counts(engine)
    seed(engine)
    seed(engine)
    assert _counts(engine) == before == (len(ORGS), sum(len(o.mediators) for o in ORGS))
    with Session(engine) as s:
        kinds = {o.kind for o in s.exec(select(Organization))}
        towns = {o.town for o in s.exec(select(Organization)) if o.town}
        qijian = s.exec(
            select(Organization).where(
                Organization.community == "七间社区",
                Organization.kind == OrgKind.five_elders_studio.value,
            )
        ).one()
    assert kinds == {k.value for k in OrgKind}
    assert {
        "合阳城街道",
        "钓鱼城街道",
        "南津街街道",
        "云门街道",
        "草街街道",
        "三庙镇",
        "龙市镇",
        "双槐镇",
    } <= towns
    assert qijian.town == "三庙镇"


def test_principals_cli_prints_only_the_token_and_stores_its_hash(
    engine: Engine, db_url: str
) -> None:
    env = {**os.environ, "MEDIATION_DATABASE_URL": db_url}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ops",
            "principals",
            "create",
            "--role",
            "mediator",
            "--org",
            "union-labor",
            "--mediator",
            "union-labor-m2",
            "--name",
            "劳动调解测试",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    token = out.stdout.strip()
    assert out.stdout == token + "\n" and token.startswith("med_") and len(token) > 40
    with Session(engine) as s:
        row = s.exec(select(ApiPrincipal).where(ApiPrincipal.token_hash == hash_token(token))).one()
        assert (row.role, row.org_id, row.mediator_id) == (
            "mediator",
            "union-labor",
            "union-labor-m2",
        )
        assert token not in {p.token_hash for p in s.exec(select(ApiPrincipal))}
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "ops",
            "principals",
            "create",
            "--role",
            "mediator",
            "--org",
            "union-labor",
            "--name",
            "x",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # A mediator principal names its mediator: without one it would read every party's
    # data in its organisation.
    assert bad.returncode == 2 and bad.stdout == "" and "--mediator" in bad.stderr


async def test_sqlite_commits_leave_the_log_to_the_background_checkpointer(tmp_path: Path) -> None:
    """A commit does not copy the write-ahead log back into the database file (SQLite's
    default does, in the commit past 1,000 pages, and that request waits for it); the
    worker's and the API's checkpointer does, in the background."""
    file = tmp_path / "wal.db"
    engine = make_engine(f"sqlite:///{file}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE blobs (b BLOB)")
    before = file.stat().st_size
    for _ in range(30):  # 6 MB: past the 1,000 pages (4 MB) of SQLite's default
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO blobs VALUES (randomblob(200000))")
    assert file.stat().st_size == before  # all of it still in the log
    async with checkpointing(engine, every=0.05):
        for _ in range(100):
            if file.stat().st_size > 6_000_000:
                break
            await asyncio.sleep(0.05)
    assert file.stat().st_size > 6_000_000
    engine.dispose()
