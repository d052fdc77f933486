"""case list indexes: each filter with the list's order (created_at DESC, id)

`GET /cases` filters on one or more of these columns (and the principal's scope: org_id,
non_public), orders by created_at DESC, id and counts the matches. One index per filter
column, followed by the order, serves both the page (read in order, no sort) and the count
(an index-only scan); the single-column indexes of 0001 become redundant.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SINGLE = ("dispute_type", "mediator_id", "org_id", "risk_level", "status", "town")
FILTERS = (*SINGLE, "overdue", "non_public")


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        for column in SINGLE:
            batch_op.drop_index(f"ix_cases_{column}")
        batch_op.create_index("ix_cases_listing", ["created_at", "id"])
        for column in FILTERS:
            batch_op.create_index(f"ix_cases_{column}_listing", [column, "created_at", "id"])


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        for column in FILTERS:
            batch_op.drop_index(f"ix_cases_{column}_listing")
        batch_op.drop_index("ix_cases_listing")
        for column in SINGLE:
            batch_op.create_index(f"ix_cases_{column}", [column])
