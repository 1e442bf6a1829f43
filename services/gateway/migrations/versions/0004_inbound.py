"""The gateway's audit log as every service's since issue 17: refusals (route, reason), every
patient of a bulk read (patient_ids) and the hash chain (shared.audit_chain). Without it every
audited gateway route failed to write its audit entry (column patient_ids missing).

The mailbox part's 0003 does the same; whichever runs second finds the chain in place and does
nothing, so the lead can chain the revisions in either order (down_revision is re-chained at
the merge)."""

from alembic import op
from sqlalchemy import text

from shared.migrations import chain_audit_log

revision = "0004_inbound"
down_revision = "0002"


def _chained() -> bool:
    found = op.get_bind().execute(
        text(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = 'audit_log' AND column_name = 'patient_ids'"
        )
    )
    return found.first() is not None


def upgrade() -> None:
    if not _chained():
        chain_audit_log()


def downgrade() -> None:
    """Nothing: the chain may be 0003's; the revision that made it takes it away."""
