"""forget closed cases' routing answers

`route_decisions` keeps routing's answer per case and step so that a routing run again
within its workflow task answers the same (0012). A closed case is never routed again and
every workflow task that routed it has completed: its answers are of no further use. From
this release the step that closes a case deletes them (store/steps.py), and erasure does
too; this deletes those of the cases closed before.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM route_decisions WHERE case_id IN "
        "(SELECT id FROM cases WHERE status = 'closed')"
    )


def downgrade() -> None:
    pass  # the answers are not needed, and cannot be made again
