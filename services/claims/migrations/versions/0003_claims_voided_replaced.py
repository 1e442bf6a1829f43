"""Claim statuses `voided` (the payer confirmed a void of the claim) and `replaced` (the payer
paid its replacement): final states, so a late copy of an old 835 cannot reopen the claim."""

from alembic import op

revision = "0003_voided_replaced"
down_revision = "0002"

BEFORE = "'draft','ready','submitted','accepted','rejected','paid','partial','denied','appealed','closed'"
AFTER = f"{BEFORE},'voided','replaced'"


def upgrade() -> None:
    op.execute("ALTER TABLE claims DROP CONSTRAINT claims_status_check")
    op.execute(f"ALTER TABLE claims ADD CONSTRAINT claims_status_check CHECK (status IN ({AFTER}))")


def downgrade() -> None:
    op.execute("UPDATE claims SET status = 'closed' WHERE status IN ('voided', 'replaced')")
    op.execute("ALTER TABLE claims DROP CONSTRAINT claims_status_check")
    op.execute(f"ALTER TABLE claims ADD CONSTRAINT claims_status_check CHECK (status IN ({BEFORE}))")
