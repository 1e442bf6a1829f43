"""Backbone tables: outbox, inbox, audit log, idempotency keys.

The first revision of every service's history: shared.migrate puts this folder beside the
service's own `migrations/versions` (Alembic version_locations), so the four schemas start
from one definition. Each service's next revision says `down_revision = "0001"`.
"""

from shared.migrations import create_backbone_tables, drop_backbone_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_backbone_tables()


def downgrade() -> None:
    drop_backbone_tables()
