"""Issue 17: the audit log records refusals (route, reason), every patient of a bulk read
(patient_ids, GIN-indexed) and is hash-chained (seq, prev_hash, hash; shared.audit_chain)."""

from shared.migrations import chain_audit_log, unchain_audit_log

revision = "0007_audit_chain"
down_revision = "0006_history_indexes"


def upgrade() -> None:
    chain_audit_log()


def downgrade() -> None:
    unchain_audit_log()
