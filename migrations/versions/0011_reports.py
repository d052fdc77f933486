"""reports: public reports and their triage (R13)

`reports`: one row per report from the public app or a grid worker, written by its triage
workflow; the reporter's name and phone and the summary sealed with the report's own data
key, the lookup code only as a hash. `notifications.case_id` no longer has to name a case:
an emergency report's alerts go into the outbox under the report's subject
(`report-<report_no>`), so its foreign key to `cases` is dropped (downgrade deletes those
alerts and puts it back).

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite keeps the foreign key unnamed: batch mode names it by this convention to drop it.
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
SQLITE_FK = "fk_notifications_case_id_cases"
POSTGRES_FK = "notifications_case_id_fkey"  # PostgreSQL's own name for it (0001)


def _notification_case_fks() -> list[str | None]:
    inspector = sa.inspect(op.get_bind())
    return [
        fk.get("name")
        for fk in inspector.get_foreign_keys("notifications")
        if fk["referred_table"] == "cases"
    ]


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("report_no", sa.String(32), primary_key=True),
        sa.Column("workflow_id", sa.String(80), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False, index=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False, index=True),
        sa.Column("town", sa.String(64), nullable=False),
        sa.Column("community", sa.String(64), nullable=True),
        sa.Column("department", sa.String(100), nullable=True),
        sa.Column("case_id", sa.String(64), nullable=True, index=True),
        sa.Column("case_no", sa.String(32), nullable=True),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("reporter_name", sa.Text(), nullable=False),
        sa.Column("reporter_phone", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
    )
    names = _notification_case_fks()
    if not names:
        return
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("notifications", naming_convention=NAMING) as batch:
            batch.drop_constraint(SQLITE_FK, type_="foreignkey")
    else:
        for name in names:
            op.drop_constraint(name or POSTGRES_FK, "notifications", type_="foreignkey")


def downgrade() -> None:
    notifications = sa.table("notifications", sa.column("case_id", sa.String(64)))
    cases = sa.table("cases", sa.column("id", sa.String(64)))
    op.execute(notifications.delete().where(~notifications.c.case_id.in_(sa.select(cases.c.id))))
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("notifications", naming_convention=NAMING) as batch:
            batch.create_foreign_key(SQLITE_FK, "cases", ["case_id"], ["id"])
    else:
        op.create_foreign_key(POSTGRES_FK, "notifications", "cases", ["case_id"], ["id"])
    op.drop_table("reports")
