"""The backbone parts every other service has and the gateway's 0002 lacked: the dead-letter
index (shared.deadletters) and the audit log's hash chain (issue 17). Without them every
audited gateway route fails its audit write (500) and the dead-letter probes fail.
(Added by the claim-status part because its route is the first audited one; the lead may fold
this into 0002 and drop this file.)"""

from shared.migrations import (
    chain_audit_log,
    create_dead_letter_tables,
    drop_dead_letter_tables,
    unchain_audit_log,
)

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    create_dead_letter_tables()
    chain_audit_log()


def downgrade() -> None:
    unchain_audit_log()
    drop_dead_letter_tables()
