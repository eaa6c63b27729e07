"""indexes for the back-office list pages (owned by the dashboards bench work)

Each index is here because ``bench/dashboards.py`` (100k leads, 1M ledger entries,
~400k audit rows) found a page's data load slow without it; the figures are in the
README's benchmark section.  They are declared on the models too, so ``alembic
check`` stays clean.

Plain CREATE INDEX (inside the migration's transaction): it blocks writes to the
table while it builds, a few seconds at the benchmark's volume.  On a much larger
live database, build them first by hand with CREATE INDEX CONCURRENTLY under the
same names; this migration then has to be stamped rather than run.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 13:40:00
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = "0011"
down_revision: Union[str, None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Leads newest first with no status filter: the leads browser's first and deep pages
    # (keyset on created_at, id), its niche and date-range filters, the provider's missed
    # leads (last 30 days, newest first) and the overview's leads per day.  Without it
    # each of these sorted all 100k leads (130-500 ms); ix_leads_status_created_at only
    # serves a status filter.
    op.create_index("ix_leads_created_at_id", "leads", ["created_at", "id"], unique=False)
    # Revenue per day (admin overview): charges and refunds of the last N days over every
    # provider.  (created_at, type, amount) answers it with an index-only scan of the date
    # range; without it, a scan of the whole 1M-row ledger (700 ms).
    op.create_index("ix_ledger_created_type_amount", "ledger_entries", ["created_at", "type", "amount"], unique=False)
    # A provider's spend per day (provider overview): its entries of the last 30 days
    # instead of every entry it ever had (ix_ledger_provider_seq: 19k rows for 860).
    op.create_index("ix_ledger_provider_created", "ledger_entries", ["provider_id", "created_at"], unique=False)
    # The audit log page filtered by entity type, newest first: without it a backward walk
    # of the seq index skipping every other type (200k rows for a deep page).
    op.create_index("ix_audit_entity_type_seq", "audit_logs", ["entity_type", "seq"], unique=False)
    # The audit log page filtered by who acted (a login's id or email): without it a scan
    # of the whole log.  Partial: buyer and system rows carry no actor id.
    op.create_index(
        "ix_audit_actor_seq",
        "audit_logs",
        ["actor_id", "seq"],
        unique=False,
        postgresql_where=sa.text("actor_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_audit_actor_seq", table_name="audit_logs", postgresql_where=sa.text("actor_id IS NOT NULL"))
    op.drop_index("ix_audit_entity_type_seq", table_name="audit_logs")
    op.drop_index("ix_ledger_provider_created", table_name="ledger_entries")
    op.drop_index("ix_ledger_created_type_amount", table_name="ledger_entries")
    op.drop_index("ix_leads_created_at_id", table_name="leads")
