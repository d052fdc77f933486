"""parties.phone and parties.id_number hold ciphertext (enc:<key id>:<base64>)

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("parties") as batch_op:
        batch_op.alter_column("phone", type_=sa.String(255), existing_nullable=False)
        batch_op.alter_column("id_number", type_=sa.String(255), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("parties") as batch_op:
        batch_op.alter_column("phone", type_=sa.String(32), existing_nullable=False)
        batch_op.alter_column("id_number", type_=sa.String(32), existing_nullable=True)
