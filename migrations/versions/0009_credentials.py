"""credentials that end: token expiry and revocation; codec sessions beside console ones

`api_principals.expires_at` (required) and `revoked_at`: a token is refused after either
(DESIGN §9). Tokens issued before this revision get the default lifetime
(`MEDIATION_TOKEN_DAYS`) counted from the upgrade, so nobody is locked out by it.
`console_sessions.purpose`: `console` or `codec`, so that a sign-in to one is never a
sign-in to the other.

The revision id is spelled out rather than `0009`: another 0009 was written alongside it.

Revision ID: 0009_credentials
Revises: 0008
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from core.settings import get_settings

revision: str = "0009_credentials"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PRINCIPALS = sa.table(
    "api_principals",
    sa.column("expires_at", sa.DateTime(timezone=True)),
    sa.column("active", sa.Boolean()),
    sa.column("revoked_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("api_principals") as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    principals = _PRINCIPALS
    now = datetime.now(UTC)
    ends = now + timedelta(days=get_settings().token_days)
    op.execute(principals.update().values(expires_at=ends))
    # A principal deactivated before this revision is a revoked one.
    op.execute(principals.update().where(principals.c.active == sa.false()).values(revoked_at=now))
    with op.batch_alter_table("api_principals") as batch_op:
        batch_op.alter_column(
            "expires_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
    with op.batch_alter_table("console_sessions") as batch_op:
        batch_op.add_column(
            sa.Column("purpose", sa.String(16), nullable=False, server_default="console")
        )


def downgrade() -> None:
    # Without the columns, `active` is all that refuses a token: a revoked or expired one
    # must not come back to life.
    principals = _PRINCIPALS
    ended = sa.or_(
        principals.c.revoked_at.is_not(None), principals.c.expires_at <= datetime.now(UTC)
    )
    op.execute(principals.update().where(ended).values(active=False))
    with op.batch_alter_table("console_sessions") as batch_op:
        batch_op.drop_column("purpose")
    with op.batch_alter_table("api_principals") as batch_op:
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("expires_at")
