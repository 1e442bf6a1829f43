"""A file of 837P and 837I claims holds one functional group per implementation guide (GS08
005010X222A2 or 005010X223A2), each with its own GS06: `outbound_claims.group_control_number`
says which group a claim's set went out in, so a 999's AK1 (AK102 = that GS06) finds the file
and exactly that group's claims. `submission_files.group_control_number` stays the file's first
group's. Claims filed before this have none: they are in their file's only group."""

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.execute("ALTER TABLE outbound_claims ADD COLUMN group_control_number text")
    op.execute(
        "CREATE INDEX outbound_claims_group ON outbound_claims "
        "(partner_id, ltrim(group_control_number, '0')) WHERE group_control_number IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX outbound_claims_group")
    op.execute("ALTER TABLE outbound_claims DROP COLUMN group_control_number")
