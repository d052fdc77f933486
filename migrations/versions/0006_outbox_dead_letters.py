"""outbox: dead letters and per-message leases (dead_at, claimed_by)

`dead_at`: when a message was given up (a final refusal, or its attempts ran out); such a
row is never claimed again, and the duty supervisor got an alert about it. `claimed_by`:
the claim token of the dispatcher round that holds the row's lease.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.add_column(sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("dead_at")
