"""What every service's history holds beyond the shared backbone (0001): the dead-letter index
(shared.deadletters) and the audit log's hash chain with its refusal and bulk-read columns
(issue 17). The gateway's history adds them in its own early revision (0003); without them the
audited routes and the dead-letter probes fail. The front office's own tables follow in
0002_patients, 0003_tickets and 0004_assistance."""

from shared.migrations import (
    chain_audit_log,
    create_dead_letter_tables,
    drop_dead_letter_tables,
    unchain_audit_log,
)

revision = "0001_frontoffice"
down_revision = "0001"


def upgrade() -> None:
    create_dead_letter_tables()
    chain_audit_log()


def downgrade() -> None:
    unchain_audit_log()
    drop_dead_letter_tables()
