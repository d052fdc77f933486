"""case data keys: envelope encryption and erasure (DESIGN §9)

One data key per case, wrapped by the keyring (`data_keys`); `cases.erased_at` marks a case
whose personal data was erased; the parties' name and address become unbounded text, as
they are now stored sealed (base64 of the ciphertext is longer than the name it seals).
Values written before this revision are sealed by `mediation migrate` (store/sealing.py),
which has the keyring; Alembic does not.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009_credentials"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_keys",
        sa.Column("subject", sa.String(80), primary_key=True),
        sa.Column("wrapped", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("parties") as batch:
        batch.alter_column("name", type_=sa.Text(), existing_nullable=False)
        batch.alter_column("address", type_=sa.Text(), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("parties") as batch:
        batch.alter_column("address", type_=sa.String(300), existing_nullable=True)
        batch.alter_column("name", type_=sa.String(100), existing_nullable=False)
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("erased_at")
    op.drop_table("data_keys")
