"""roster contacts: whom the outbox's non-party audiences reach

One row per audience key (`police_liaison`, `duty_supervisor`, `supervisors`, `org:<id>`,
`mediator:<id>`): a name (office, post or person) and the number the gateway sends to.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("audience", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("contacts")
