"""route decisions: routing answers once per case and step

`route_decisions`: the decision `route_case` made for a case at a step (its last step's
seq when it was routed). Routing runs as a local activity again in cases since
`baseline-2026-11-30` (workflows/patches.py, workflows/steps.py): a worker that dies
before its workflow task completes runs it again, and the second run must not pick another
mediator while the first one's assignment is already in the store. No personal data:
organisation and mediator ids and names, and the reason.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "route_decisions",
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("route_decisions")
