"""The gateway's audit log as every service's since issue 17: refusals (route, reason), every
patient of a bulk read (patient_ids) and the hash chain (shared.audit_chain). Without it every
audited gateway route failed to write its audit entry (column patient_ids missing). It belongs
with 0002; the lead re-chains (down_revision) when the parts merge."""

from shared.migrations import chain_audit_log, unchain_audit_log

revision = "0004_inbound"
down_revision = "0002"


def upgrade() -> None:
    chain_audit_log()


def downgrade() -> None:
    unchain_audit_log()
