"""idempotency keys: scoped to the principal, bound to the request (and a command's answer)

Cases registered before this keep their raw key in `cases.idempotency_key`; new cases hold
the digest of (principal, key) there. An old key sent again starts a new case under the
new scheme: keys are retries of seconds, not of days.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("key_digest", sa.String(64), primary_key=True),
        sa.Column("principal_id", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_idempotency_keys_principal_id", "idempotency_keys", ["principal_id"])
    op.create_index("ix_idempotency_keys_case_id", "idempotency_keys", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_case_id", "idempotency_keys")
    op.drop_index("ix_idempotency_keys_principal_id", "idempotency_keys")
    op.drop_table("idempotency_keys")
