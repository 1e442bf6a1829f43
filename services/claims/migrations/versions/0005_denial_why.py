"""Denials keep why their action was recommended (the group code, CARC and RARC that decided
it), and may recommend billing another payer (CARC 22, 109: another payer is liable)."""

from alembic import op

revision = "0005_denial_why"
down_revision = "0004_code_data"

BEFORE = "'correct_and_resubmit','appeal','bill_patient','write_off'"
AFTER = f"{BEFORE},'bill_other_payer'"


def upgrade() -> None:
    op.execute("ALTER TABLE denials ADD COLUMN why text")
    op.execute("ALTER TABLE denials DROP CONSTRAINT denials_action_check")
    op.execute(f"ALTER TABLE denials ADD CONSTRAINT denials_action_check CHECK (action IN ({AFTER}))")


def downgrade() -> None:
    op.execute("UPDATE denials SET action = 'appeal' WHERE action = 'bill_other_payer'")
    op.execute("ALTER TABLE denials DROP CONSTRAINT denials_action_check")
    op.execute(f"ALTER TABLE denials ADD CONSTRAINT denials_action_check CHECK (action IN ({BEFORE}))")
    op.execute("ALTER TABLE denials DROP COLUMN why")
