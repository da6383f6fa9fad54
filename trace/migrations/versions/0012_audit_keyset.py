"""The admin's audit log: composite indexes for newest-first pages per user, organisation,
action and time (they replace the single-column user, organisation and time indexes)

Revision ID: 0012_audit_keyset
Revises: 0011_portal_outbox
Create Date: 2026-11-30 17:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_audit_keyset"
down_revision: str | None = "0011_portal_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entry_user_id"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_actor_organization_id"))
        batch_op.create_index("ix_audit_entry_user_keyset", ["user_id", "id"], unique=False)
        batch_op.create_index(
            "ix_audit_entry_org_keyset", ["actor_organization_id", "id"], unique=False
        )
        batch_op.create_index("ix_audit_entry_action_keyset", ["action", "id"], unique=False)
        batch_op.drop_index(batch_op.f("ix_audit_entry_at"))
        batch_op.create_index("ix_audit_entry_at_keyset", ["at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_at_keyset")
        batch_op.create_index(batch_op.f("ix_audit_entry_at"), ["at"], unique=False)
        batch_op.drop_index("ix_audit_entry_action_keyset")
        batch_op.drop_index("ix_audit_entry_org_keyset")
        batch_op.drop_index("ix_audit_entry_user_keyset")
        batch_op.create_index(
            batch_op.f("ix_audit_entry_actor_organization_id"),
            ["actor_organization_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_audit_entry_user_id"), ["user_id"], unique=False)
